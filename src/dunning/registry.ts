/**
 * The strategies each tenant ran: every version's text as it was run, so a notice's `strategy_version` names exactly one
 * text, and the API and `Runtime.dunningRun` run the one on record.
 */
import { createHash } from 'node:crypto';
import { IntegrationError } from '../domain/errors';
import type { Store } from '../store/db';
import { type CompiledStrategy, type DunningStrategy, fromInlineLevels } from './strategy';
import { parseStrategy } from './strategy-file';

export interface ResolvedStrategy {
  strategy: CompiledStrategy;
  /** The strategy's text as it was run (YAML, or the inline levels as JSON), kept per version. */
  body: string;
  origin: string;
  currency: string;
  timezone: string;
}

const INLINE = 'tenant:';

const checksum = (body: string) => createHash('sha256').update(body).digest('hex');

/**
 * Records the strategy version a tenant runs. The same name and version with another text is refused: a change to a
 * strategy is a new version (STYLE), so every notice's `strategy_version` names exactly one text.
 */
export async function registerStrategy(
  store: Store,
  tenantId: string,
  r: ResolvedStrategy,
  writeBackSources: ReadonlySet<string> = new Set(),
): Promise<void> {
  const sum = checksum(r.body);
  const sources = JSON.stringify([...writeBackSources].sort());
  await store.db
    .insertInto('dunning_strategies')
    .values({
      tenant_id: tenantId,
      name: r.strategy.name,
      version: r.strategy.version,
      origin: r.origin,
      currency: r.currency,
      timezone: r.timezone,
      write_back_sources: sources,
      body: r.body,
      checksum: sum,
    })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'name', 'version'])
        .doUpdateSet({ write_back_sources: sources, registered_at: new Date().toISOString() })
        .where('dunning_strategies.checksum', '=', sum),
    )
    .execute();
  const row = await store.db
    .selectFrom('dunning_strategies')
    .select(['checksum', 'origin'])
    .where('tenant_id', '=', tenantId)
    .where('name', '=', r.strategy.name)
    .where('version', '=', r.strategy.version)
    .executeTakeFirstOrThrow();
  if (row.checksum !== sum) {
    throw new IntegrationError(
      `strategy ${r.strategy.name} version ${r.strategy.version} was run before with another text (${row.origin}); a change to a strategy needs a new version`,
      'version',
    );
  }
}

const compiled = new Map<string, CompiledStrategy>();

/**
 * A strategy version recorded for the tenant (the one named, or the one recorded last), compiled. The API runs
 * with this: the CLI records the tenant's strategy when it runs it or with `clearhub dunning strategy register`.
 */
export async function registeredStrategy(
  store: Store,
  tenantId: string,
  which?: { name: string; version: number },
): Promise<CompiledStrategy> {
  let q = store.db.selectFrom('dunning_strategies').selectAll().where('tenant_id', '=', tenantId);
  if (which) q = q.where('name', '=', which.name).where('version', '=', which.version);
  const row = await q.orderBy('registered_at', 'desc').orderBy('version', 'desc').limit(1).executeTakeFirst();
  if (!row) {
    throw new IntegrationError(
      which
        ? `tenant ${tenantId} has no strategy ${which.name} v${which.version} on record`
        : `tenant ${tenantId} has no strategy on record; run \`clearhub dunning strategy register --tenant ${tenantId}\``,
      'strategy',
    );
  }
  const key = `${tenantId}|${row.name}|${row.version}|${row.checksum}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  const strategy = row.origin.startsWith(INLINE)
    ? fromInlineLevels(JSON.parse(row.body) as DunningStrategy, {
        timezone: row.timezone,
        currency: row.currency,
        origin: row.origin,
      })
    : parseStrategy(row.origin, row.body, { currency: row.currency, timezone: row.timezone });
  compiled.set(key, strategy);
  return strategy;
}

/** The strategy a run was made with. */
export async function strategyOfRun(store: Store, tenantId: string, runId: string): Promise<CompiledStrategy> {
  const run = await store.db
    .selectFrom('dunning_runs')
    .select(['strategy', 'strategy_version'])
    .where('tenant_id', '=', tenantId)
    .where('run_id', '=', runId)
    .executeTakeFirst();
  if (!run) throw new IntegrationError(`no run ${runId}`, 'run', { notFound: true });
  return registeredStrategy(store, tenantId, { name: run.strategy, version: run.strategy_version });
}
