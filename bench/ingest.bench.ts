/**
 * ingest: 1,000,000 CSV rows read, mapped and upserted into PostgreSQL through the same path as `clearhub sync`,
 * against a raw COPY of the same rows (already mapped) into the same table, measured in the same run.
 * Target: at least 0.5 of COPY's rate.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { writeSubledgerCsv } from '../src/cli/demo-data';
import { newId } from '../src/domain/ids';
import { csvField, openStore } from '../src/store/db';
import { NEW_ITEM_COLS } from '../src/store/ingest';
import { createSourceConnector, loadCompiledMapping } from '../src/sync/registry';
import { syncSource } from '../src/sync/sync';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const TARGET = 0.5;
const BASE = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function main() {
  const dbName = `clearhub_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = BASE.replace(/\/[^/]*$/, `/${dbName}`);
  const dir = mkdtempSync(join(tmpdir(), 'clearhub-bench-'));
  const store = await openStore(url);
  try {
    await store.migrate();
    const inbound = join(dir, 'in');
    const outbound = join(dir, 'out');
    require('node:fs').mkdirSync(inbound);
    require('node:fs').mkdirSync(outbound);
    const t0 = Date.now();
    await writeSubledgerCsv(join(inbound, 'export.csv'), {
      items: ROWS,
      debtors: Math.ceil(ROWS / 5),
      seed: 7,
      asOf: '2026-11-23',
    });
    console.log(`generated ${ROWS} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const connector = createSourceConnector(
      {
        name: 'billing',
        kind: 'csv',
        mapping: 'mappings/csv-generic.v1.yaml',
        options: { inbound, outbound, batchSize: 50_000 },
        debtorMatch: 'externalId',
      },
      dir,
    );
    const map = loadCompiledMapping('mappings/csv-generic.v1.yaml');

    // Baseline: the same rows, mapped beforehand (not timed), COPY'd straight into the items table.
    let copyText: string[] = [];
    let buf = '';
    for await (const batch of connector.pull({ signal: new AbortController().signal })) {
      for (const r of batch.records) {
        const m = map(r.record, { line: r.line });
        if (!m.ok) continue;
        const i = m.item;
        buf += `bench,${newId()},billing,${csvField(i.sourceKey)},D${csvField(i.externalId)},${csvField(i.externalId)},${csvField(i.documentNumber)},${csvField(i.contractRef)},${i.currency},${i.amountMinor},${i.openMinor},${i.openMinor},${i.documentDate ?? ''},${i.dueDate},${i.dunningLevel},${i.dunningLevel}\n`;
        if (buf.length > 1 << 20) {
          copyText.push(buf);
          buf = '';
        }
      }
    }
    copyText.push(buf);
    // The columns of the direct COPY path in ingest, less `dunning_block` and `status` (defaults).
    const cols = NEW_ITEM_COLS.slice(0, -2);
    const c0 = process.hrtime.bigint();
    await store.rawTransaction((s) => s.copyIn('items', cols, copyText));
    const copySeconds = Number(process.hrtime.bigint() - c0) / 1e9;
    copyText = [];
    const copyRate = ROWS / copySeconds;
    console.log(`baseline  raw COPY into items: ${copySeconds.toFixed(2)} s, ${Math.round(copyRate)} rows/s`);
    await admin.query('SELECT 1');
    await store.rawTransaction((s) => s.query('TRUNCATE items CASCADE'));
    await store.rawTransaction((s) => s.query('VACUUM ANALYZE items').catch(() => undefined)).catch(() => undefined);

    const s0 = process.hrtime.bigint();
    const res = await syncSource(store, {
      tenantId: 'bench',
      source: 'billing',
      debtorMatch: 'externalId',
      batches: connector.pull({ signal: new AbortController().signal }),
      map,
    });
    const syncSeconds = Number(process.hrtime.bigint() - s0) / 1e9;
    const rate = res.inserted / syncSeconds;
    console.log(
      `clearhub  read + map + upsert:  ${syncSeconds.toFixed(2)} s, ${Math.round(rate)} items/s (${res.inserted} inserted, ${res.debtorsCreated} debtors, ${res.quarantined} quarantined)`,
    );

    const r0 = process.hrtime.bigint();
    const again = await syncSource(store, {
      tenantId: 'bench',
      source: 'billing',
      debtorMatch: 'externalId',
      batches: connector.pull({ signal: new AbortController().signal }),
      map,
    });
    const reSeconds = Number(process.hrtime.bigint() - r0) / 1e9;
    console.log(
      `clearhub  unchanged re-import:  ${reSeconds.toFixed(2)} s, ${again.unchanged} unchanged, ${again.inserted + again.updated} changed`,
    );

    const ratio = rate / copyRate;
    console.log(
      JSON.stringify({
        bench: 'ingest',
        metric: 'items_per_s',
        value: Math.round(rate),
        baseline: Math.round(copyRate),
        ratio: Math.round(ratio * 1000) / 1000,
        target: TARGET,
        meets: ratio >= TARGET,
      }),
    );
  } finally {
    await store.close();
    if (process.env.BENCH_KEEP) console.log(`kept database ${dbName}`);
    else await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
