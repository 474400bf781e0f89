import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store } from '../../src/store';

/** The PostgreSQL server of the machine (CI starts it). Overridable with TEST_DATABASE_URL. */
export const PG_BASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A fresh, empty PostgreSQL database per test file, dropped on close, so test files can run in parallel without
 * sharing rows. The server is real; nothing is mocked.
 */
export async function freshPostgres(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `clearhub_t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_BASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = PG_BASE_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: PG_BASE_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface StoreFactory {
  name: 'pglite' | 'postgres';
  open(): Promise<{ store: Store; url: string; dispose(): Promise<void> }>;
}

export const STORE_FACTORIES: StoreFactory[] = [
  {
    name: 'pglite',
    async open() {
      const store = await openStore('pglite:memory');
      await store.migrate();
      return { store, url: 'pglite:memory', dispose: () => store.close() };
    },
  },
  {
    name: 'postgres',
    async open() {
      const db = await freshPostgres();
      const store = await openStore(db.url);
      await store.migrate();
      return {
        store,
        url: db.url,
        async dispose() {
          await store.close();
          await db.drop();
        },
      };
    },
  },
];
