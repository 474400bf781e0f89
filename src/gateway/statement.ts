/**
 * Several writes in one round trip: data-modifying CTEs (`WITH a AS (INSERT …), b AS (UPDATE …) SELECT …`) put
 * together from parts, with the parameters numbered as they are added. PostgreSQL runs every part against the same
 * snapshot, and the statement takes effect (or fails) as a whole. Lists go in as VALUES rows of parameters, so a
 * statement's text depends on its parts and their row counts only: a hot path sends few distinct texts, each prepared
 * once per connection (store/prepared), and PostgreSQL may plan it once, as the plan for parameters whose row counts
 * it knows is as good as one for the values at hand (with arrays, it would plan every run for their lengths).
 *
 * Two parts must not change the same row (PostgreSQL would apply only one of them): merge such changes first.
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { prepared } from '../store/prepared';
import type { Database } from '../store/schema';

export type Db = Kysely<Database> | Transaction<Database>;

export class WriteStatement {
  private readonly parts: string[] = [];
  private readonly params: unknown[] = [];
  private readonly written: (() => void)[] = [];

  /** The placeholder of a new parameter, with a cast when PostgreSQL cannot infer the type (`text[]`, `jsonb`, …). */
  param(value: unknown, cast?: string): string {
    this.params.push(value);
    return cast ? `$${this.params.length}::${cast}` : `$${this.params.length}`;
  }

  /** A VALUES list of `rows`, every value a parameter with its column's cast: `(VALUES ($1::text, $2::bigint), …)`. */
  values(casts: readonly string[], rows: readonly (readonly unknown[])[]): string {
    return `(VALUES ${rows.map((r) => `(${r.map((v, i) => this.param(v, casts[i])).join(', ')})`).join(', ')})`;
  }

  /** Adds a part: an INSERT, UPDATE or DELETE written with placeholders from {@link param}. */
  add(statement: string): this {
    this.parts.push(`w${this.parts.length} AS (${statement})`);
    return this;
  }

  /** Runs `fn` once the statement has run without error (what its parts' authors learn from that). */
  afterWrite(fn: () => void): this {
    this.written.push(fn);
    return this;
  }

  get empty(): boolean {
    return this.parts.length === 0;
  }

  /** Runs the parts; `select` (over the parts' RETURNING, named `w0`, `w1`, … in order) gives the answer. */
  async execute<R = Record<string, unknown>>(db: Db, select = 'SELECT 1'): Promise<R[]> {
    if (this.parts.length === 0) return [];
    // The parts a hot path writes come in few combinations: each combination is prepared once per connection.
    const text = prepared(`WITH ${this.parts.join(',\n')}\n${select}`);
    const { rows } = await db.executeQuery<R>(CompiledQuery.raw(text, this.params));
    for (const fn of this.written) fn();
    return rows;
  }

  /** The name a part will have: `w<index>`, for a select that reads its RETURNING. */
  nextName(): string {
    return `w${this.parts.length}`;
  }
}

/** A column's value, with the cast PostgreSQL needs to take it from a SELECT list (`bigint`, `jsonb`, …). */
export type ColumnValue = string | number | boolean | null | [value: unknown, cast: string];

/**
 * Adds `INSERT INTO table (…) SELECT …` of one row to `stmt`, written only when `when` (an SQL condition, e.g. over
 * an earlier part's RETURNING) holds; `tail` follows the SELECT (`ON CONFLICT …`, `RETURNING …`). A value without a
 * cast goes in as text (numbers as bigint); any other type, a NULL included, names its cast.
 */
export function insertRow(
  stmt: WriteStatement,
  table: string,
  row: Record<string, ColumnValue>,
  opts: { when?: string | undefined; tail?: string } = {},
): void {
  const columns = Object.keys(row);
  const values = columns.map((c) => {
    const v = row[c]!;
    return Array.isArray(v) ? stmt.param(v[0], v[1]) : stmt.param(v, typeof v === 'number' ? 'bigint' : 'text');
  });
  stmt.add(
    `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${values.join(', ')}${opts.when ? ` WHERE ${opts.when}` : ''}${
      opts.tail ? ` ${opts.tail}` : ''
    }`,
  );
}

/** Runs one statement of fixed text (no query builder on the hot path), prepared on the server. */
export async function query<R>(db: Db, text: string, params: readonly unknown[]): Promise<R[]> {
  return (await db.executeQuery<R>(CompiledQuery.raw(prepared(text), [...params]))).rows;
}
