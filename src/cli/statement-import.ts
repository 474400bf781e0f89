import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { type ImportSummary, importStatements } from '../cash/import';
import { readStatements } from '../cash/read';
import { IntegrationError } from '../domain/errors';
import { formatMinor } from '../domain/money';
import { withRuntime } from './context';

/** `clearhub statement import <file> [--tenant id] [--json]`: a subcommand of the `statement` group. */
export function registerStatementImport(statement: Command): void {
  statement
    .command('import <file>')
    .description(
      'import a camt.052/053/054 or MT940 file: book and allocate what matches, put the rest in the worklist, reverse returns',
    )
    .option('--tenant <id>')
    .option('--json', 'print the summary as one JSON object')
    .action(async (file: string, o: { tenant?: string; json?: boolean }, cmd: Command) => {
      let buf: Buffer;
      try {
        buf = readFileSync(file);
      } catch (err) {
        throw new IntegrationError(`cannot read ${file}: ${(err as Error).message}`, 'file');
      }
      // A file that cannot be read is refused before anything is opened or written.
      const { format, statements } = readStatements(buf, file);
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        await rt.registerTenant(cfg);
        const summary = await importStatements(rt.store, {
          tenantId: cfg.tenant.id,
          statements,
          format,
          fileName: basename(file),
        });
        if (o.json) console.log(JSON.stringify(summary));
        else printSummary(summary);
      });
    });
}

export function printSummary(s: ImportSummary, out: (line: string) => void = console.log): void {
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  out(
    `${s.file ?? 'statement'} (${s.format}): ${n(s.statements, 'statement', 'statements')}, ${n(s.entries, 'entry', 'entries')}${
      s.alreadyImported ? `, ${s.alreadyImported} imported before` : ''
    }`,
  );
  const rows: [string, number][] = [
    ['credits', s.credits],
    ['auto-allocated', s.autoAllocated],
    ['suggested', s.suggested],
    ['unmatched', s.unmatched],
    ['collections', s.collections],
    ['returns', s.returns],
    ['returns unmatched', s.returnsUnmatched],
    ['ignored', s.ignored],
  ];
  for (const [label, value] of rows) out(`  ${label.padEnd(18)} ${value}`);
  for (const t of s.totals) {
    out(
      `  ${t.currency}: received ${formatMinor(t.receivedMinor, t.currency)}, allocated ${formatMinor(
        t.allocatedMinor,
        t.currency,
      )}, in the worklist ${formatMinor(t.worklistMinor, t.currency)}`,
    );
  }
  for (const w of s.warnings) out(`  warning: ${w}`);
  if (s.suggested + s.unmatched + s.returnsUnmatched > 0) {
    out('  the worklist waits: GET /v1/statements/worklist, allocate with POST /v1/statements/entries/{id}/allocate');
  }
}
