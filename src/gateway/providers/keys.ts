import { createHash } from 'node:crypto';
import { IntegrationError } from '../../domain/errors';

/**
 * Our idempotency key as a provider takes it: whole where it fits the provider's limit, else `sha256:` and as much of
 * the key's SHA-256 as fits — deterministic, so a retry sends the same key and is still a replay. (Ours are built from
 * business ids and a client's Idempotency-Key, and can exceed Adyen's 64 or PayPal's 108 characters.)
 */
export function keyWithin(key: string, max: number): string {
  if (!key) throw new IntegrationError('is required', 'idempotencyKey');
  if (key.length <= max) return key;
  return `sha256:${createHash('sha256')
    .update(key)
    .digest('hex')
    .slice(0, max - 7)}`;
}
