/**
 * Statements registered as worth preparing go to PostgreSQL as named statements (parsed once per connection) and
 * answer as before; the rest stay unnamed; `DATABASE_PREPARED_STATEMENTS=0` turns it off (for poolers that do not
 * keep prepared statements).
 */
import { CompiledQuery } from 'kysely';
import { openStore, type Store } from '../../src/store/db';
import { prepared } from '../../src/store/prepared';
import { freshPostgres } from '../helpers/stores';

const REGISTERED = prepared('SELECT $1::int + 1 AS n /* store-prepared test */');
const UNREGISTERED = 'SELECT $1::int + 2 AS n /* store-prepared test */';

/** Runs both statements on one connection; returns their answers and the statements that connection has prepared. */
async function onOneConnection(store: Store) {
  return store.db.connection().execute(async (c) => {
    const a = (await c.executeQuery<{ n: number }>(CompiledQuery.raw(REGISTERED, [41]))).rows[0]!.n;
    const again = (await c.executeQuery<{ n: number }>(CompiledQuery.raw(REGISTERED, [1]))).rows[0]!.n;
    const b = (await c.executeQuery<{ n: number }>(CompiledQuery.raw(UNREGISTERED, [40]))).rows[0]!.n;
    const names = (
      await c.executeQuery<{ statement: string }>(CompiledQuery.raw('SELECT statement FROM pg_prepared_statements'))
    ).rows.map((r) => r.statement);
    return { answers: [a, again, b], names };
  });
}

describe('prepared statements on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof freshPostgres>>;
  beforeAll(async () => {
    db = await freshPostgres();
  });
  afterAll(async () => db?.drop());

  test('a registered text is prepared once per connection and answers as before; others are not', async () => {
    const store = await openStore(db.url);
    try {
      const { answers, names } = await onOneConnection(store);
      expect(answers).toEqual([42, 2, 42]);
      expect(names).toEqual([REGISTERED]);
    } finally {
      await store.close();
    }
  });

  test('DATABASE_PREPARED_STATEMENTS=0 sends everything unnamed', async () => {
    process.env.DATABASE_PREPARED_STATEMENTS = '0';
    const store = await openStore(db.url);
    try {
      const { answers, names } = await onOneConnection(store);
      expect(answers).toEqual([42, 2, 42]);
      expect(names).toEqual([]);
    } finally {
      delete process.env.DATABASE_PREPARED_STATEMENTS;
      await store.close();
    }
  });
});
