import { createHash } from 'node:crypto';
import { insertRow, type WriteStatement } from '../gateway/statement';
import type { Store } from '../store/db';
import { problems } from './problems';
import type { Reply } from './routes';

export interface IdempotencyScope {
  tenantId: string;
  route: string;
  key: string;
  body: unknown;
}

/**
 * `Idempotency-Key` for mutating routes: the first request under a key runs and its answer is kept; a repeat with
 * the same body gets that answer again (marked `Idempotent-Replayed: true`); the same key with another body is a 409,
 * as is a repeat that arrives while the first is still running. A request that failed keeps no answer, so the
 * client's retry (same key) runs again — everything it calls is idempotent by business id (the payment's own keys
 * towards the provider), so running again cannot move money twice.
 */
export async function idempotent(store: Store, scope: IdempotencyScope, run: () => Promise<Reply>): Promise<Reply> {
  const fingerprint = fingerprintOf(scope.body);
  const inserted = await store.db
    .insertInto('idempotent_requests')
    .values({ tenant_id: scope.tenantId, route: scope.route, key: scope.key, fingerprint })
    .onConflict((oc) => oc.columns(['tenant_id', 'route', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  if (!inserted) return answerOfPrior(store, scope, fingerprint, true);
  let reply: Reply;
  try {
    reply = await run();
  } catch (err) {
    await forget(store, scope);
    throw err;
  }
  await storeAnswer(store, scope, reply);
  return reply;
}

/**
 * The same contract as {@link idempotent} for a route that writes the key's record together with its own rows, in
 * the same statements (no round trips of its own): `run` claims the key in its first write
 * ({@link IdempotencyRecord.claimIn}) before anything with effects outside the store, and may store the answer in
 * its last ({@link IdempotencyRecord.answerIn}). What `run` reads before its first write must not matter to a
 * repeat: when it fails before claiming, a key used before answers instead (a repeat of a paid checkout finds no
 * open items, and still gets the first answer).
 */
export async function idempotentInline(
  store: Store,
  scope: IdempotencyScope,
  run: (record: IdempotencyRecord) => Promise<Reply>,
): Promise<Reply> {
  const record = new IdempotencyRecord(scope);
  let reply: Reply;
  try {
    reply = await run(record);
  } catch (err) {
    if (record.state === 'won') {
      await forget(store, scope);
      throw err;
    }
    const prior = await answerOfPrior(store, scope, record.fingerprint, false);
    if (prior) return prior;
    if (err instanceof KeyTaken) {
      // Claimed by another request that failed and let go of it since: this one may simply be sent again.
      throw problems.conflict('a request with this Idempotency-Key has just failed; retry', 'Idempotency-Key');
    }
    throw err;
  }
  if (record.state !== 'won') throw new Error(`route ${scope.route} answered without claiming its Idempotency-Key`);
  if (!record.answered) await storeAnswer(store, scope, reply);
  return reply;
}

/** A route's record of its `Idempotency-Key`, written in the route's own statements (see {@link idempotentInline}). */
export class IdempotencyRecord {
  readonly fingerprint: string;
  state: 'unclaimed' | 'won' | 'lost' = 'unclaimed';
  answered = false;
  private final: boolean | undefined;

  constructor(private readonly scope: IdempotencyScope) {
    this.fingerprint = fingerprintOf(scope.body);
  }

  /**
   * Adds the claim on the key to `stmt` and returns the SQL condition (over that part's RETURNING) that holds when
   * this request got it; the route's other parts must be conditional on it. With `reply`, the answer is stored at
   * once (the write is also the route's last).
   */
  claimIn(stmt: WriteStatement, reply?: Reply): string {
    const claim = stmt.nextName();
    insertRow(
      stmt,
      'idempotent_requests',
      {
        tenant_id: this.scope.tenantId,
        route: this.scope.route,
        key: this.scope.key,
        fingerprint: this.fingerprint,
        status_code: [reply ? reply.status : null, 'integer'],
        response: [reply ? JSON.stringify(reply.json ?? null) : null, 'jsonb'],
      },
      { tail: 'ON CONFLICT (tenant_id, route, key) DO NOTHING RETURNING key' },
    );
    this.final = reply !== undefined;
    return `EXISTS (SELECT 1 FROM ${claim})`;
  }

  /** The claiming write ran and `won` is its condition; when it did not hold, throws (the first request answers). */
  claimed(won: boolean): void {
    this.state = won ? 'won' : 'lost';
    if (!won) throw new KeyTaken();
    if (this.final) this.answered = true;
  }

  /** Adds the answer to `stmt`, a write after the claim's (stored once that statement has run). */
  answerIn(stmt: WriteStatement, reply: Reply): void {
    stmt.add(
      `UPDATE idempotent_requests SET status_code = ${stmt.param(reply.status, 'integer')},
         response = ${stmt.param(JSON.stringify(reply.json ?? null), 'jsonb')}
       WHERE tenant_id = ${stmt.param(this.scope.tenantId)} AND route = ${stmt.param(this.scope.route)}
         AND key = ${stmt.param(this.scope.key)}`,
    );
    stmt.afterWrite(() => {
      this.answered = true;
    });
  }
}

/** The key belongs to an earlier request (thrown out of the route's claiming write; never seen by a client). */
class KeyTaken extends Error {
  override readonly name = 'KeyTaken';
}

/**
 * The answer of the request that used this key first: its reply again, or a 409 (another body; still running).
 * Without `mustExist`, undefined when the key was never used.
 */
async function answerOfPrior(
  store: Store,
  scope: IdempotencyScope,
  fingerprint: string,
  mustExist: true,
): Promise<Reply>;
async function answerOfPrior(
  store: Store,
  scope: IdempotencyScope,
  fingerprint: string,
  mustExist: false,
): Promise<Reply | undefined>;
async function answerOfPrior(
  store: Store,
  scope: IdempotencyScope,
  fingerprint: string,
  mustExist: boolean,
): Promise<Reply | undefined> {
  const prior = await store.db
    .selectFrom('idempotent_requests')
    .select(['fingerprint', 'status_code', 'response'])
    .where('tenant_id', '=', scope.tenantId)
    .where('route', '=', scope.route)
    .where('key', '=', scope.key)
    .executeTakeFirst();
  if (!prior) {
    if (mustExist)
      throw problems.conflict('a request with this Idempotency-Key has just failed; retry', 'Idempotency-Key');
    return undefined;
  }
  if (prior.fingerprint !== fingerprint) {
    throw problems.conflict('this Idempotency-Key was used with a different request body', 'Idempotency-Key');
  }
  if (prior.status_code === null) {
    throw problems.conflict(
      'a request with this Idempotency-Key is still being processed; retry shortly',
      'Idempotency-Key',
    );
  }
  return {
    status: prior.status_code,
    json: prior.response,
    headers: { 'Idempotent-Replayed': 'true' },
  };
}

async function storeAnswer(store: Store, scope: IdempotencyScope, reply: Reply): Promise<void> {
  await store.db
    .updateTable('idempotent_requests')
    .set({ status_code: reply.status, response: JSON.stringify(reply.json ?? null) })
    .where('tenant_id', '=', scope.tenantId)
    .where('route', '=', scope.route)
    .where('key', '=', scope.key)
    .execute();
}

async function forget(store: Store, scope: IdempotencyScope): Promise<void> {
  await store.db
    .deleteFrom('idempotent_requests')
    .where('tenant_id', '=', scope.tenantId)
    .where('route', '=', scope.route)
    .where('key', '=', scope.key)
    .execute();
}

function fingerprintOf(body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(body ?? null)))
    .digest('hex');
}

/** JSON with sorted keys, so `{a,b}` and `{b,a}` are the same request. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
