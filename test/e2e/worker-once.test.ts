import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { countOutbox } from '../../src/routing/outbox';
import { Runtime } from '../../src/runtime';
import { freshPostgres } from '../helpers/stores';
import { HEADER, makeHome, payEveryDebtor } from '../helpers/tenant';

const BIN = resolve(__dirname, '../../bin/clearhub.js');

describe('clearhub worker --once on PostgreSQL and the in-process queue', () => {
  let env: ReturnType<typeof makeHome>;
  let rt: Runtime;
  let db: Awaited<ReturnType<typeof freshPostgres>>;

  beforeEach(async () => {
    env = makeHome({ smtpPort: 1 });
    writeFileSync(
      join(env.inbound, 'export.csv'),
      [
        HEADER,
        'C100,Anna Müller,B2C,anna@example.org,,de,DE,INV-1001,SIM-1,2026-09-01,2026-10-01,EUR,10.00,10.00,0,',
        'C200,Ben Weber,B2C,ben@example.org,,de,DE,INV-2001,SIM-2,2026-09-01,2026-10-01,EUR,20.00,20.00,0,',
      ].join('\n'),
    );
    db = await freshPostgres();
    rt = await Runtime.open({ home: env.home, databaseUrl: db.url, redisUrl: '' });
    await rt.sync(env.tenant);
    await payEveryDebtor(rt.store, env.tenant);
  });

  afterEach(async () => {
    await rt.close();
    await db.drop();
  });

  test('write-backs left enqueued by a worker that stopped before delivering them are delivered, not waited for', async () => {
    // A `clearhub worker` on the in-process queue relayed both write-backs, then was stopped (Ctrl-C) before it ran
    // them: the rows say enqueued, and the jobs went with the process.
    await rt.store.db
      .updateTable('outbox')
      .set({ status: 'enqueued', enqueued_at: new Date().toISOString() })
      .execute();
    expect(await countOutbox(rt.store.db)).toMatchObject({ pending: 0, enqueued: 2 });

    const r = spawnSync(process.execPath, [BIN, '--home', env.home, 'worker', '--once'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: db.url, REDIS_URL: '' },
      timeout: 30_000,
    });
    expect(r.signal).toBeNull(); // it finished rather than waiting for jobs nobody holds
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('delivered 2, dead letters 0');
    expect(await countOutbox(rt.store.db)).toMatchObject({ enqueued: 0, delivered: 2 });
    expect(readdirSync(env.outbound).filter((f) => f.endsWith('.csv'))).toHaveLength(2);
  });
});
