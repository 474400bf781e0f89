import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createSoapConnector, type SoapCallLog, type SoapConnector } from '../../connectors/soap/connector';
import { scrub } from '../../connectors/soap/transformers';
import { ConnectorError, IntegrationError, IntegrityError } from '../../src/domain/errors';
import type { WriteBackCommand } from '../../src/domain/write-back';
import { TelcoBillingSimulator } from '../../src/simulators/telco-billing/server';
import { type Store, truncateAll } from '../../src/store/db';
import type { RawBatch } from '../../src/sync/connector';
import { loadCompiledMapping } from '../../src/sync/registry';
import { readCheckpoint, syncSource } from '../../src/sync/sync';
import { sourceConnectorConformance } from '../conformance/source-connector.conformance';
import { docNumber } from '../conformance/source-connector.harness';
import { STORE_FACTORIES } from '../helpers/stores';
import {
  CREDENTIALS,
  MAPPING,
  makeSoapHarness,
  PASSWORD_VAR,
  REPO,
  seedItems,
  simulatorOptions,
  soapConnector,
} from './soap.harness';

sourceConnectorConformance('soap', () => makeSoapHarness());

const TENANT = 'acme';
const SOURCE = 'telco-billing';
const map = loadCompiledMapping(MAPPING);

async function pullAll(c: SoapConnector, since?: string): Promise<RawBatch[]> {
  const out: RawBatch[] = [];
  for await (const b of c.pull({ since, signal: new AbortController().signal })) out.push(b);
  return out;
}

/** A plain HTTP server that answers each SOAPAction with a recorded response and keeps the requests it got. */
async function replayServer(responses: Record<string, string>): Promise<{
  url: string;
  requests: { action: string; body: string }[];
  close(): Promise<void>;
}> {
  const requests: { action: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const action = String(req.headers.soapaction ?? '').replace(/"/g, '');
      const op = action.slice(action.indexOf('#') + 1);
      requests.push({ action: op, body: Buffer.concat(chunks).toString('utf8') });
      const body = responses[op];
      res.writeHead(body ? 200 : 500, { 'Content-Type': 'text/xml; charset=utf-8' });
      res.end(body ?? 'no recording');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/v2/OpenItemService`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const fixture = (name: string) => readFileSync(join(REPO, 'test/fixtures/soap', name), 'utf8');

describe('golden: a recorded ListOpenItems + GetCustomers answer through the connector and the mapping', () => {
  it('maps every field exactly, amounts without a float on the way', async () => {
    const replay = await replayServer({
      ListOpenItems: fixture('list-open-items.response.xml'),
      GetCustomers: fixture('get-customers.response.xml'),
    });
    try {
      const c = createSoapConnector({ ...simulatorOptions(replay.url), auth: {} }, REPO);
      const batches = await pullAll(c);
      expect(batches).toHaveLength(1);
      const mapped = batches[0]!.records.map((r) => map(r.record, { line: r.line }));
      expect(mapped).toEqual([
        {
          ok: true,
          debtor: {
            externalId: 'K204711',
            name: 'Müller & Söhne OHG',
            type: 'B2B',
            email: 'buchhaltung@mueller-soehne.example',
            phone: '+491701234567',
            language: 'de',
            country: 'DE',
            address: ['Domstr. 12', '50668 Köln'],
            tags: ['telco-legacy', 'SME'],
          },
          item: {
            sourceKey: '4711000123',
            externalId: 'K204711',
            documentNumber: '4711000123',
            contractRef: 'CA-880012',
            currency: 'EUR',
            amountMinor: 119000,
            openMinor: 119000,
            documentDate: '2026-09-01',
            dueDate: '2026-09-15',
            dunningLevel: 0,
          },
        },
        {
          ok: true,
          debtor: {
            externalId: 'K330815',
            name: 'Luca Bianchi',
            type: 'B2C',
            phone: '+436641234567',
            language: 'en',
            address: ['Wien'], // the billing system knows only her city
            country: 'AT',
            tags: ['telco-legacy'],
          },
          item: {
            sourceKey: '4711000124',
            externalId: 'K330815',
            documentNumber: '4711000124',
            contractRef: 'CA-990431',
            currency: 'EUR',
            amountMinor: -2550,
            openMinor: -2550,
            documentDate: '2026-08-20',
            dueDate: '2026-09-03',
            dunningLevel: 2,
            dunningBlock: 'X',
          },
        },
        {
          ok: true,
          debtor: {
            externalId: 'K100200',
            name: 'Carrier Wholesale AG',
            type: 'B2B',
            language: 'de',
            tags: ['telco-legacy', 'key-account'],
          },
          item: {
            sourceKey: '4711000125',
            externalId: 'K100200',
            documentNumber: '4711000125',
            contractRef: 'CA-100200',
            currency: 'EUR',
            amountMinor: 9_007_199_254_740_991, // 90071992547409.91: as a float it would read 90071992547409.9
            openMinor: 4990,
            documentDate: '2026-09-01',
            dueDate: '2026-10-01',
            dunningLevel: 1,
          },
        },
      ]);
      // The raw record keeps the customer under its prefix, nested elements dotted.
      expect(batches[0]!.records[0]!.record).toMatchObject({
        'customer.Address.City': 'Köln',
        'customer.Iban': 'DE89370400440532013000',
        ChangedAt: '2026-09-01T06:12:44Z',
      });
      expect(batches[0]!.records.map((r) => [r.file, r.line])).toEqual([
        ['ListOpenItems', 1],
        ['ListOpenItems', 2],
        ['ListOpenItems', 3],
      ]);
      // The next pull starts at the latest change; 06:12:45+02:00 is earlier than 06:12:46Z.
      expect(JSON.parse(batches[0]!.checkpoint)).toEqual({ v: 1, changedSince: '2026-09-01T06:12:46Z' });

      // What went out: elements in schema order, no empty ChangedSince/PageToken, the customer numbers once each.
      const [list, customers] = replay.requests;
      expect(list!.action).toBe('ListOpenItems');
      expect(list!.body).toMatch(
        /<ListOpenItemsRequest xmlns="urn:example:telco:billing:v2"><PageSize>10<\/PageSize><\/ListOpenItemsRequest>/,
      );
      expect(customers!.body).toContain(
        '<CustomerNumber>K204711</CustomerNumber><CustomerNumber>K330815</CustomerNumber><CustomerNumber>K100200</CustomerNumber>',
      );

      await pullAll(c, batches[0]!.checkpoint);
      expect(replay.requests[2]!.body).toContain(
        '<ChangedSince>2026-09-01T06:12:46Z</ChangedSince><PageSize>10</PageSize>',
      );
    } finally {
      await replay.close();
    }
  });

  it('an echoed amount that differs from what was sent is an integrity error', async () => {
    const replay = await replayServer({
      PostPayment: `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
        <PostPaymentResponse xmlns="urn:example:telco:billing:v2"><PostingId>P1</PostingId>
        <PostedAmount>1.00</PostedAmount><Currency>EUR</Currency><OpenAmount>0.00</OpenAmount></PostPaymentResponse>
        </s:Body></s:Envelope>`,
    });
    try {
      const c = createSoapConnector({ ...simulatorOptions(replay.url), auth: {} }, REPO);
      await expect(c.writeBack(payment('4711000123', 2137), { idempotencyKey: 'outbox:echo' })).rejects.toThrow(
        IntegrityError,
      );
      expect(replay.requests[0]!.body).toContain(
        '<InvoiceNumber>4711000123</InvoiceNumber><Amount>21.37</Amount><Currency>EUR</Currency>' +
          '<ValueDate>2026-11-20</ValueDate><PaymentReference>pay-1</PaymentReference><OurReference>outbox:echo</OurReference>',
      );
    } finally {
      await replay.close();
    }
  });
});

function payment(doc: string, amountMinor: number, paymentId = 'pay-1'): WriteBackCommand {
  return {
    kind: 'payment',
    itemId: 'item-1',
    sourceKey: doc,
    externalId: 'K100001',
    documentNumber: doc,
    paymentId,
    amountMinor,
    currency: 'EUR',
    cleared: false,
    valueDate: '2026-11-20',
  };
}

describe('SOAP connector against the telco billing simulator', () => {
  let sim: TelcoBillingSimulator;
  let store: Store;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    const s = await STORE_FACTORIES[0]!.open();
    store = s.store;
    dispose = s.dispose;
  });
  afterAll(() => dispose());
  beforeEach(async () => {
    await truncateAll(store);
    sim = await TelcoBillingSimulator.start({ basic: CREDENTIALS, hangMs: 5000 });
  });
  afterEach(() => sim.close());

  const sync = (c: SoapConnector, since?: string) =>
    syncSource(store, {
      tenantId: TENANT,
      source: SOURCE,
      debtorMatch: 'externalId',
      batches: c.pull({ since, signal: new AbortController().signal }),
      map,
    });
  const item = (doc: string) =>
    store.db.selectFrom('items').selectAll().where('document_number', '=', doc).executeTakeFirstOrThrow();
  const listRequests = () => sim.requests.filter((r) => r.operation === 'ListOpenItems');

  it('full sync, then an incremental sync that reads only what changed', async () => {
    const c = soapConnector(sim);
    const docs = seedItems(sim, 1, 23);
    const full = await sync(c);
    expect(full).toMatchObject({ records: 23, inserted: 23, quarantined: 0, debtorsCreated: 4 });
    expect(listRequests()).toHaveLength(3); // pages of 10, 10, 3
    expect(sim.requests.filter((r) => r.operation === 'GetCustomers')).toHaveLength(1); // one call, four customers
    const first = await item(docs[1]!);
    // item 2: 2000 + 2 * 137 = 2274 cents, customer 2 % 4 = K100003, residential, in AT, Italian
    expect(first).toMatchObject({ amount_minor: 2274, open_minor: 2274, currency: 'EUR', due_date: '2026-10-01' });
    const debtor = await store.db
      .selectFrom('debtors')
      .selectAll()
      .where('debtor_id', '=', first.debtor_id)
      .executeTakeFirstOrThrow();
    expect(debtor).toMatchObject({ name: 'Luca Bianchi', type: 'B2C', country: 'AT', language: 'it' });
    // Her postal address from the billing system, for letters: the window lines, name first.
    const address = await store.db
      .selectFrom('debtor_addresses')
      .select(['lines', 'country'])
      .where('debtor_id', '=', first.debtor_id)
      .executeTakeFirstOrThrow();
    expect(address).toEqual({ lines: ['Luca Bianchi', 'Hauptstr. 1', '50667 Köln'], country: 'AT' });

    const checkpoint = await readCheckpoint(store, TENANT, SOURCE);
    const lastChange = [...sim.items.values()].map((i) => i.changedAt).sort()[22];
    expect(JSON.parse(checkpoint!)).toEqual({ v: 1, changedSince: lastChange });

    sim.touch(docs[4]!, 1234);
    seedItems(sim, 24, 2);
    sim.requests.length = 0;
    const inc = await sync(c, checkpoint);
    // ChangedSince is inclusive: the last item of the full sync comes again, unchanged.
    expect(inc).toMatchObject({ records: 4, inserted: 2, updated: 1, unchanged: 1 });
    expect(listRequests()[0]!.args).toEqual({ ChangedSince: lastChange, PageSize: '10' });
    expect(await item(docs[4]!)).toMatchObject({ open_minor: 1234, version: 2 });
  });

  it('resumes after a fault in the middle of a pull: no page read twice, no gap', async () => {
    const c = soapConnector(sim); // no read retries: the fault ends the pull
    const docs = seedItems(sim, 1, 35);
    sim.failOnRequest(4); // 1 page 1, 2 GetCustomers, 3 page 2, 4 page 3 → HTTP 500
    const err = await sync(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).message).toContain('HTTP 500');
    expect(await store.db.selectFrom('items').select('item_id').execute()).toHaveLength(20);
    expect(listRequests()).toHaveLength(2); // the third page never reached the service
    const checkpoint = await readCheckpoint(store, TENANT, SOURCE);
    const failedToken = JSON.parse(checkpoint!).pageToken;
    expect(failedToken).toEqual(expect.any(String));

    sim.requests.length = 0;
    const resumed = await sync(c, checkpoint);
    expect(resumed).toMatchObject({ records: 15, inserted: 15 });
    expect(listRequests().map((r) => r.args.PageToken)).toEqual([failedToken, expect.any(String)]);
    const stored = await store.db.selectFrom('items').select('document_number').execute();
    expect(stored.map((r) => r.document_number).sort()).toEqual(docs);
  });

  it('a dropped connection during a read is retried by the source policy', async () => {
    const c = soapConnector(sim, { retries: 2 });
    seedItems(sim, 1, 15);
    sim.failOnRequest(3, 'drop'); // page 2
    expect(await sync(c)).toMatchObject({ records: 15, inserted: 15 });
  });

  it('posts a payment once even when the first attempt times out after the system applied it', async () => {
    const lines: SoapCallLog[] = [];
    const c = soapConnector(sim, {}, { source: SOURCE, log: (l) => lines.push(l) });
    const [doc] = seedItems(sim, 1, 1); // 2137 cents open
    await sync(c);
    const cmd = payment(doc!, 2137);
    const ctx = { idempotencyKey: 'outbox:42' };

    sim.timeoutAfterApplyingNextWrite();
    const err = await c.writeBack(cmd, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).indeterminate).toBe(true);
    expect(sim.postings).toHaveLength(1); // it did happen

    const again = await c.writeBack(cmd, ctx);
    expect(again).toEqual({ status: 'duplicate', sourceReference: sim.postings[0]!.postingId });
    expect(sim.postings).toEqual([
      {
        postingId: 'P4000001',
        kind: 'payment',
        invoiceNumber: doc,
        reference: 'outbox:42',
        amount: 2137,
        currency: 'EUR',
        valueDate: '2026-11-20',
        paymentReference: 'pay-1',
      },
    ]);
    expect(sim.items.get(doc!)!.openAmount).toBe(0);
    expect(lines.at(-1)).toMatchObject({
      connector: 'soap',
      source: SOURCE,
      flow: 'PostPayment',
      idempotencyKey: 'outbox:42',
      status: 'duplicate',
    });

    // The cleared item comes back in the next incremental pull (a full pull lists open items only) with nothing open.
    await sync(c, await readCheckpoint(store, TENANT, SOURCE));
    expect(await item(doc!)).toMatchObject({ open_minor: 0 });
  });

  it('delivers payment, reversal and dunning level with the source references', async () => {
    const c = soapConnector(sim);
    const [doc] = seedItems(sim, 3, 1); // 2000 + 3 * 137 = 2411 cents
    expect(await c.writeBack(payment(doc!, 1000), { idempotencyKey: 'outbox:1' })).toEqual({
      status: 'delivered',
      sourceReference: 'P4000001',
    });
    expect(sim.items.get(doc!)!.openAmount).toBe(1411);

    const reversal: WriteBackCommand = {
      kind: 'reversal',
      itemId: 'item-1',
      sourceKey: doc!,
      externalId: 'K100004',
      documentNumber: doc!,
      paymentId: 'pay-1',
      amountMinor: 1000,
      currency: 'EUR',
      reason: 'SEPA return MD06',
    };
    expect(await c.writeBack(reversal, { idempotencyKey: 'outbox:2' })).toEqual({
      status: 'delivered',
      sourceReference: 'P4000002',
    });
    expect(sim.items.get(doc!)!.openAmount).toBe(2411);

    const dunning: WriteBackCommand = {
      kind: 'dunning_level',
      itemId: 'item-1',
      sourceKey: doc!,
      externalId: 'K100004',
      documentNumber: doc!,
      level: 2,
      noticeId: 'ntc-7',
      dunnedOn: '2026-11-02',
    };
    expect(await c.writeBack(dunning, { idempotencyKey: 'outbox:3' })).toEqual({
      status: 'delivered',
      sourceReference: 'P4000003',
    });
    expect(await c.writeBack(dunning, { idempotencyKey: 'outbox:3' })).toEqual({
      status: 'duplicate',
      sourceReference: 'P4000003',
    });
    expect(sim.items.get(doc!)!.dunningLevel).toBe(2);
    expect(sim.requests.filter((r) => r.operation === 'SetDunningLevel')[0]!.args).toEqual({
      InvoiceNumber: doc,
      DunningLevel: '2',
      DunnedOn: '2026-11-02',
      NoticeReference: 'ntc-7',
      OurReference: 'outbox:3',
    });
    expect(sim.postings.map((p) => [p.kind, p.amount ?? p.level])).toEqual([
      ['payment', 1000],
      ['reversal', 1000],
      ['dunning_level', 2],
    ]);
  });

  it('a write the system rejects is an IntegrationError with its fault string; a 500 is indeterminate', async () => {
    const c = soapConnector(sim);
    const [doc] = seedItems(sim, 1, 1);
    const tooMuch = await c.writeBack(payment(doc!, 999_999), { idempotencyKey: 'outbox:9' }).catch((e) => e);
    expect(tooMuch).toBeInstanceOf(IntegrationError);
    expect(tooMuch.message).toContain('Amount 9999.99 exceeds the open amount 21.37');

    sim.failOnRequest(1);
    const e500 = await c.writeBack(payment(doc!, 100), { idempotencyKey: 'outbox:10' }).catch((e) => e);
    expect(e500).toBeInstanceOf(ConnectorError);
    expect(e500.indeterminate).toBe(true);
    expect(await c.writeBack(payment(doc!, 100), { idempotencyKey: 'outbox:10' })).toMatchObject({
      status: 'delivered',
    });
    expect(sim.postings).toHaveLength(1);
  });

  it('a wrong password: an IntegrationError naming the credential and its variable, never the secret', async () => {
    const c = createSoapConnector(simulatorOptions(sim.endpoint), REPO, { env: { [PASSWORD_VAR]: 'wrong-password' } });
    seedItems(sim, 1, 2);
    const err = await pullAll(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrationError);
    const msg = (err as Error).message;
    expect(msg).toContain('HTTP 401');
    expect(msg).toContain('auth.basic.password from environment variable TELCO_BILLING_PASSWORD');
    expect(msg).toContain('auth.basic.user "clearhub"');
    expect(msg).not.toContain('wrong-password');
    expect(listRequests()).toHaveLength(0); // rejected before the service, and not retried

    const report = await c.check();
    expect(report.ok).toBe(false);
    expect(report.checks.find((x) => x.name === 'endpoint')?.ok).toBe(true);
    expect(report.checks.find((x) => x.name === 'auth')).toMatchObject({ ok: false });

    const unset = createSoapConnector(simulatorOptions(sim.endpoint), REPO, { env: {} });
    await expect(pullAll(unset)).rejects.toThrow(
      'auth.basic.password: environment variable TELCO_BILLING_PASSWORD is not set',
    );
  });

  it('check() finds the WSDL, the operations, the endpoint and the credentials', async () => {
    const report = await soapConnector(sim).check();
    expect(report.ok).toBe(true);
    expect(report.checks.map((x) => [x.name, x.ok])).toEqual([
      ['wsdl', true],
      ['operations', true],
      ['endpoint', true],
      ['auth', true],
    ]);
    expect(sim.postings).toHaveLength(0);

    const opts = simulatorOptions(sim.endpoint) as { operations: Record<string, Record<string, unknown>> };
    opts.operations.payment!.operation = 'PostPaymentV3';
    opts.operations.dunningLevel!.request = { InvoiceNumber: '{{documentNumber}}', Level: '{{level}}' };
    const bad = await createSoapConnector(opts, REPO, { env: { [PASSWORD_VAR]: CREDENTIALS.password } }).check();
    expect(bad.checks.find((x) => x.name === 'operations')).toEqual({
      name: 'operations',
      ok: false,
      detail:
        'operations.payment: PostPaymentV3 is not in the WSDL; operations.dunningLevel.request: SetDunningLevel has no element Level',
    });

    const down = soapConnector(sim);
    await sim.close();
    const offline = await down.check();
    expect(offline.checks.find((x) => x.name === 'endpoint')).toMatchObject({ ok: false });
    expect(offline.checks.find((x) => x.name === 'endpoint')!.detail).toContain('connection refused');
    sim = await TelcoBillingSimulator.start(); // for afterEach
  });

  it('loads the WSDL by URL with the Basic credentials', async () => {
    const opts = { ...simulatorOptions(sim.endpoint), wsdl: sim.wsdlUrl };
    const c = createSoapConnector(opts, REPO, { env: { [PASSWORD_VAR]: CREDENTIALS.password } });
    seedItems(sim, 1, 3);
    expect((await pullAll(c)).flatMap((b) => b.records)).toHaveLength(3);
  });
});

describe('WS-Security UsernameToken', () => {
  it('authenticates with a UsernameToken, and a wrong one is an IntegrationError naming it', async () => {
    const sim = await TelcoBillingSimulator.start({ wsSecurity: { user: 'clh', password: 'wss-pw-1' } });
    try {
      seedItems(sim, 1, 2);
      const auth = { wsSecurity: { user: 'clh', password: `\${env:WSS_PW}` } };
      const ok = createSoapConnector(simulatorOptions(sim.endpoint, { auth }), REPO, { env: { WSS_PW: 'wss-pw-1' } });
      expect((await pullAll(ok)).flatMap((b) => b.records)).toHaveLength(2);
      const wrong = createSoapConnector(simulatorOptions(sim.endpoint, { auth }), REPO, { env: { WSS_PW: 'nope' } });
      const err = await pullAll(wrong).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrationError);
      expect((err as Error).message).toContain('FailedAuthentication');
      expect((err as Error).message).toContain('auth.wsSecurity.password from environment variable WSS_PW');
    } finally {
      await sim.close();
    }
  });
});

describe('SOAP connector options', () => {
  it('rejects a placeholder the operation does not know, naming where it is', () => {
    const opts = simulatorOptions('http://127.0.0.1:1/x') as {
      operations: Record<string, Record<string, unknown>>;
    };
    opts.operations.payment!.request = { Amount: '{{amountMinor}}' };
    expect(() => createSoapConnector(opts, REPO)).toThrow(
      'operations.payment.request.Amount: unknown placeholder {{amountMinor}}',
    );
  });

  it('an operation that is not configured is an IntegrationError on write-back', async () => {
    const opts = simulatorOptions('http://127.0.0.1:1/x') as {
      operations: Record<string, unknown>;
    };
    delete opts.operations.reversal;
    const c = createSoapConnector(opts, REPO);
    const reversal: WriteBackCommand = {
      kind: 'reversal',
      itemId: 'i',
      sourceKey: docNumber(1),
      externalId: 'K1',
      documentNumber: docNumber(1),
      paymentId: 'p',
      amountMinor: 1,
      currency: 'EUR',
      reason: 'r',
    };
    await expect(c.writeBack(reversal, { idempotencyKey: 'k' })).rejects.toThrow('operations.reversal: not configured');
  });
});

describe('scrub', () => {
  it('leaves no password, token, IBAN, card number or e-mail in SOAP traffic', () => {
    const wire = [
      'Authorization: Basic Y2xlYXJodWI6U3VwM3ItczNjcmV0IXB3',
      '<wsse:UsernameToken><wsse:Username>clh</wsse:Username>',
      '<wsse:Password Type="...#PasswordText">wss-pw-1</wsse:Password><wsse:Nonce>bm9uY2U=</wsse:Nonce>',
      '<ns2:Iban>DE89370400440532013000</ns2:Iban><ns2:Iban>DE89 3704 0044 0532 0130 00</ns2:Iban>',
      '<Email>jana@example.org</Email> card 4111 1111 1111 1111 password=hunter2 "token": "abc.def"',
    ].join('\n');
    const out = scrub(wire);
    for (const secret of [
      'Y2xlYXJodWI6U3VwM3ItczNjcmV0IXB3',
      'wss-pw-1',
      'bm9uY2U=',
      'DE89370400440532013000',
      'DE89 3704',
      'jana@example.org',
      '4111 1111',
      'hunter2',
      'abc.def',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('<wsse:Username>clh</wsse:Username>');
  });
});
