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
 * constant time, and a revoked key never matches. Reads the store every time (see {@link requireApiKey} for the
 * cached check of the API).
 */
export async function verifyApiKey(store: Store, token: string): Promise<{ tenantId: string; keyId: string } | null> {
  const m = TOKEN.exec(token);
  if (!m) return null;
  const keyId = m[1]!;
  const presented = hashSecret(m[2]!);
  const row = await readKey(store, keyId);
  return row && matches(row, presented) ? { tenantId: row.tenantId, keyId } : null;
}

interface KeyRow {
  tenantId: string;
  hash: Buffer;
}

/** The key's tenant and hash, or undefined when there is no such key or it is revoked. */
async function readKey(store: Store, keyId: string): Promise<KeyRow | undefined> {
  const rows = await store.db
    .selectFrom('api_keys')
    .select(['tenant_id', 'key_hash'])
    .where('key_id', '=', keyId)
    .where('revoked_at', 'is', null)
    .execute();
  const row = rows[0];
  return row ? { tenantId: row.tenant_id, hash: Buffer.from(row.key_hash, 'hex') } : undefined;
}

function matches(row: KeyRow, presented: Buffer): boolean {
  return row.hash.length === presented.length && timingSafeEqual(row.hash, presented);
}

/**
 * Keys the API has checked recently, per store: key id → tenant and hash, trusted for a short time. Only keys that
 * exist and are not revoked are kept (a wrong secret is compared against the kept hash, and fails). A key revoked
 * through {@link revokeApiKey} is dropped at once and never kept again by this process (a check that read the key
 * just before the revocation committed must not keep it); one revoked elsewhere is seen once its time is up.
 */
interface KeyCache {
  keys: Map<string, KeyRow & { until: number }>;
  revoked: Set<string>;
}
const caches = new WeakMap<Store, KeyCache>();
const cacheOf = (store: Store): KeyCache => {
  let c = caches.get(store);
  if (!c) {
    c = { keys: new Map(), revoked: new Set() };
    caches.set(store, c);
  }
  return c;
};

/** How long the API trusts a key it has checked before it reads the store again. */
export const API_KEY_CACHE_MS = 5_000;
const API_KEY_CACHE_MAX = 10_000;

async function verifyCached(
  store: Store,
  token: string,
  ttlMs: number,
): Promise<{ tenantId: string; keyId: string } | null> {
  const m = TOKEN.exec(token);
  if (!m) return null;
  const keyId = m[1]!;
  const presented = hashSecret(m[2]!);
  const cache = cacheOf(store);
  const now = Date.now();
  let row: KeyRow | undefined = cache.keys.get(keyId);
  if (!row || cache.keys.get(keyId)!.until <= now) {
    cache.keys.delete(keyId);
    row = await readKey(store, keyId);
    if (row && ttlMs > 0 && !cache.revoked.has(keyId)) {
      if (cache.keys.size >= API_KEY_CACHE_MAX) cache.keys.delete(cache.keys.keys().next().value!);
      cache.keys.set(keyId, { ...row, until: now + ttlMs });
    }
  }
  return row && matches(row, presented) ? { tenantId: row.tenantId, keyId } : null;
}

/** Revokes a key of a tenant; returns false when the tenant has no such key or it was revoked before. */
export async function revokeApiKey(store: Store, tenantId: string, keyId: string): Promise<boolean> {
  const cache = cacheOf(store);
  if (cache.revoked.size >= API_KEY_CACHE_MAX) cache.revoked.clear();
  cache.revoked.add(keyId);
  cache.keys.delete(keyId);
  const r = await store.db
    .updateTable('api_keys')
    .set({ revoked_at: sql<string>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('key_id', '=', keyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Express middleware: authenticates `Authorization: Bearer chk_…` and scopes the request to the key's tenant. A key
 * checked in the last `cacheMs` (default {@link API_KEY_CACHE_MS}; 0: every request reads the store) is not read
 * again; revoking it through {@link revokeApiKey} takes effect on the next request of this process, and within
 * `cacheMs` on other processes.
 */
export function requireApiKey(store: Store, opts: { cacheMs?: number } = {}) {
  const ttl = opts.cacheMs ?? API_KEY_CACHE_MS;
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization');
    if (!header) throw problems.unauthorized('send an API key: Authorization: Bearer chk_<keyId>_<secret>');
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (!m) throw problems.unauthorized('the Authorization header must use the Bearer scheme', 'invalid_token');
    const key = await verifyCached(store, m[1]!, ttl);
    if (!key) throw problems.unauthorized('the API key is unknown, malformed or revoked', 'invalid_token');
    req.tenantId = key.tenantId;
    req.apiKeyId = key.keyId;
    next();
  };
}
