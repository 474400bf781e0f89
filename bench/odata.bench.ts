/**
 * odata: 200,000 open items pulled from the simulated SAP Gateway (server pages of 5,000 rows with `__next` links,
 * customers joined from API_BUSINESS_PARTNER), mapped and upserted into PostgreSQL through the same path as
 * `clearhub sync` — against a bare HTTP loop fetching the same item pages and the same customer lookups (no
 * mapping, no store), measured in the same run. Target: at least 0.7 of the bare loop's rate.
 *
 * The Gateway layer computes the pages itself (`generated`): SAP's mock server deep-clones its whole data set on
 * every request, so at 200,000 rows it would measure the mock, not the connector. It runs in a worker thread, as a
 * real SAP system runs elsewhere: in the bench's own event loop its page building would stall the sync under test.
 */
import { randomBytes } from 'node:crypto';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pg from 'pg';
import { createSapOdataConnector } from '../connectors/sap-odata/connector';
import { openStore } from '../src/store/db';
import { loadCompiledMapping } from '../src/sync/registry';
import { recordsPerTransaction, syncSource } from '../src/sync/sync';
import { startSapGateway } from '../test/simulators/sap-gateway/gateway';

const ITEMS = Number(process.env.BENCH_ROWS ?? 200_000);
const CUSTOMERS = Math.ceil(ITEMS / 5);
const SERVER_PAGE = 5000;
const TARGET = 0.7;
const BASE = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const USER = { user: 'CLEARHUB', password: 'initial-Pw1' };

/** Worker side: start the simulated Gateway, report its URL, stop on request. */
async function serveGateway() {
  const gw = await startSapGateway({
    users: [USER],
    pageSize: SERVER_PAGE,
    generated: { items: ITEMS, customers: CUSTOMERS, companyCode: '1010' },
  });
  parentPort!.postMessage(gw.url);
  parentPort!.once('message', () => {
    gw.close().then(() => process.exit(0));
  });
}

async function startGatewayThread(): Promise<{ url: string; close(): Promise<void> }> {
  const worker = new Worker(__filename, { workerData: { gateway: true } });
  const url = await new Promise<string>((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
  });
  return {
    url,
    close: () =>
      new Promise<void>((res) => {
        worker.once('exit', () => res());
        worker.postMessage('stop');
      }),
  };
}

async function main() {
  const gw = await startGatewayThread();
  const dbName = `clearhub_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const store = await openStore(BASE.replace(/\/[^/]*$/, `/${dbName}`));
  const options = {
    baseUrl: gw.url,
    companyCodes: ['1010'],
    auth: { type: 'basic', ...USER },
    pageSize: SERVER_PAGE,
    customerBatchSize: 100,
  };
  try {
    await store.migrate();

    // Baseline: the same requests with a bare fetch loop — item pages by $top/$skip following __next, and the
    // customers of each page in the same chunks — parsed as JSON, nothing else.
    const auth = `Basic ${Buffer.from(`${USER.user}:${USER.password}`).toString('base64')}`;
    const get = async (url: string) => {
      const r = await fetch(url, { headers: { Authorization: auth, Accept: 'application/json' } });
      if (r.status !== 200) throw new Error(`baseline: HTTP ${r.status}`);
      return (await r.json()) as { d: { results: Record<string, unknown>[]; __next?: string } };
    };
    const b0 = process.hrtime.bigint();
    let baselineRows = 0;
    const seen = new Set<string>();
    const root = `${gw.url}/sap/opu/odata/sap/API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube`;
    for (let skip = 0; ; skip += SERVER_PAGE) {
      let url: string | undefined =
        `${root}?$filter=${encodeURIComponent("CompanyCode eq '1010' and FinancialAccountType eq 'D' and IsCleared eq false")}&$orderby=CompanyCode,FiscalYear,AccountingDocument,AccountingDocumentItem&$top=${SERVER_PAGE}&$skip=${skip}&$inlinecount=allpages&$format=json`;
      let got = 0;
      while (url) {
        const page = await get(url);
        got += page.d.results.length;
        const ids = [...new Set(page.d.results.map((r) => String(r.Customer)))].filter((c) => !seen.has(c));
        const chunks: string[][] = [];
        for (let i = 0; i < ids.length; i += 100) chunks.push(ids.slice(i, i + 100));
        const work = async () => {
          for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
            for (const c of chunk) seen.add(c);
            const f = chunk.map((c) => `BusinessPartner eq '${c}'`).join(' or ');
            await get(
              `${gw.url}/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner?$filter=${encodeURIComponent(f)}&$expand=to_BusinessPartnerAddress/to_EmailAddress,to_BusinessPartnerAddress/to_PhoneNumber&$format=json`,
            );
          }
        };
        await Promise.all([work(), work(), work(), work()]);
        url = page.d.__next;
      }
      baselineRows += got;
      if (got < SERVER_PAGE) break;
    }
    const baseSeconds = Number(process.hrtime.bigint() - b0) / 1e9;
    const baseRate = baselineRows / baseSeconds;
    console.log(
      `baseline  bare fetch loop (items + customers): ${baseSeconds.toFixed(2)} s, ${Math.round(baseRate)} items/s (${baselineRows} items, ${seen.size} customers)`,
    );

    const connector = createSapOdataConnector(options);
    const map = loadCompiledMapping('mappings/sap-fi-ar-odata.v1.yaml');
    const p0 = process.hrtime.bigint();
    let pulled = 0;
    for await (const b of connector.pull({ signal: new AbortController().signal })) pulled += b.records.length;
    const pullSeconds = Number(process.hrtime.bigint() - p0) / 1e9;
    console.log(
      `connector pull only (no map, no store):       ${pullSeconds.toFixed(2)} s, ${Math.round(pulled / pullSeconds)} items/s`,
    );

    const s0 = process.hrtime.bigint();
    const res = await syncSource(store, {
      tenantId: 'bench',
      source: 's4',
      debtorMatch: 'externalId',
      batches: createSapOdataConnector(options).pull({ signal: new AbortController().signal }),
      map,
      minRecordsPerTransaction: recordsPerTransaction({ kind: 'sap-odata' }), // as `clearhub sync` does
    });
    const syncSeconds = Number(process.hrtime.bigint() - s0) / 1e9;
    const rate = res.inserted / syncSeconds;
    console.log(
      `clearhub  pull + map + upsert (PostgreSQL):  ${syncSeconds.toFixed(2)} s, ${Math.round(rate)} items/s (${res.inserted} inserted, ${res.debtorsCreated} debtors, ${res.quarantined} quarantined)`,
    );
    if (res.inserted !== ITEMS) throw new Error(`expected ${ITEMS} items, stored ${res.inserted}`);

    const ratio = rate / baseRate;
    console.log(
      JSON.stringify({
        bench: 'odata',
        metric: 'items_per_s',
        value: Math.round(rate),
        baseline: Math.round(baseRate),
        ratio: Math.round(ratio * 1000) / 1000,
        target: TARGET,
        meets: ratio >= TARGET,
      }),
    );
  } finally {
    await store.close();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    await gw.close();
  }
}

if (!isMainThread && (workerData as { gateway?: boolean })?.gateway) {
  serveGateway().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
