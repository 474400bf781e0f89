/**
 * Dunning for a tenant: which strategy it runs (its strategy file, or the inline levels of its tenant file), the
 * record of every strategy version a run used, and the operations the CLI and the API call. Thin: it resolves the
 * strategy and hands over to run.ts and proposal.ts.
 */
import { createHash } from 'node:crypto';
import { repoRoot } from '../config/load';
import type { TenantConfig } from '../config/schema';
import { IntegrationError } from '../domain/errors';
import type { Store } from '../store/db';
import { approveProposal } from './proposal';
import { type DunningRunResult, runDunning } from './run';
import { type CompiledStrategy, type DunningStrategy, fromInlineLevels } from './strategy';
import { loadStrategyFile, parseStrategy } from './strategy-file';

export interface ResolvedStrategy {
  strategy: CompiledStrategy;
  /** The strategy's text as it was run (YAML, or the inline levels as JSON), kept per version. */
  body: string;
  origin: string;
  currency: string;
  timezone: string;
}

const INLINE = 'tenant:';

/** The strategy a tenant runs: `dunning.strategyFile` when set, else the inline levels. */
export function strategyForTenant(cfg: TenantConfig, home?: string): ResolvedStrategy {
  const currency = cfg.tenant.currency;
  const timezone = cfg.tenant.timezone;
  const ref = cfg.dunning.strategyFile;
  if (ref) {
    const { text, strategy } = loadStrategyFile(ref, {
      currency,
      timezone,
      packageRoot: repoRoot(),
      ...(home ? { home } : {}),
    });
    return { strategy, body: text, origin: ref, currency, timezone };
  }
  const inline: DunningStrategy = {
    name: cfg.dunning.strategy.name,
    version: cfg.dunning.strategy.version,
    levels: cfg.dunning.strategy.levels,
    minTotalMinor: cfg.dunning.minTotalMinor ?? 0,
  };
  const origin = `${INLINE}${cfg.tenant.id}`;
  return {
    strategy: fromInlineLevels(inline, { timezone, currency, origin }),
    body: JSON.stringify(inline),
    origin,
    currency,
    timezone,
  };
}

/** Sources that asked for the dunning level to be written back. */
export function levelWriteBackSources(cfg: TenantConfig): Set<string> {
  return new Set(cfg.sources.filter((s) => s.writeBackDunningLevel && !s.disabled).map((s) => s.name));
}

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

/** Runs or proposes a date with the tenant's strategy, recording the strategy version first. */
export async function runForTenant(
  store: Store,
  cfg: TenantConfig,
  o: { asOf: string; proposal: boolean; home?: string; onProgress?: (n: number) => void },
): Promise<DunningRunResult> {
  const resolved = strategyForTenant(cfg, o.home);
  const sources = levelWriteBackSources(cfg);
  await registerStrategy(store, cfg.tenant.id, resolved, sources);
  return runDunning(store, {
    tenantId: cfg.tenant.id,
    strategy: resolved.strategy,
    asOf: o.asOf,
    levelWriteBackSources: sources,
    mode: o.proposal ? 'proposal' : 'execute',
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
}

/** Approves a proposal with the strategy version and the write-back sources it was made with. */
export async function approveRun(store: Store, tenantId: string, runId: string): Promise<DunningRunResult> {
  const strategy = await strategyOfRun(store, tenantId, runId);
  const run = await store.db
    .selectFrom('dunning_runs')
    .select('write_back_sources')
    .where('tenant_id', '=', tenantId)
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  return approveProposal(store, {
    tenantId,
    runId,
    strategy,
    levelWriteBackSources: new Set(run.write_back_sources),
  });
}

/** Runs or proposes a date with the strategy on record (the API's way: it has no tenant file at hand). */
export async function runRegistered(
  store: Store,
  tenantId: string,
  o: { asOf: string; proposal: boolean },
): Promise<DunningRunResult> {
  const strategy = await registeredStrategy(store, tenantId);
  const row = await store.db
    .selectFrom('dunning_strategies')
    .select('write_back_sources')
    .where('tenant_id', '=', tenantId)
    .where('name', '=', strategy.name)
    .where('version', '=', strategy.version)
    .executeTakeFirstOrThrow();
  return runDunning(store, {
    tenantId,
    strategy,
    asOf: o.asOf,
    levelWriteBackSources: new Set(row.write_back_sources),
    mode: o.proposal ? 'proposal' : 'execute',
  });
}

/** Level names by level number (the first segment that has the level names it), for templates and listings. */
export function levelNames(strategy: CompiledStrategy): Map<number, string> {
  const out = new Map<number, string>();
  for (const s of strategy.segments) for (const l of s.levels) if (!out.has(l.level)) out.set(l.level, l.name);
  return out;
}
