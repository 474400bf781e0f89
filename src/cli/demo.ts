import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { parse, parseDocument } from 'yaml';
import { createSapRfcConnector } from '../../connectors/sap-rfc/connector';
import { createSoapConnector } from '../../connectors/soap/connector';
import { startStripeSimulator } from '../../test/simulators/stripe/server';
import { createApiKey } from '../api/api-keys';
import { createApp } from '../api/app';
import { createLogger } from '../api/logger';
import { startSmtpSink } from '../channels/smtp-sink';
import { initTenant } from '../config/init';
import { IntegrationError } from '../domain/errors';
import { formatMinor } from '../domain/money';
import { recordPayment } from '../gateway/payments';
import { countOutbox } from '../routing/outbox';
import { relayAll, startWriteBackWorker } from '../routing/relay';
import { packageRoot, Runtime } from '../runtime';
import { bcd, FakeSapRfc } from '../simulators/sap-rfc/fake-transport';
import { TelcoBillingSimulator } from '../simulators/telco-billing/server';
import type { SyncResult } from '../sync/sync';
import {
  type DEMO_SOURCES,
  type DemoCustomer,
  type DemoItem,
  demoLedger,
  rng,
  writeDemoItemsCsv,
  writeSubledgerCsv,
} from './demo-data';

export interface DemoOptions {
  items: number;
  debtors: number;
  dir?: string;
  seed: number;
  json: boolean;
  /** Share of dunned debtors who pay after their notice. */
  payingShare?: number;
  /**
   * `telco-de`: the golden tenant with all three of its subledgers on built-in simulators (CSV billing export, SAP
   * FI-CA over RFC on an in-process fake SAP, the legacy SOAP billing system on a local server). Without it: CSV only.
   */
  profile?: string;
}

/** What one subledger contributed: items synced from it, write-backs delivered into it. */
export interface DemoSourceSummary {
  items: number;
  writeBacks: number;
  /** Postings the simulated system holds afterwards (FI-CA clearings, SOAP PostPayment), counted on its side. */
  received?: number;
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
  /** Of `payments`: paid online by card through the checkout API against the simulated Stripe. */
  onlinePayments: number;
  /** Signed provider webhook events received, verified and processed (once each). */
  webhookEvents: number;
  paidMinor: number;
  itemsClosed: number;
  writeBacksDelivered: number;
  deadLetters: number;
  seconds: number;
  /** Per subledger; only with a profile. */
  sources?: Record<string, DemoSourceSummary>;
  /** Debtors with open items in more than one subledger (one debtor each, after unification); only with a profile. */
  crossSourceDebtors?: number;
}

const TENANT = 'demo-telco';

/**
 * The whole loop on the embedded defaults, in one process: PGlite, the in-process queue, a local SMTP sink.
 * It creates a golden tenant, writes a CSV subledger, syncs it, runs dunning, records payments through the HTTP API,
 * delivers the write-backs into the CSV source's outbound folder, and says where to look.
 */
export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const started = Date.now();
  // Checked before anything starts: a server left listening would keep the process from ever exiting.
  if (o.profile !== undefined && o.profile !== 'telco-de') {
    throw new IntegrationError(`only telco-de has simulated subledgers (got "${o.profile}")`, '--profile');
  }
  const dir = resolve(o.dir ?? join('.clearhub', `demo-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`));
  mkdirSync(dir, { recursive: true });
  const say = (s: string) => {
    if (!o.json) console.log(s);
  };
  const asOf = new Date().toISOString().slice(0, 10);

  const mailDir = join(dir, 'mail');
  mkdirSync(mailDir, { recursive: true });
  const sink = await startSmtpSink({ dir: mailDir });
  const multi = o.profile !== undefined;
  const sims = multi ? await startSimulators(o, asOf) : undefined;

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
  if (sims) enableSimulatedSources(doc, sims);
  // The gateway on the built-in Stripe simulator (its test key is no secret) and our bank-transfer provider; the
  // providers that need real accounts (Adyen, PayPal, SEPA direct debit) are left out of the demo tenant.
  const stripe = await startStripeSimulator({ retryDelaysMs: [100, 500, 2000] });
  doc.setIn(['gateway', 'payLinkSecret'], randomBytes(24).toString('hex'));
  doc.setIn(['gateway', 'providers'], {
    stripe: {
      secretKey: stripe.secretKey,
      webhookSecret: stripe.webhookSecret,
      host: stripe.host,
      port: stripe.port,
      protocol: 'http',
    },
    'bank-transfer': { creditorName: 'Demo Telco GmbH', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
  });
  writeFileSync(tenantFile, doc.toString());
  say(`tenant ${TENANT} created from profile telco-de → ${relative(process.cwd(), tenantFile)}`);

  // The same database the CLI opens for this home, so `clearhub --home <dir> …` shows what the demo did. The FI-CA
  // source gets the sap-rfc connector on the in-process fake SAP (there is no NW RFC SDK here); the rest is as
  // configured, the SOAP source talking HTTP to the simulator.
  const rt = await Runtime.open({
    home: dir,
    ...(sims
      ? {
          connectorOverride: (src, home) => {
            if (src.kind === 'sap-rfc')
              return createSapRfcConnector({ kind: 'sap-rfc', ...src.options }, home, sims.sap);
            if (src.kind === 'soap') {
              // The request templates ({{documentNumber}} …) cannot stand in a tenant file, whose loader rejects any
              // {{…}} as an unfilled profile placeholder; they come from the shipped options file instead.
              return createSoapConnector(
                {
                  ...src.options,
                  kind: 'soap',
                  wsdl: resolve(packageRoot(), String(src.options.wsdl)),
                  operations: shippedSoapOptions().operations,
                },
                home,
                { source: src.name },
              );
            }
            return undefined;
          },
        }
      : {}),
  });
  try {
    const cfg = rt.tenant(TENANT);
    await rt.registerTenant(cfg, 'telco-de');
    const csvSource = cfg.sources.find((s) => s.kind === 'csv' && !s.disabled);
    if (!csvSource) throw new Error('the telco-de profile has no active CSV source');
    const inbound = resolve(dir, String((csvSource.options as { inbound: string }).inbound));
    const outbound = resolve(dir, String((csvSource.options as { outbound: string }).outbound));
    mkdirSync(inbound, { recursive: true });
    const malformed = Math.max(4, Math.round(o.items / 2500));
    if (sims) {
      const csvItems = sims.items.filter((i) => i.source === csvSource.name);
      await writeDemoItemsCsv(join(inbound, 'billing-export-001.csv'), csvItems, malformed);
      say(
        `subledgers: ${o.items} items of ${o.debtors} customers, the same customer numbers in every system:\n` +
          `  billing          ${csvItems.length} items in the CSV export (${malformed} rows with deliberate mistakes) → ${relative(process.cwd(), inbound)}\n` +
          `  fica             ${sims.count.fica} items in simulated SAP FI-CA (sap-rfc, fake RFC transport in-process)\n` +
          `  legacy-landline  ${sims.count['legacy-landline']} items in the simulated legacy billing (SOAP) at ${sims.billing.endpoint}`,
      );
    } else {
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
    }

    const syncBar = bar(o.json, 'sync    ', o.items);
    const done: Record<string, number> = {};
    const synced = await rt.sync(TENANT, undefined, (src, n) => {
      done[src] = n;
      syncBar?.update(Object.values(done).reduce((a, b) => a + b, 0));
    });
    syncBar?.stop();
    const results = Object.values(synced);
    const sum = (f: (r: SyncResult) => number) => results.reduce((a, r) => a + f(r), 0);
    const s = {
      inserted: sum((r) => r.inserted),
      updated: sum((r) => r.updated),
      unchanged: sum((r) => r.unchanged),
      quarantined: sum((r) => r.quarantined),
      debtorsCreated: sum((r) => r.debtorsCreated),
    };
    if (sims) {
      for (const [name, r] of Object.entries(synced)) {
        say(
          `sync ${name.padEnd(16)} ${r.inserted} items imported, ${r.debtorsCreated} new debtors, ${r.quarantined} records quarantined`,
        );
      }
      say(`sync: ${s.debtorsCreated} debtors in all (clearhub quarantine list shows the rejected records)`);
    } else {
      say(
        `sync: ${s.inserted} items imported, ${s.debtorsCreated} debtors, ${s.quarantined} records quarantined (clearhub quarantine list)`,
      );
    }

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
      services: {
        recordPayment: (input) => recordPayment(rt.store, input),
        gateway: { ctx: rt.gateway(), queue: rt.queue, webhookTenant: () => TENANT },
      },
      logger,
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    stripe.webhooks.setUrl(`${base}/v1/webhooks/stripe/${TENANT}`);
    const gatewayWorker = await rt.startGatewayWorker({ concurrency: 4 });
    const key = await createApiKey(rt.store, TENANT, 'demo');
    const payers = await pickPayers(rt, o.seed, o.payingShare ?? 0.3);
    let payments = 0;
    let paidMinor = 0;
    let itemsClosed = 0;
    const payBar = bar(o.json, 'payments', payers.length);
    let online = 0;
    let onlineMinor = 0;
    for (const [i, p] of payers.entries()) {
      if (i % 2 === 1) {
        // Online: a checkout session for the debtor's open items, paid by card at the (simulated) Stripe.
        const res = await fetch(`${base}/v1/checkout/sessions`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key.token}`,
            'content-type': 'application/json',
            'idempotency-key': `demo-checkout-${p.debtorId}`,
          },
          body: JSON.stringify({
            debtorId: p.debtorId,
            pay: { method: 'card', methodData: { token: 'pm_card_visa' } },
          }),
        });
        if (!res.ok) throw new Error(`POST /v1/checkout/sessions answered ${res.status}: ${await res.text()}`);
        const session = (await res.json()) as {
          items: unknown[];
          payment: { state: string; allocated: { minor: number } };
        };
        if (session.payment.state !== 'succeeded') throw new Error(`card payment ended ${session.payment.state}`);
        online++;
        onlineMinor += session.payment.allocated.minor;
        itemsClosed += session.items.length;
        payments++;
        payBar?.update(payments);
        continue;
      }
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
    // Stripe's webhooks for those payments arrive, are verified, stored and processed once each.
    await stripe.webhooks.idle();
    for (;;) {
      const waiting = await rt.store.db
        .selectFrom('webhook_events')
        .select((e) => e.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', TENANT)
        .where('status', '=', 'received')
        .executeTakeFirstOrThrow();
      if (Number(waiting.n) === 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const webhookEvents = await rt.store.db
      .selectFrom('webhook_events')
      .select((e) => e.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', TENANT)
      .executeTakeFirstOrThrow();
    await gatewayWorker.close();
    server.close();
    await stripe.close();
    const counter = payments - online;
    say(
      `payments: ${counter} debtors paid ${formatMinor(paidMinor, 'EUR')} EUR at the counter (POST /v1/payments), ${itemsClosed} items closed in all`,
    );
    say(
      `          ${online} debtors paid ${formatMinor(onlineMinor, 'EUR')} EUR online by card (POST /v1/checkout/sessions → simulated Stripe), ${webhookEvents.n} signed webhook events processed once each`,
    );
    paidMinor += onlineMinor;

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
    // Watch the workers' own counts; ask the database only now and then (polling it would compete with the
    // deliveries for the embedded database's single thread).
    for (let tick = 1; ; tick++) {
      wbBar?.update(delivered + dead);
      if (delivered + dead >= total || tick % 40 === 0) {
        const c = await countOutbox(rt.store.db, TENANT);
        if (c.pending === 0 && c.enqueued === 0) break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    await consumer.close();
    wbBar?.stop();
    const outboxCounts = await countOutbox(rt.store.db, TENANT);
    let sources: Record<string, DemoSourceSummary> | undefined;
    let crossSourceDebtors: number | undefined;
    if (sims) {
      sources = await perSource(rt, Object.keys(synced), synced);
      sources.fica!.received = sims.sap.committed.length;
      sources['legacy-landline']!.received = sims.billing.postings.filter((p) => p.kind === 'payment').length;
      crossSourceDebtors = await countCrossSourceDebtors(rt);
      say(`write-backs: ${outboxCounts.delivered} delivered, ${outboxCounts.dead} dead letters`);
      say(`  billing          ${sources.billing!.writeBacks} confirmations → ${relative(process.cwd(), outbound)}`);
      say(
        `  fica             ${sources.fica!.writeBacks} payments cleared in SAP FI-CA (BAPI_CTRACCONTRACTACCOUNT_CLOI), ${sources.fica!.received} clearings on the SAP side`,
      );
      say(
        `  legacy-landline  ${sources['legacy-landline']!.writeBacks} payments posted (PostPayment), ${sources['legacy-landline']!.received} postings on the billing side`,
      );
      say(
        `one notice per debtor: ${crossSourceDebtors} debtors owe in more than one subledger and are one debtor in Clearhub`,
      );
    } else {
      say(
        `write-backs: ${outboxCounts.delivered} confirmations delivered to ${relative(process.cwd(), outbound)}, ${outboxCounts.dead} dead letters`,
      );
    }

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
      onlinePayments: online,
      webhookEvents: Number(webhookEvents.n),
      paidMinor,
      itemsClosed,
      writeBacksDelivered: outboxCounts.delivered,
      deadLetters: outboxCounts.dead,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      ...(sources ? { sources, crossSourceDebtors } : {}),
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
    await sims?.billing.close();
  }
}

interface Simulators {
  sap: FakeSapRfc;
  billing: TelcoBillingSimulator;
  /** The password the simulated billing system demands, handed to the tenant through the environment. */
  passwordVar: string;
  items: DemoItem[];
  customers: DemoCustomer[];
  count: Record<(typeof DEMO_SOURCES)[number], number>;
}

const BILLING_PASSWORD_VAR = 'CLEARHUB_DEMO_BILLING_PASSWORD';

/**
 * Starts the simulated SAP FI-CA (in-process) and the legacy SOAP billing system (127.0.0.1, a free port) and fills
 * them with their share of the demo ledger. The customers exist in both with the same numbers.
 */
async function startSimulators(o: DemoOptions, asOf: string): Promise<Simulators> {
  const items = [...demoLedger({ items: o.items, debtors: o.debtors, seed: o.seed, asOf })];
  const password = randomBytes(12).toString('base64url');
  process.env[BILLING_PASSWORD_VAR] = password;
  const sap = new FakeSapRfc();
  const billing = await TelcoBillingSimulator.start({ basic: { user: 'clearhub', password } });
  const customers = new Map<string, DemoCustomer>();
  const count = { billing: 0, fica: 0, 'legacy-landline': 0 };
  const dats = (d: string) => d.replace(/-/g, '');
  for (const i of items) {
    const c = i.customer;
    count[i.source]++;
    customers.set(c.customerNo, c);
    if (i.source === 'fica') {
      sap.seedCa({
        DOC_NO: i.documentNumber,
        BUSPARTNER: c.customerNo,
        CONT_ACCT: c.contractAccount,
        CONTRACT: i.contract,
        COMP_CODE: '1000',
        DOC_DATE: dats(i.documentDate),
        PSTNG_DATE: dats(i.documentDate),
        NET_DATE: dats(i.dueDate),
        AMOUNT: bcd(i.amountMinor, 'EUR'),
      });
    } else if (i.source === 'legacy-landline') {
      billing.addCustomer({
        customerNumber: c.customerNo,
        customerType: c.business ? 'BUS' : 'RES',
        name: c.name,
        email: c.email,
        msisdn: c.phone,
        language: c.language.toUpperCase(),
        segment: c.business ? 'SME' : 'consumer',
        address: { street: 'Hauptstr. 1', postalCode: '50667', city: 'Köln', country: 'DE' },
      });
      billing.addItem({
        invoiceNumber: i.documentNumber,
        contractAccount: i.contract,
        customerNumber: c.customerNo,
        invoiceDate: i.documentDate,
        dueDate: i.dueDate,
        amount: i.amountMinor,
        currency: 'EUR',
        dunningLevel: i.level,
      });
    }
  }
  return { sap, billing, passwordVar: BILLING_PASSWORD_VAR, items, customers: [...customers.values()], count };
}

/**
 * Turns on the profile's FI-CA and legacy billing sources against the simulators. All three sources match debtors by
 * customer number (FI-CA open items carry the business partner but no e-mail, so e-mail matching could not unify
 * them). FI-CA is synced first: a source overwrites a unified debtor's master data with its own, and FI-CA has no
 * name or e-mail to give; the billing systems that do come after it.
 */
function enableSimulatedSources(doc: ReturnType<typeof parseDocument>, sims: Simulators): void {
  const { operations: _ops, kind: _kind, ...soapOptions } = shippedSoapOptions();
  const sources = (doc.toJS() as { sources: { name: string }[] }).sources;
  const byName = new Map(sources.map((src) => [src.name, src as Record<string, unknown>]));
  const billing = byName.get('billing');
  const fica = byName.get('fica');
  const legacy = byName.get('legacy-landline');
  if (!billing || !fica || !legacy)
    throw new Error('the telco-de profile lacks its billing, fica or legacy-landline source');
  const { disabled: _f, ...ficaRest } = fica;
  const { disabled: _l, ...legacyRest } = legacy;
  const accounts = [...new Set(sims.items.filter((i) => i.source === 'fica').map((i) => i.customer.contractAccount))];
  const next = [
    {
      ...ficaRest,
      mapping: 'mappings/sap-fi-ca-rfc.v1.yaml',
      debtorMatch: 'externalId',
      options: {
        variant: 'fi-ca',
        connection: { dest: 'CLEARHUB_DEMO_FAKE_SAP' },
        contractAccounts: accounts.length > 0 ? accounts : ['200000000000'],
        resilience: { retries: 0 },
      },
    },
    billing,
    {
      ...legacyRest,
      mapping: 'mappings/telco-legacy-soap.v1.yaml',
      debtorMatch: 'externalId',
      options: {
        ...soapOptions,
        endpoint: sims.billing.endpoint,
        auth: { basic: { user: 'clearhub', password: `\${env:${sims.passwordVar}}` } },
        timeoutMs: 10_000,
      },
    },
    ...sources.filter((src) => !['billing', 'fica', 'legacy-landline'].includes(src.name)),
  ];
  doc.setIn(['sources'], doc.createNode(JSON.parse(JSON.stringify(next))));
}

/** connectors/soap/wsdl/telco-billing-v2.options.yaml: the documented options of the legacy billing's WSDL. */
function shippedSoapOptions(): Record<string, unknown> & { operations: unknown } {
  return parse(readFileSync(join(packageRoot(), 'connectors/soap/wsdl/telco-billing-v2.options.yaml'), 'utf8'));
}

/** Items synced and write-backs delivered, per source. */
async function perSource(
  rt: Runtime,
  names: string[],
  synced: Record<string, SyncResult>,
): Promise<Record<string, DemoSourceSummary>> {
  const rows = await rt.store.db
    .selectFrom('outbox')
    .select(['source', (e) => e.fn.countAll<number>().as('n')])
    .where('tenant_id', '=', TENANT)
    .where('status', '=', 'delivered')
    .groupBy('source')
    .execute();
  const delivered = new Map(rows.map((r) => [r.source, Number(r.n)]));
  const out: Record<string, DemoSourceSummary> = {};
  for (const name of names) {
    const r = synced[name]!;
    out[name] = { items: r.inserted + r.updated + r.unchanged, writeBacks: delivered.get(name) ?? 0 };
  }
  return out;
}

/** Debtors holding items from more than one source. */
async function countCrossSourceDebtors(rt: Runtime): Promise<number> {
  const rows = await rt.store.db
    .selectFrom('items')
    .select(['debtor_id', (e) => e.fn.count<number>('source').distinct().as('n')])
    .where('tenant_id', '=', TENANT)
    .groupBy('debtor_id')
    .execute();
  return rows.filter((r) => Number(r.n) > 1).length;
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
