import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { Kysely, type Migration, Migrator, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { IntegrationError } from '../domain/errors';
import * as m0001 from './migrations/0001-initial';
import * as m0002 from './migrations/0002-gateway';
import * as m0003 from './migrations/0003-cash';
import * as m0004 from './migrations/0004-dunning';
import * as m0005 from './migrations/0005-channels';
import * as m0006 from './migrations/0006-provider-records';
import * as m0007 from './migrations/0007-payment-sessions';
import * as m0008 from './migrations/0008-item-dunning';
import * as m0010 from './migrations/0010-checkout-expect';
import * as m0011 from './migrations/0011-webhook-intake';
import * as m0012 from './migrations/0012-source-booked';
import * as m0013 from './migrations/0013-faster-uuid7';
import * as m0014 from './migrations/0014-keys-with-currency';
import { preparingClient } from './prepared';
import type { Database } from './schema';

export type DialectName = 'postgres' | 'pglite';

/** A raw SQL session on one connection, inside one transaction: for set-based bulk paths (COPY, staging, merge). */
export interface RawSession {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows: number }>;
  /** Runs `COPY … FROM STDIN (FORMAT csv)` on PostgreSQL, or `FROM '/dev/blob'` on PGlite, with CSV text chunks. */
  copyIn(table: string, columns: readonly string[], chunks: Iterable<string> | AsyncIterable<string>): Promise<void>;
}

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** Runs `fn` in one transaction on one connection with raw SQL and COPY. */
  rawTransaction<T>(fn: (s: RawSession) => Promise<T>): Promise<T>;
  migrate(): Promise<{ applied: string[] }>;
  close(): Promise<void>;
}

const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': m0001,
  '0002-gateway': m0002,
  '0003-cash': m0003,
  '0004-dunning': m0004,
  '0005-channels': m0005,
  '0006-provider-records': m0006,
  '0007-payment-sessions': m0007,
  '0008-item-dunning': m0008,
  '0010-checkout-expect': m0010,
  '0011-webhook-intake': m0011,
  '0012-source-booked': m0012,
  '0013-faster-uuid7': m0013,
  '0014-keys-with-currency': m0014,
};

function toSafeInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`bigint ${v} is outside the safe integer range`);
  return n;
}
const toIso = (v: string): string => new Date(v).toISOString();
const identity = (v: string): string => v;

/** One normalisation for both drivers (STACK: pg returns int8 as string, PGlite as number). */
const PARSERS: Record<number, (v: string) => unknown> = {
  20: toSafeInt, // int8
  1082: identity, // date stays YYYY-MM-DD
  1114: toIso, // timestamp
  1184: toIso, // timestamptz
};

/**
 * Opens the store named by `url`: `postgres://…` for PostgreSQL; `pglite:<dir>` for embedded PGlite on disk;
 * `pglite:memory` or nothing for an in-memory PGlite.
 */
export async function openStore(url: string | undefined = process.env.DATABASE_URL): Promise<Store> {
  if (url && /^postgres(ql)?:\/\//.test(url)) return openPostgres(url);
  if (!url || url.startsWith('pglite:')) return openPglite(url ? url.slice('pglite:'.length) : 'memory');
  throw new IntegrationError(
    `unsupported database URL "${url.replace(/:[^:@/]*@/, ':***@')}"; expected postgres://… or pglite:<dir>`,
    'DATABASE_URL',
  );
}

async function openPostgres(url: string): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: url,
    max: Number(process.env.DATABASE_POOL_MAX ?? 10),
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        PARSERS[oid] ?? pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle pooled connection that the server closes (restart, failover, a dropped database) must not crash the
  // process: the pool discards it and the next query opens a new one.
  pool.on('error', (err) => {
    process.stderr.write(`${JSON.stringify({ room: 'store', event: 'idle connection lost', error: err.message })}\n`);
  });
  pool.on('connect', preparingClient);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const rawTransaction = async <T>(fn: (s: RawSession) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const session: RawSession = {
        async query<R>(text: string, params?: unknown[]) {
          const r = await client.query(text, params as unknown[]);
          return { rows: r.rows as R[], affectedRows: r.rowCount ?? 0 };
        },
        async copyIn(table, columns, chunks) {
          const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv)`));
          const done = new Promise<void>((resolve, reject) => {
            stream.on('finish', resolve);
            stream.on('error', reject);
          });
          for await (const chunk of chunks) {
            if (!stream.write(chunk)) await once(stream, 'drain');
          }
          stream.end();
          await done;
        },
      };
      const out = await fn(process.env.CLEARHUB_SQL_TRACE ? traced(session) : session);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
  return makeStore(db, 'postgres', rawTransaction);
}

async function openPglite(dir: string): Promise<Store> {
  const parsers = Object.fromEntries(Object.entries(PARSERS).map(([k, f]) => [Number(k), f]));
  const inMemory = dir === 'memory' || dir === '';
  if (!inMemory) mkdirSync(dir, { recursive: true });
  const pglite = inMemory ? await memoryPGlite(parsers) : new PGlite(dir, { parsers });
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  const rawTransaction = <T>(fn: (s: RawSession) => Promise<T>): Promise<T> =>
    pglite.transaction(async (tx) => {
      const session: RawSession = {
        async query<R>(text: string, params?: unknown[]) {
          const r = await tx.query<R>(text, params);
          return { rows: r.rows, affectedRows: r.affectedRows ?? 0 };
        },
        async copyIn(table, columns, chunks) {
          const parts: string[] = [];
          for await (const chunk of chunks) parts.push(chunk);
          await tx.query(`COPY ${table} (${columns.join(', ')}) FROM '/dev/blob' WITH (FORMAT csv)`, [], {
            blob: new Blob(parts),
          });
        },
      };
      return fn(session);
    });
  const store = makeStore(db, 'pglite', rawTransaction);
  const close = store.close;
  return {
    ...store,
    close: async () => {
      await close();
      if (!pglite.closed) await pglite.close();
    },
  };
}

/**
 * An in-memory PGlite. The first of a process runs initdb (seconds of WebAssembly); its fresh cluster is kept as a
 * tarball and every later one starts from a copy of it: the same empty database, without initdb.
 */
let emptyCluster: Promise<Blob | File> | undefined;
async function memoryPGlite(parsers: PGliteOptions['parsers']): Promise<PGlite> {
  if (emptyCluster) {
    const loadDataDir = await emptyCluster.catch(() => undefined);
    if (loadDataDir) return PGlite.create({ loadDataDir, parsers });
  }
  const pglite = await PGlite.create({ parsers });
  emptyCluster ??= pglite.dumpDataDir('none');
  await emptyCluster.catch(() => undefined);
  return pglite;
}

function makeStore(db: Kysely<Database>, dialect: DialectName, rawTransaction: Store['rawTransaction']): Store {
  return {
    db,
    dialect,
    rawTransaction,
    async migrate() {
      // Rooms add their migrations independently (0004 dunning, 0006 provider records …): order by name, allow gaps.
      const migrator = new Migrator({
        db,
        provider: { getMigrations: async () => MIGRATIONS },
        allowUnorderedMigrations: true,
      });
      const { error, results } = await migrator.migrateToLatest();
      if (error) throw error;
      return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
    },
    async close() {
      await db.destroy();
    },
  };
}

/** Prints each statement's duration to stderr (set CLEARHUB_SQL_TRACE=1): for tuning bulk paths. */
function traced(s: RawSession): RawSession {
  const log = (t0: bigint, what: string) =>
    process.stderr.write(
      `sql ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)}ms ${what.replace(/\s+/g, ' ').slice(0, 70)}\n`,
    );
  return {
    async query(text, params) {
      const t0 = process.hrtime.bigint();
      const r = await s.query(text, params);
      log(t0, text);
      return r as never;
    },
    async copyIn(table, columns, chunks) {
      const t0 = process.hrtime.bigint();
      await s.copyIn(table, columns, chunks);
      log(t0, `COPY ${table}`);
    },
  };
}

/** One COPY buffer per table, flushed in 1 MB chunks. */
export class CsvChunks {
  readonly chunks: string[] = [];
  // Lines are kept apart and joined once per chunk: a flat string, not a chain of appends to flatten.
  private lines: string[] = [];
  private length = 0;
  rows = 0;
  line(cells: readonly (string | number | null | undefined)[]): void {
    const out = new Array<string>(cells.length);
    for (let k = 0; k < cells.length; k++) {
      const c = cells[k];
      out[k] = typeof c === 'number' ? String(c) : csvField(c);
    }
    const line = out.join(',');
    this.lines.push(line);
    this.length += line.length + 1;
    this.rows++;
    if (this.length > 1 << 20) this.flush();
  }
  private flush(): void {
    if (this.lines.length === 0) return;
    this.lines.push('');
    this.chunks.push(this.lines.join('\n'));
    this.lines = [];
    this.length = 0;
  }
  done(): string[] {
    this.flush();
    return this.chunks;
  }
}

/** Encodes one value for CSV COPY: NULL as an unquoted empty field, everything else quoted when needed. */
export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  if (v === '') return '""';
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Removes every row of every table (tests only): keeps the schema. */
export async function truncateAll(store: Store): Promise<void> {
  const { rows } = await sql<{ tablename: string }>`
    SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE 'kysely_%'`.execute(
    store.db,
  );
  await sql
    .raw(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} RESTART IDENTITY CASCADE`)
    .execute(store.db);
}
