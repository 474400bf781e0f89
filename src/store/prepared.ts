/**
 * Server-side prepared statements for the few statements a hot path sends again and again: a text registered with
 * {@link prepared} goes to PostgreSQL as a named statement, which each connection parses once (for a checkout,
 * parsing was about a quarter of PostgreSQL's time). PostgreSQL still plans a run for its values where a generic plan
 * looks dearer, as it does for lists passed as arrays. Everything else is sent unnamed, as before. Registration is by
 * exact text and capped, so texts built from data cannot fill the server's memory. PGlite runs in-process and
 * ignores this. Behind a pooler that does not keep prepared statements (PgBouncer in transaction mode before 1.21),
 * set `DATABASE_PREPARED_STATEMENTS=0`: every statement is then sent unnamed.
 */
import type pg from 'pg';

const names = new Map<string, string>();

/** How many distinct texts may be prepared (each is kept by every pooled connection that runs it). */
const MAX_PREPARED = 64;

/** Registers `text` as worth preparing (while there is room) and returns it unchanged. */
export function prepared(text: string): string {
  if (!names.has(text) && names.size < MAX_PREPARED) names.set(text, `clearhub_${names.size + 1}`);
  return text;
}

type QueryFn = (this: pg.ClientBase, ...args: unknown[]) => unknown;

/**
 * Makes a pooled pg client send registered texts as named statements (for the pool's `connect` event). The client's
 * own `query` is looked up on each call, so whatever wraps the class's method still sees every statement.
 */
export function preparingClient(client: pg.ClientBase): void {
  if (process.env.DATABASE_PREPARED_STATEMENTS === '0') return;
  const proto = Object.getPrototypeOf(client) as { query: QueryFn };
  (client as unknown as { query: QueryFn }).query = function (this: pg.ClientBase, ...args: unknown[]) {
    const [text, values, callback] = args;
    const name = typeof text === 'string' && callback === undefined ? names.get(text) : undefined;
    return name ? proto.query.call(this, { name, text, values }) : proto.query.apply(this, args);
  };
}
