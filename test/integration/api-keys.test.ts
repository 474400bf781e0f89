/**
 * The API's key check keeps a key it has just checked for a moment, so a busy client costs no store read per request;
 * a revocation must still hold: at once through revokeApiKey in this process, within the moment when it is made
 * elsewhere (another process, SQL).
 */
import type { Request, Response } from 'express';
import { sql } from 'kysely';
import { createApiKey, requireApiKey, revokeApiKey } from '../../src/api/api-keys';
import type { Store } from '../../src/store/db';
import { STORE_FACTORIES } from '../helpers/stores';

describe.each(STORE_FACTORIES)('API keys on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
    await store.db
      .insertInto('tenants')
      .values({ tenant_id: 'acme', name: 'ACME', country: 'DE', currency: 'EUR' })
      .execute();
  });
  afterAll(async () => dispose?.());

  /** Runs the middleware for `token`: the tenant it let through, or the problem's status. */
  const check = async (mw: ReturnType<typeof requireApiKey>, token: string): Promise<string | number> => {
    const req = { get: (h: string) => (h === 'authorization' ? `Bearer ${token}` : undefined) } as unknown as Request;
    try {
      let passed = false;
      await mw(req, {} as Response, () => {
        passed = true;
      });
      return passed ? req.tenantId! : 'not passed';
    } catch (err) {
      return (err as { problem?: { status: number } }).problem?.status ?? String(err);
    }
  };
  /** Revokes as another process would: straight in the store. */
  const revokeElsewhere = (keyId: string) =>
    sql`UPDATE api_keys SET revoked_at = now() WHERE key_id = ${keyId}`.execute(store.db);

  test('a key revoked here is refused on the next request', async () => {
    const mw = requireApiKey(store, { cacheMs: 60_000 });
    const k = await createApiKey(store, 'acme', 'here');
    expect(await check(mw, k.token)).toBe('acme');
    expect(await revokeApiKey(store, 'acme', k.keyId)).toBe(true);
    expect(await check(mw, k.token)).toBe(401);
  });

  test('a key revoked elsewhere is refused once the time it is kept is up', async () => {
    const mw = requireApiKey(store, { cacheMs: 300 });
    const k = await createApiKey(store, 'acme', 'elsewhere');
    expect(await check(mw, k.token)).toBe('acme');
    await revokeElsewhere(k.keyId);
    expect(await check(mw, k.token)).toBe('acme'); // still kept: at most 300 ms
    await new Promise((r) => setTimeout(r, 350));
    expect(await check(mw, k.token)).toBe(401);
  });

  test('without keeping keys, a revocation elsewhere counts at once', async () => {
    const mw = requireApiKey(store, { cacheMs: 0 });
    const k = await createApiKey(store, 'acme', 'uncached');
    expect(await check(mw, k.token)).toBe('acme');
    await revokeElsewhere(k.keyId);
    expect(await check(mw, k.token)).toBe(401);
  });

  test('a kept key still needs its secret', async () => {
    const mw = requireApiKey(store, { cacheMs: 60_000 });
    const k = await createApiKey(store, 'acme', 'secret');
    expect(await check(mw, k.token)).toBe('acme');
    const forged = `${k.token.slice(0, -4)}${k.token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    expect(await check(mw, forged)).toBe(401);
    expect(await check(mw, k.token)).toBe('acme');
  });
});
