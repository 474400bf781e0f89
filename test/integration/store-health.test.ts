import pg from 'pg';
import { judgeServer, storeChecks } from '../../src/store/health';
import { STORE_FACTORIES } from '../helpers/stores';

const GB = 1024 ** 3;
const MB = 1024 ** 2;

describe('doctor: the database', () => {
  test('a server on stock settings under a large ledger is warned about, naming each setting and what to set', () => {
    const stock = judgeServer({
      version: '15.20',
      autovacuum: false,
      sharedBuffers: 128 * MB,
      maxWalSize: 1 * GB,
      databaseSize: 2.5 * GB,
    });
    expect(stock.map((c) => [c.check, c.ok])).toEqual([
      ['server', 'ok'],
      ['autovacuum', 'WARN'],
      ['shared_buffers', 'WARN'],
      ['max_wal_size', 'WARN'],
    ]);
    expect(stock[0]!.detail).toBe('PostgreSQL 15.20, database 2.5 GB');
    expect(stock[2]!.detail).toMatch(/^128 MB for a database of 2\.5 GB: .*a quarter of the server's memory$/);
    expect(stock[3]!.detail).toMatch(/^1\.0 GB: .*4 GB or more, and wal_compression = lz4$/);

    const tuned = judgeServer({
      version: '16.4',
      autovacuum: true,
      sharedBuffers: 4 * GB,
      maxWalSize: 8 * GB,
      databaseSize: 2.5 * GB,
    });
    expect(tuned.filter((c) => c.ok !== 'ok')).toEqual([]);
  });

  test('PostgreSQL: the checks read the server they are connected to', async () => {
    const { store, url, dispose } = await STORE_FACTORIES.find((f) => f.name === 'postgres')!.open();
    try {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const version = (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
      const autovacuum = (await c.query<{ autovacuum: string }>('SHOW autovacuum')).rows[0]!.autovacuum;
      await c.end();
      const checks = await storeChecks(store);
      expect(checks[0]).toMatchObject({ check: 'server', ok: 'ok' });
      const [server, size] = checks[0]!.detail.split(', database ');
      expect(server).toBe(`PostgreSQL ${version}`);
      expect(size).toMatch(/^\d+ MB$/);
      expect(checks.find((x) => x.check === 'autovacuum')!.ok).toBe(autovacuum === 'on' ? 'ok' : 'WARN');
      // A fresh test database is far smaller than any server's shared buffers.
      expect(checks.find((x) => x.check === 'shared_buffers')!.ok).toBe('ok');
      expect(checks.some((x) => x.ok === 'FAIL')).toBe(false);
    } finally {
      await dispose();
    }
  });

  test('PGlite: says it is the embedded store, and where', async () => {
    const { store, dispose } = await STORE_FACTORIES.find((f) => f.name === 'pglite')!.open();
    try {
      expect(await storeChecks(store)).toEqual([
        {
          check: 'server',
          ok: 'ok',
          detail: expect.stringMatching(/^embedded PGlite in memory: .*set DATABASE_URL to a PostgreSQL server/),
        },
      ]);
      expect((await storeChecks(store, '/srv/clearhub/.clearhub/db'))[0]!.detail).toMatch(
        /^embedded PGlite in \/srv\/clearhub\/\.clearhub\/db:/,
      );
    } finally {
      await dispose();
    }
  });
});
