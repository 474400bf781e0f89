/**
 * Dunning for a tenant: which strategy it runs (its strategy file, or the inline levels of its tenant file), the
 * record of every strategy version a run used, and the operations the CLI and the API call. Thin: it resolves the
 * strategy and hands over to run.ts and proposal.ts.
 */
import { repoRoot } from '../config/load';
import type { TenantConfig } from '../config/schema';
import type { Store } from '../store/db';
import { approveProposal } from './proposal';
import { registeredStrategy, registerStrategy, strategyOfRun } from './registry';
import { type DunningRunResult, runDunning } from './run';
import { type CompiledStrategy, type DunningStrategy, fromInlineLevels } from './strategy';
import { loadStrategyFile } from './strategy-file';

export { registeredStrategy, registerStrategy, strategyOfRun } from './registry';

import type { ResolvedStrategy } from './registry';

export type { ResolvedStrategy } from './registry';

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
