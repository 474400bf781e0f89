/**
 * The signature of Clearhub's outgoing webhooks, Stripe's scheme: header
 * `Clearhub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the endpoint secret>`.
 * While a secret is rolled the header may carry several `v1=`; a receiver accepts any that verifies and refuses a
 * timestamp older than its tolerance (replays).
 *
 * @example
 * // receiver (Node):
 * verifyWebhookSignature({ secret: process.env.CLEARHUB_WEBHOOK_SECRET, header: req.headers['clearhub-signature'], body: rawBody })
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Clearhub-Signature';

export function signWebhook(secret: string, body: string | Buffer, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

export type WebhookVerification =
  | { ok: true; timestamp: number }
  | { ok: false; reason: 'missing' | 'malformed' | 'mismatch' | 'too-old' };

export function verifyWebhookSignature(i: {
  secret: string;
  header: string | undefined;
  body: string | Buffer;
  /** Maximum age in seconds; 0 turns the check off. @defaultValue `300` */
  toleranceSec?: number;
  /** Unix seconds. @defaultValue now */
  now?: number;
}): WebhookVerification {
  if (!i.header) return { ok: false, reason: 'missing' };
  let t: number | undefined;
  const signatures: string[] = [];
  for (const part of i.header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v && /^\d+$/.test(v)) t = Number(v);
    else if (k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)) signatures.push(v);
  }
  if (t === undefined || signatures.length === 0) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(signWebhook(i.secret, i.body, t).split('v1=')[1]!, 'hex');
  const match = signatures.some((s) => {
    const given = Buffer.from(s, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!match) return { ok: false, reason: 'mismatch' };
  const tolerance = i.toleranceSec ?? 300;
  const now = i.now ?? Math.floor(Date.now() / 1000);
  if (tolerance > 0 && Math.abs(now - t) > tolerance) return { ok: false, reason: 'too-old' };
  return { ok: true, timestamp: t };
}
