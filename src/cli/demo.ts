import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { parseDocument } from 'yaml';
import { createApiKey } from '../api/api-keys';
import { createApp } from '../api/app';
import { createLogger } from '../api/logger';
import { startSmtpSink } from '../channels/smtp-sink';
import { initTenant } from '../config/init';
import { formatMinor } from '../domain/money';
import { recordPayment } from '../gateway/payments';
import { countOutbox } from '../routing/outbox';
import { relayAll, startWriteBackWorker } from '../routing/relay';
import { Runtime } from '../runtime';
import { rng, writeSubledgerCsv } from './demo-data';

export interface DemoOptions {
  items: number;
  debtors: number;
  dir?: string;
  seed: number;
  json: boolean;
  /** Share of dunned debtors who pay after their notice. */
  payingShare?: number;
}

export interface DemoSummary {
  dir: string;
  tenant: string;
  items: number;
  debtors: number;
  quarantined: number;
  notices: number;
  emailsSent: number;
  payments: number;
  paidMinor: number;
  itemsClosed: number;
  writeBacksDelivered: number;
  deadLetters: number;
  seconds: number;
}

const TENANT = 'demo-telco';

/**
 * The whole loop on the embedded defaults, in one process: PGlite, the in-process queue, a local SMTP sink.
 * It creates a golden tenant, writes a CSV subledger, syncs it, runs dunning, records payments through the HTTP API,
 * delivers the write-backs into the CSV source's outbound folder, and says where to look.
 */
export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const started = Date.now();
  const dir = resolve(o.dir ?? join('.clearhub', `demo-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`));
  mkdirSync(dir, { recursive: true });
  const say = (s: string) => {
    if (!o.json) console.log(s);
  };
  const asOf = new Date().toISOString().slice(0, 10);

  const mailDir = join(dir, 'mail');
  mkdirSync(mailDir, { recursive: true });
  const sink = await startSmtpSink({ dir: mailDir });

  const tenantFile = initTenant({
    profile: 'telco-de',
    tenant: TENANT,
    name: 'Demo Telco GmbH',
    country: 'DE',
    currency: 'EUR',
    home: dir,
    force: true,
  });
  // Point the tenant's e-mail channel at the local sink.
  const doc = parseDocument(readFileSync(tenantFile, 'utf8'));
  doc.setIn(['channels', 'email', 'smtp', 'host'], sink.host);
  doc.setIn(['channels', 'email', 'smtp', 'port'], sink.port);
  doc.setIn(['channels', 'email', 'smtp', 'secure'], false);
  doc.deleteIn(['channels', 'email', 'smtp', 'user']);
  doc.deleteIn(['channels', 'email', 'smtp', 'password']);
  writeFileSync(tenantFile, doc.toString());
  say(`tenant ${TENANT} created from profile telco-de → ${relative(process.cwd(), tenantFile)}`);

  // The same database the CLI opens for this home, so `clearhub --home <dir> …` shows what the demo did.
  const rt = await Runtime.open({ home: dir });
  try {
    const cfg = rt.tenant(TENANT);
    await rt.registerTenant(cfg, 'telco-de');
    const csvSource = cfg.sources.find((s) => s.kind === 'csv' && !s.disabled);
    if (!csvSource) throw new Error('the telco-de profile has no active CSV source');
    const inbound = resolve(dir, String((csvSource.options as { inbound: string }).inbound));
    const outbound = resolve(dir, String((csvSource.options as { outbound: string }).outbound));
    mkdirSync(inbound, { recursive: true });
    const malformed = Math.max(4, Math.round(o.items / 2500));
    await writeSubledgerCsv(join(inbound, 'billing-export-001.csv'), {
      items: o.items,
      debtors: o.debtors,
      seed: o.seed,
      asOf,
      malformed,
    });
    say(
      `subledger: ${o.items} items of ${o.debtors} customers (${malformed} rows with deliberate mistakes) → ${relative(process.cwd(), inbound)}`,
    );

    const syncBar = bar(o.json, 'sync    ', o.items);
    const synced = await rt.sync(TENANT, undefined, (_s, n) => syncBar?.update(n));
    syncBar?.stop();
    const s = synced[csvSource.name]!;
    say(
      `sync: ${s.inserted} items imported, ${s.debtorsCreated} debtors, ${s.quarantined} records quarantined (clearhub quarantine list)`,
    );

    const dunBar = bar(o.json, 'dunning ', o.debtors);
    const run = await rt.dunningRun({
      tenantId: TENANT,
      asOf,
      send: true,
      onProgress: (phase, n) => phase === 'send' && dunBar?.update(n),
    });
    dunBar?.stop();
    say(
      `dunning run ${run.created.runId}: ${run.created.noticesCreated} notices (${Object.entries(run.created.byLevel)
        .map(([l, n]) => `level ${l}: ${n}`)
        .join(', ')}), ${run.sent?.sent ?? 0} e-mails sent → ${relative(process.cwd(), mailDir)}`,
    );

    // Some debtors pay at the shop counter: POST /v1/payments through the real HTTP API with a tenant API key.
    const logger = createLogger({ level: 'warn', json: true });
    const app = createApp({
      store: rt.store,
      services: { recordPayment: (input) => recordPayment(rt.store, input) },
      logger,
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const key = await createApiKey(rt.store, TENANT, 'demo');
    const payers = await pickPayers(rt, o.seed, o.payingShare ?? 0.3);
    let payments = 0;
    let paidMinor = 0;
    let itemsClosed = 0;
    const payBar = bar(o.json, 'payments', payers.length);
    for (const p of payers) {
      const res = await fetch(`${base}/v1/payments`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key.token}`,
          'content-type': 'application/json',
          'idempotency-key': `demo-${p.debtorId}`,
        },
        body: JSON.stringify({
          debtorId: p.debtorId,
          amount: { value: formatMinor(p.amountMinor, 'EUR'), currency: 'EUR' },
          method: 'cash',
        }),
      });
      if (!res.ok) throw new Error(`POST /v1/payments answered ${res.status}: ${await res.text()}`);
      const body = (await res.json()) as { allocations: { cleared: boolean }[] };
      payments++;
      paidMinor += p.amountMinor;
      itemsClosed += body.allocations.filter((a) => a.cleared).length;
      payBar?.update(payments);
    }
    payBar?.stop();
    server.close();
    say(
      `payments: ${payments} debtors paid ${formatMinor(paidMinor, 'EUR')} EUR at the counter (POST /v1/payments), ${itemsClosed} items closed`,
    );

    let delivered = 0;
    let dead = 0;
    const consumer = await startWriteBackWorker(rt.store, rt.queue, rt.resolveTarget, {
      concurrency: 8,
      onDelivered: () => delivered++,
      onDeadLetter: () => dead++,
    });
    const total = (await countOutbox(rt.store.db, TENANT)).pending;
    const wbBar = bar(o.json, 'writeback', total);
    await relayAll(rt.store, rt.queue, rt.retryPolicy(cfg));
    for (;;) {
      const c = await countOutbox(rt.store.db, TENANT);
      wbBar?.update(c.delivered + c.dead);
      if (c.pending === 0 && c.enqueued === 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    await consumer.close();
    wbBar?.stop();
    const outboxCounts = await countOutbox(rt.store.db, TENANT);
    say(
      `write-backs: ${outboxCounts.delivered} confirmations delivered to ${relative(process.cwd(), outbound)}, ${outboxCounts.dead} dead letters`,
    );

    const debtors = await rt.store.db
      .selectFrom('debtors')
      .select((e) => e.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', TENANT)
      .executeTakeFirstOrThrow();
    const summary: DemoSummary = {
      dir,
      tenant: TENANT,
      items: s.inserted + s.updated + s.unchanged,
      debtors: Number(debtors.n),
      quarantined: s.quarantined,
      notices: run.created.noticesCreated,
      emailsSent: run.sent?.sent ?? 0,
      payments,
      paidMinor,
      itemsClosed,
      writeBacksDelivered: outboxCounts.delivered,
      deadLetters: outboxCounts.dead,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
    if (o.json) {
      console.log(JSON.stringify(summary));
    } else {
      say(`\ndone in ${summary.seconds} s. Look at:`);
      say(`  e-mails          ${relative(process.cwd(), mailDir)}/*.eml`);
      say(`  confirmations    ${relative(process.cwd(), outbound)}/`);
      say(`  quarantine       clearhub --home ${relative(process.cwd(), dir) || '.'} quarantine list`);
      say(`  write-backs      clearhub --home ${relative(process.cwd(), dir) || '.'} outbox list`);
      void delivered;
      void dead;
    }
    return summary;
  } finally {
    await rt.close();
    await sink.close();
  }
}

function bar(json: boolean, label: string, total: number): SingleBar | undefined {
  if (json || !process.stdout.isTTY) return undefined;
  const b = new SingleBar({ format: `${label} [{bar}] {value}/{total}`, hideCursor: true, clearOnComplete: false });
  b.start(total, 0);
  return b;
}

/** A seeded share of the dunned debtors pays: most the whole balance, some only part of it. */
async function pickPayers(
  rt: Runtime,
  seed: number,
  share: number,
): Promise<{ debtorId: string; amountMinor: number }[]> {
  const rows = await rt.store.db
    .selectFrom('notices')
    .select(['debtor_id', 'total_minor'])
    .where('tenant_id', '=', TENANT)
    .orderBy('debtor_id')
    .execute();
  const rand = rng(seed + 1);
  const out: { debtorId: string; amountMinor: number }[] = [];
  for (const r of rows) {
    if (rand() >= share) continue;
    const partial = rand() < 0.2;
    out.push({
      debtorId: r.debtor_id,
      amountMinor: partial ? Math.max(1, Math.floor(r.total_minor / 2)) : r.total_minor,
    });
  }
  return out;
}
