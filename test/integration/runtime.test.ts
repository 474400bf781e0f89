import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompiledQuery } from 'kysely';
import { Runtime } from '../../src/runtime';
import { makeHome } from '../helpers/tenant';

describe('Runtime: which tenants exist', () => {
  const env = makeHome({ smtpPort: 1 });
  const tenants = join(env.home, 'config', 'tenants');
  let rt: Runtime;

  beforeAll(async () => {
    rt = await Runtime.open({ home: env.home, databaseUrl: 'pglite:memory', redisUrl: '' });
  });
  afterAll(async () => {
    await rt.close();
  });

  test('the one tenant is found without naming it, and by its id', () => {
    expect(rt.tenant().tenant.id).toBe(env.tenant);
    expect(rt.tenant(env.tenant).tenant.id).toBe(env.tenant);
  });

  test('a tenant added while the process runs is found by its id', () => {
    const file = join(tenants, 'second.yaml');
    writeFileSync(
      file,
      readFileSync(join(tenants, `${env.tenant}.yaml`), 'utf8').replace(`id: ${env.tenant}`, 'id: second'),
    );
    expect(rt.tenant('second').tenant.id).toBe('second');
    expect(() => rt.tenant()).toThrow(/several tenants \(acme, second\)/);
  });

  test('a copied tenant file that still declares the id it was copied from is refused at its id, not run as that tenant', () => {
    const text = readFileSync(join(tenants, `${env.tenant}.yaml`), 'utf8');
    writeFileSync(join(tenants, 'copy.yaml'), text);
    const line = text.split('\n').findIndex((l) => l.trim() === `id: ${env.tenant}`) + 1;
    expect(() => rt.tenant('copy')).toThrow(
      new RegExp(`copy\\.yaml:${line}:7: tenant\\.id: the file is named for tenant "copy": write id: copy`),
    );
  });

  test('an id that no tenant file can carry is no tenant, even when a file outside the folder would match it', () => {
    // config/evil.yaml is a valid tenant file one folder up: an id from a URL must never reach it.
    copyFileSync(join(tenants, `${env.tenant}.yaml`), join(env.home, 'config', 'evil.yaml'));
    expect(() => rt.tenant('../evil')).toThrow('no tenant "../evil"');
    expect(() => rt.tenant('ACME')).toThrow('no tenant "ACME"');
    expect(() => rt.tenant('nobody')).toThrow(/no tenant "nobody" \(looked for .*nobody\.yaml\)/);
  });
});

describe('Runtime: the embedded store is vacuumed and analysed by the worker, at most hourly (PGlite has no autovacuum)', () => {
  const env = makeHome({ smtpPort: 1 });
  const db = join(env.home, '.clearhub', 'db');
  let rt: Runtime;
  const reltuples = async () =>
    (
      await rt.store.db.executeQuery<{ n: number }>(
        CompiledQuery.raw(`SELECT reltuples::int AS n FROM pg_class WHERE relname = 'outbox'`),
      )
    ).rows[0]!.n;

  beforeAll(async () => {
    rt = await Runtime.open({ home: env.home, databaseUrl: `pglite:${db}`, redisUrl: '' });
    await rt.registerTenant(rt.tenant(env.tenant));
    // 1,200 write-backs waiting, half of them delivered since: dead row versions for VACUUM, a size for ANALYZE.
    await rt.store.db.executeQuery(
      CompiledQuery.raw(
        `INSERT INTO outbox (tenant_id, outbox_id, source, kind, item_id, command)
         SELECT $1, 'o-' || g, 'billing', 'payment', 'i-' || g, '{}'::jsonb FROM generate_series(1, 1200) g`,
        [env.tenant],
      ),
    );
    await rt.store.db.executeQuery(CompiledQuery.raw(`UPDATE outbox SET status = 'delivered' WHERE outbox_id < 'o-5'`));
  });
  afterAll(async () => {
    await rt.close();
  });

  test('the first time it runs and records when; within the hour it does not run again', async () => {
    expect(await reltuples()).toBeLessThan(0);
    expect(await rt.maintainEmbeddedStore()).toBe(true);
    expect(await reltuples()).toBe(1200);
    expect(existsSync(join(env.home, '.clearhub', 'db.maintained'))).toBe(true);
    expect(await rt.maintainEmbeddedStore()).toBe(false);
    expect(await rt.maintainEmbeddedStore(0)).toBe(true);
  });

  test('an in-memory store is left alone: nothing of it outlives the process', async () => {
    const mem = await Runtime.open({ home: env.home, databaseUrl: 'pglite:memory', redisUrl: '' });
    try {
      expect(await mem.maintainEmbeddedStore(0)).toBe(false);
    } finally {
      await mem.close();
    }
  });
});
