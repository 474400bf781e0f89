import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { sql } from 'kysely';
import { IntegrationError } from '../domain/errors';
import type { Store } from '../store/db';
import { problems } from './problems';

declare module 'express-serve-static-core' {
  interface Request {
    /** The tenant of the API key that authenticated the request (set on every `/v1` route). */
    tenantId?: string;
    /** The id of that key (never the secret). */
    apiKeyId?: string;
  }
}

/** `chk_<keyId>_<secret>`: the key id is 16 hex digits, the secret 32 random bytes in base64url. */
const TOKEN = /^chk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

export interface CreatedApiKey {
  keyId: string;
  /** The full bearer token. Shown once: only the SHA-256 of its secret is stored. */
  token: string;
}

/**
 * Creates an API key for a tenant. The token is returned once; the store keeps the key id and the SHA-256 of the
 * secret, so a leaked database does not leak usable keys.
 *
 * @example const { token } = await createApiKey(store, 'acme', 'shop counter');
 * // Authorization: Bearer chk_3f9a0c…_Qm9…
 */
export async function createApiKey(store: Store, tenantId: string, label = ''): Promise<CreatedApiKey> {
  const tenant = await store.db
    .selectFrom('tenants')
    .select('tenant_id')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  if (!tenant) throw new IntegrationError(`no tenant "${tenantId}"; create the tenant first`, 'tenantId');
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  await store.db
    .insertInto('api_keys')
    .values({ tenant_id: tenantId, key_id: keyId, key_hash: hashSecret(secret).toString('hex'), label })
    .execute();
  return { keyId, token: `chk_${keyId}_${secret}` };
}

/**
 * Checks a bearer token: the key id selects the stored hash, the hash of the presented secret is compared in
 * constant time, and a revoked key never matches. Not cached: a revocation takes effect on the next request.
 */
export async function verifyApiKey(store: Store, token: string): Promise<{ tenantId: string; keyId: string } | null> {
  const m = TOKEN.exec(token);
  if (!m) return null;
  const keyId = m[1]!;
  const presented = hashSecret(m[2]!);
  const rows = await store.db
    .selectFrom('api_keys')
    .select(['tenant_id', 'key_hash', 'revoked_at'])
    .where('key_id', '=', keyId)
    .execute();
  let match: string | null = null;
  for (const row of rows) {
    const stored = Buffer.from(row.key_hash, 'hex');
    const equal = stored.length === presented.length && timingSafeEqual(stored, presented);
    if (equal && row.revoked_at === null) match = row.tenant_id;
  }
  return match === null ? null : { tenantId: match, keyId };
}

/** Revokes a key of a tenant; returns false when the tenant has no such key or it was revoked before. */
export async function revokeApiKey(store: Store, tenantId: string, keyId: string): Promise<boolean> {
  const r = await store.db
    .updateTable('api_keys')
    .set({ revoked_at: sql<string>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('key_id', '=', keyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Express middleware: authenticates `Authorization: Bearer chk_…` and scopes the request to the key's tenant. */
export function requireApiKey(store: Store) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization');
    if (!header) throw problems.unauthorized('send an API key: Authorization: Bearer chk_<keyId>_<secret>');
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (!m) throw problems.unauthorized('the Authorization header must use the Bearer scheme', 'invalid_token');
    const key = await verifyApiKey(store, m[1]!);
    if (!key) throw problems.unauthorized('the API key is unknown, malformed or revoked', 'invalid_token');
    req.tenantId = key.tenantId;
    req.apiKeyId = key.keyId;
    next();
  };
}
