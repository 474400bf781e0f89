/**
 * The database's side of `clearhub doctor`: what the server is, and the settings that decide how the ledger's bulk
 * work runs (statement imports, dunning runs, syncs). PostgreSQL's stock settings are made for a small machine that
 * shares itself with other programs; on them a ledger larger than the shared buffers is read and written through the
 * operating system's cache, and a bulk write forces a checkpoint every few seconds, after which every page it touches
 * goes to the WAL whole again. The README ("PostgreSQL for production") has the figures.
 */
import { sql } from 'kysely';
import type { Store } from './db';

export interface StoreCheck {
  check: string;
  /** `WARN`: works, but a setting costs time or space; doctor still exits 0. */
  ok: 'ok' | 'WARN' | 'FAIL' | '-';
  detail: string;
}

/** Below this, a bulk write of a large ledger checkpoints every few seconds. */
const MIN_WAL_BYTES = 4 * 1024 ** 3;

const mb = (bytes: number) =>
  bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;

/** What the checks read off a PostgreSQL server (sizes in bytes). */
export interface ServerSettings {
  version: string;
  autovacuum: boolean;
  sharedBuffers: number;
  maxWalSize: number;
  databaseSize: number;
}

export async function storeChecks(store: Store, embeddedDir?: string): Promise<StoreCheck[]> {
  if (store.dialect === 'pglite') {
    return [
      {
        check: 'server',
        ok: 'ok',
        detail: `embedded PGlite${embeddedDir ? ` in ${embeddedDir}` : ' in memory'}: for trials and one small tenant; set DATABASE_URL to a PostgreSQL server for production`,
      },
    ];
  }
  const { rows } = await sql<{ [K in keyof ServerSettings]: string }>`
    SELECT current_setting('server_version') AS version, current_setting('autovacuum') AS autovacuum,
           pg_size_bytes(current_setting('shared_buffers'))::text AS "sharedBuffers",
           pg_size_bytes(current_setting('max_wal_size'))::text AS "maxWalSize",
           pg_database_size(current_database())::text AS "databaseSize"`.execute(store.db);
  const r = rows[0]!;
  return judgeServer({
    version: r.version,
    autovacuum: r.autovacuum === 'on',
    sharedBuffers: Number(r.sharedBuffers),
    maxWalSize: Number(r.maxWalSize),
    databaseSize: Number(r.databaseSize),
  });
}

/** The checks of a server's settings: `WARN` where one costs the ledger's bulk work time or space. */
export function judgeServer(s: ServerSettings): StoreCheck[] {
  return [
    { check: 'server', ok: 'ok', detail: `PostgreSQL ${s.version}, database ${mb(s.databaseSize)}` },
    s.autovacuum
      ? { check: 'autovacuum', ok: 'ok', detail: 'on' }
      : {
          check: 'autovacuum',
          ok: 'WARN',
          detail:
            'off: the dead rows of every payment, notice and write-back stay, and the planner works from old statistics; turn it on (autovacuum = on)',
        },
    s.sharedBuffers >= s.databaseSize
      ? { check: 'shared_buffers', ok: 'ok', detail: `${mb(s.sharedBuffers)}, the database ${mb(s.databaseSize)}` }
      : {
          check: 'shared_buffers',
          ok: 'WARN',
          detail: `${mb(s.sharedBuffers)} for a database of ${mb(s.databaseSize)}: imports and dunning runs go through the operating system's cache; give it about a quarter of the server's memory`,
        },
    s.maxWalSize >= MIN_WAL_BYTES
      ? { check: 'max_wal_size', ok: 'ok', detail: mb(s.maxWalSize) }
      : {
          check: 'max_wal_size',
          ok: 'WARN',
          detail: `${mb(s.maxWalSize)}: a statement import or dunning run of a large ledger forces a checkpoint every few seconds; 4 GB or more, and wal_compression = lz4`,
        },
  ];
}
