import type { Command } from 'commander';
import { DIFFERENCE_KINDS, type DifferenceKind, fixDifferences, reconcile } from '../cash/reconcile';
import { IntegrationError } from '../domain/errors';
import { formatMinor } from '../domain/money';
import { withRuntime } from './context';
import { printTable } from './table';

/** Differences a person must look at (credit and the worklist are money waiting, not an error). */
const PROBLEMS: ReadonlySet<DifferenceKind> = new Set([
  'writeback_dead',
  'writeback_stuck',
  'open_in_source',
  'closed_but_dunned',
]);

/** `clearhub reconcile [--tenant id] [--fix] [--json]`. Exits 1 while problems remain. */
export function registerReconcile(program: Command): void {
  program
    .command('reconcile')
    .description(
      'differences between what was paid and what the sources cleared (write-backs dead or stuck, items still open in the source, paid items still dunned, unapplied money); --fix re-sends the write-backs that can be re-sent',
    )
    .option('--tenant <id>')
    .option('--fix', 'replay dead payment and reversal write-backs (a worker delivers them)')
    .option('--stale-hours <n>', 'a write-back waiting longer than this is stuck', '24')
    .option('--grace-days <n>', 'days a source may take to book a payment it was sent', '2')
    .option('--json', 'print the report as one JSON object')
    .action(
      async (
        o: { tenant?: string; fix?: boolean; staleHours: string; graceDays: string; json?: boolean },
        cmd: Command,
      ) => {
        const staleHours = Number(o.staleHours);
        const graceDays = Number(o.graceDays);
        if (!(staleHours > 0))
          throw new IntegrationError(`"${o.staleHours}" is not a positive number of hours`, '--stale-hours');
        if (!(graceDays >= 0)) throw new IntegrationError(`"${o.graceDays}" is not a number of days`, '--grace-days');
        await withRuntime(cmd, async (rt) => {
          const tenantId = rt.tenant(o.tenant).tenant.id;
          let report = await reconcile(rt.store, { tenantId, staleHours, graceDays });
          let replayed: string[] = [];
          if (o.fix) {
            replayed = await fixDifferences(rt.store, report);
            report = await reconcile(rt.store, { tenantId, staleHours, graceDays });
          }
          // What was just replayed is on its way (it shows as waiting until a worker has sent it).
          const sent = new Set(replayed);
          const remaining = report.differences.filter(
            (d) => PROBLEMS.has(d.kind) && !sent.has(d.outboxId ?? ''),
          ).length;
          if (remaining > 0) process.exitCode = 1;
          if (o.json) return console.log(JSON.stringify({ ...report, replayed }));
          for (const t of report.totals) {
            const f = (m: number) => formatMinor(m, t.currency);
            console.log(
              `${t.currency}: paid ${f(t.paidMinor)}, allocated ${f(t.allocatedMinor)}, unapplied ${f(t.unappliedMinor)}, in the worklist ${f(t.worklistMinor)}`,
            );
          }
          console.log(DIFFERENCE_KINDS.map((k) => `${k} ${report.counts[k]}`).join(', '));
          if (report.differences.length > 0) {
            printTable(
              report.differences.map((d) => ({
                kind: d.kind,
                document: d.documentNumber ?? '',
                source: d.source ?? '',
                amount: d.currency ? `${formatMinor(d.amountMinor, d.currency)} ${d.currency}` : '',
                fixable: d.fixable ? 'yes' : '',
                detail: d.detail,
              })),
              ['kind', 'document', 'source', 'amount', 'fixable', 'detail'],
            );
          }
          if (o.fix)
            console.log(
              `replayed ${replayed.length} write-back${replayed.length === 1 ? '' : 's'}; a worker delivers them`,
            );
          else if (report.differences.some((d) => d.fixable))
            console.log('run with --fix to re-send the dead write-backs');
        });
      },
    );
}
