import { createHash } from 'node:crypto';
import type { Store } from '../store/db';
import { problems } from './problems';
import type { Reply } from './routes';

/**
 * `Idempotency-Key` for mutating routes: the first request under a key runs and its answer is kept; a repeat with
 * the same body gets that answer again (marked `Idempotent-Replayed: true`); the same key with another body is a 409,
 * as is a repeat that arrives while the first is still running. A request that failed keeps no answer, so the
 * client's retry (same key) runs again — everything it calls is idempotent by business id (the payment's own keys
 * towards the provider), so running again cannot move money twice.
 */
export async function idempotent(
  store: Store,
  scope: { tenantId: string; route: string; key: string; body: unknown },
  run: () => Promise<Reply>,
): Promise<Reply> {
  const fingerprint = createHash('sha256')
    .update(JSON.stringify(canonical(scope.body ?? null)))
    .digest('hex');
  const inserted = await store.db
    .insertInto('idempotent_requests')
    .values({ tenant_id: scope.tenantId, route: scope.route, key: scope.key, fingerprint })
    .onConflict((oc) => oc.columns(['tenant_id', 'route', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  if (!inserted) {
    const prior = await store.db
      .selectFrom('idempotent_requests')
      .select(['fingerprint', 'status_code', 'response'])
      .where('tenant_id', '=', scope.tenantId)
      .where('route', '=', scope.route)
      .where('key', '=', scope.key)
      .executeTakeFirstOrThrow();
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
  const forget = () =>
    store.db
      .deleteFrom('idempotent_requests')
      .where('tenant_id', '=', scope.tenantId)
      .where('route', '=', scope.route)
      .where('key', '=', scope.key)
      .execute();
  let reply: Reply;
  try {
    reply = await run();
  } catch (err) {
    await forget();
    throw err;
  }
  await store.db
    .updateTable('idempotent_requests')
    .set({ status_code: reply.status, response: JSON.stringify(reply.json ?? null) })
    .where('tenant_id', '=', scope.tenantId)
    .where('route', '=', scope.route)
    .where('key', '=', scope.key)
    .execute();
  return reply;
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
