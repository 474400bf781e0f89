import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCsvConnector } from '../../connectors/csv/connector';
import { loadCompiledMapping } from '../../src/sync/registry';
import type { SourceHarness } from '../conformance/source-connector.harness';
import { docNumber } from '../conformance/source-connector.harness';
import { HEADER } from '../helpers/tenant';

const row = (i: number, amount = '100.00') =>
  `C${100 + (i % 4)},Kunde ${i % 4},B2C,k${i % 4}@example.org,,de,DE,${docNumber(i)},SIM-${i % 4},2026-09-01,2026-10-01,EUR,${amount},${amount},0,`;

/** A CSV source: each seed is a file in the inbound folder; confirmations are the files in the outbound folder. */
export async function makeCsvHarness(): Promise<SourceHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'clearhub-csv-h-'));
  const inbound = join(dir, 'in');
  const outbound = join(dir, 'out');
  mkdirSync(inbound);
  mkdirSync(outbound);
  const files = new Map<string, string>(); // document number → file
  let tick = 0;
  return {
    connector: createCsvConnector({ inbound, outbound }, dir),
    map: loadCompiledMapping('mappings/csv-generic.v1.yaml'),
    async seed(from, n) {
      const file = join(inbound, `export-${String(from).padStart(6, '0')}.csv`);
      const docs: string[] = [];
      const lines = [HEADER];
      for (let i = from; i < from + n; i++) {
        lines.push(row(i));
        docs.push(docNumber(i));
        files.set(docNumber(i), file);
      }
      writeFileSync(file, `${lines.join('\n')}\n`);
      return docs;
    },
    async seedBroken() {
      const doc = docNumber(999_999);
      writeFileSync(join(inbound, 'zz-broken.csv'), `${HEADER}\n${row(999_999, '12,3,4')}\n`);
      return doc;
    },
    async touch(doc) {
      const file = files.get(doc)!;
      const text = readFileSync(file, 'utf8').split('\n');
      const i = text.findIndex((l) => l.includes(`,${doc},`));
      text[i] = text[i]!.replace(/,100\.00,100\.00,/, `,100.00,${(90 - ++tick).toFixed(2)},`);
      writeFileSync(file, text.join('\n'));
    },
    async writtenBack() {
      return readdirSync(outbound)
        .filter((f) => f.endsWith('.csv'))
        .map((f) => {
          const [header, line] = readFileSync(join(outbound, f), 'utf8').trim().split('\n');
          const cols = header!.split(',');
          const vals = line!.split(',');
          const get = (c: string) => vals[cols.indexOf(c)] ?? '';
          const amount = get('amount');
          return {
            documentNumber: get('document_no'),
            kind: get('kind') as 'payment',
            ...(amount ? { amountMinor: Math.round(Number(amount) * 100) } : {}),
          };
        });
    },
    async close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
