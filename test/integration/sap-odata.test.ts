import {
  createSapOdataConnector,
  type SapOdataConnector,
  type SapOdataLogLine,
} from '../../connectors/sap-odata/connector';
import { toSapError } from '../../connectors/sap-odata/errors';
import { scrub } from '../../connectors/sap-odata/transformers';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import type { WriteBackCommand } from '../../src/domain/write-back';
import type { Store } from '../../src/store/db';
import { truncateAll } from '../../src/store/db';
import { loadCompiledMapping } from '../../src/sync/registry';
import { readCheckpoint, syncSource } from '../../src/sync/sync';
import { sourceConnectorConformance } from '../conformance/source-connector.conformance';
import { STORE_FACTORIES } from '../helpers/stores';
import { type SapGateway, type SapGatewayOptions, startSapGateway } from '../simulators/sap-gateway/gateway';
import { makeSapOdataHarness, SIM_USER } from './sap-odata.harness';

const TENANT = 't1';
const SOURCE = 's4';
const map = loadCompiledMapping('mappings/sap-fi-ar-odata.v1.yaml');
const doc = (i: number) => String(9_400_000_000 + i);

let store: Store;
let disposeStore: () => Promise<void>;
beforeAll(async () => {
  const s = await STORE_FACTORIES[0]!.open();
  store = s.store;
  disposeStore = s.dispose;
});
afterAll(async () => disposeStore());

let gw: SapGateway;
afterEach(async () => {
  await gw?.close();
  await truncateAll(store);
});

async function gateway(opts: SapGatewayOptions = {}, items = 25): Promise<SapGateway> {
  gw = await startSapGateway(opts);
  await gw.seedPartners([
    {
      id: '10100001',
      name: 'Anna Schmidt',
      category: '1',
      email: 'anna@example.org',
      phone: '+49 30 1234567',
      language: 'DE',
    },
    { id: '10100002', name: 'ACME GmbH', category: '2', email: 'ap@acme.example', country: 'AT', language: 'EN' },
    { id: '10100003', name: 'Kiosk Meier', category: '2' },
  ]);
  const seeded = [];
  for (let i = 1; i <= items; i++) {
    seeded.push({
      document: doc(i),
      customer: `1010000${1 + (i % 3)}`,
      amount: `${i}.50`,
      debitCredit: (i % 10 === 0 ? 'H' : 'S') as 'S' | 'H',
    });
  }
  await gw.seedItems(seeded);
  return gw;
}

function connector(options: Record<string, unknown> = {}, log?: (l: SapOdataLogLine) => void): SapOdataConnector {
  return createSapOdataConnector(
    {
      baseUrl: gw.url,
      sapClient: '100',
      companyCodes: ['1010'],
      auth: { type: 'basic', ...SIM_USER },
      pageSize: 10,
      resilience: { timeoutMs: 1000, retries: 2, backoffBaseMs: 5, backoffMaxMs: 20 },
      ...options,
    },
    log ? { log } : {},
  );
}

const sync = (c: SapOdataConnector, since?: string) =>
  syncSource(store, {
    tenantId: TENANT,
    source: SOURCE,
    debtorMatch: 'externalId',
    batches: c.pull({ since, signal: new AbortController().signal }),
    map,
  });

const storedDocs = async () =>
  (await store.db.selectFrom('items').select('document_number').where('tenant_id', '=', TENANT).execute())
    .map((r) => r.document_number)
    .sort();

const dataRequests = (set = 'A_OperationalAcctgDocItemCube') => gw.requests.filter((r) => r.path.endsWith(`/${set}`));

describe('sap-odata pull', () => {
  it('full sync: every open customer item with its customer, mapped and stored', async () => {
    await gateway();
    await gw.seedItems([{ document: doc(90), accountType: 'K', customer: '10100001' }]); // a supplier item
    const r = await sync(connector());
    expect(r).toMatchObject({ records: 25, inserted: 25, quarantined: 0 });
    expect(await storedDocs()).toEqual(Array.from({ length: 25 }, (_, i) => doc(i + 1)).sort());

    const item = await store.db
      .selectFrom('items')
      .selectAll()
      .where('document_number', '=', doc(10))
      .executeTakeFirstOrThrow();
    // doc 10: "10.50" with H → a credit of −10.50 EUR, customer 10100002
    expect(item).toMatchObject({
      source_key: `1010|2026|${doc(10)}|001`,
      amount_minor: -1050,
      currency: 'EUR',
      external_id: '10100002',
    });
    const debtor = await store.db
      .selectFrom('debtors')
      .selectAll()
      .where('name', '=', 'ACME GmbH')
      .executeTakeFirstOrThrow();
    expect(debtor).toMatchObject({ email: 'ap@acme.example', country: 'AT', language: 'en', type: 'B2B' });

    const q = dataRequests()[0]!.query;
    expect(q.get('$filter')).toBe("CompanyCode eq '1010' and FinancialAccountType eq 'D' and IsCleared eq false");
    expect(q.get('$orderby')).toBe('CompanyCode,FiscalYear,AccountingDocument,AccountingDocumentItem');
    expect(q.get('$select')?.split(',')).toEqual(
      expect.arrayContaining(['NetDueDate', 'AmountInTransactionCurrency', 'DebitCreditCode']),
    );
    expect(q.get('$inlinecount')).toBe('allpages');
    expect(q.get('sap-client')).toBe('100');
  });

  it('pages with $top and the key of the last row read when the server sends no __next', async () => {
    await gateway();
    await sync(connector());
    const keyAfter = (d: string) => `AccountingDocument gt '${d}'`;
    expect(
      dataRequests().map((r) => [
        r.query.get('$top'),
        r.query.get('$skip'),
        r.query.has('$skiptoken'),
        r.query.get('$filter')?.match(/AccountingDocument gt '\d+'/)?.[0],
      ]),
    ).toEqual([
      ['10', '0', false, undefined],
      ['10', '0', false, keyAfter(doc(10))],
      ['10', '0', false, keyAfter(doc(20))],
    ]);
  });

  it('misses no item when SAP clears items already read while the pull is paging', async () => {
    await gateway({}, 45);
    const c = connector();
    async function* clearingAfterFirstPage() {
      let first = true;
      for await (const b of c.pull({ signal: new AbortController().signal })) {
        yield b;
        if (first) {
          first = false;
          // Clerks clear the first two invoices (already read) while the pull pages on.
          await gw.clearItem(doc(1));
          await gw.clearItem(doc(2));
        }
      }
    }
    const r = await syncSource(store, {
      tenantId: TENANT,
      source: SOURCE,
      debtorMatch: 'externalId',
      batches: clearingAfterFirstPage(),
      map,
    });
    expect(r.inserted).toBe(45);
    expect(await storedDocs()).toEqual(Array.from({ length: 45 }, (_, i) => doc(i + 1)).sort());
  });

  it.each(['absolute', 'relative'] as const)(
    'follows %s __next links and continues its own $skip only after the chain ends',
    async (nextLinks) => {
      await gateway({ pageSize: 4, nextLinks });
      const r = await sync(connector());
      expect(r.inserted).toBe(25);
      const reqs = dataRequests();
      // Each client page of 10: 4 + 4 via __next + 2 via __next; never $skip and $skiptoken together.
      expect(reqs.every((x) => !(x.query.has('$skiptoken') && x.query.has('$skip')))).toBe(true);
      expect(
        reqs
          .filter((x) => x.query.has('$skip'))
          .map((x) => /AccountingDocument gt '(\d+)'/.exec(x.query.get('$filter')!)?.[1]),
      ).toEqual([undefined, doc(10), doc(20)]);
      expect(reqs.filter((x) => x.query.has('$skiptoken')).length).toBeGreaterThanOrEqual(4);
    },
  );

  it('incremental sync brings only what changed since the checkpoint, by LastChangeDate or entry date', async () => {
    await gateway();
    const c = connector();
    await sync(c);
    const cp = await readCheckpoint(store, TENANT, SOURCE);
    expect(JSON.parse(cp!)).toEqual({ v: 1, kind: 'open', hw: '2026-11-02' });
    gw.advanceDays(3);
    await gw.touchItem(doc(7), { AmountInTransactionCurrency: '70.00' });
    await gw.seedItems([
      { document: doc(101), customer: '10100001' },
      { document: doc(102), customer: '10100002' },
    ]);
    const before = gw.requests.length;
    const r = await sync(c, cp);
    expect(r).toMatchObject({ inserted: 2, updated: 1 });
    const filter = gw.requests
      .slice(before)
      .find((x) => x.path.endsWith('/A_OperationalAcctgDocItemCube'))!
      .query.get('$filter');
    expect(filter).toContain(
      "(LastChangeDate ge datetime'2026-11-02T00:00:00' or AccountingDocumentCreationDate ge datetime'2026-11-02T00:00:00')",
    );
    expect(JSON.parse((await readCheckpoint(store, TENANT, SOURCE))!).hw).toBe('2026-11-05');
    const changed = await store.db
      .selectFrom('items')
      .selectAll()
      .where('document_number', '=', doc(7))
      .executeTakeFirstOrThrow();
    expect(changed.amount_minor).toBe(7000);
  });

  it('a failure in the middle of paging resumes from the checkpoint without duplicates or gaps', async () => {
    await gateway({}, 35);
    const c = connector({ resilience: { timeoutMs: 1000, retries: 0 } });
    gw.failOnRequest(4, 'drop'); // items p1, partners, items p2, → items p3 dropped
    await expect(sync(c)).rejects.toThrow(ConnectorError);
    const cp = await readCheckpoint(store, TENANT, SOURCE);
    expect(JSON.parse(cp!).run.after).toEqual(['2026', doc(20), '001']);
    expect(await storedDocs()).toHaveLength(20);
    // Meanwhile SAP clears two items already imported: a $skip-based resume would now skip two rows.
    await gw.clearItem(doc(3));
    await gw.clearItem(doc(4));
    const r = await sync(c, cp);
    expect(r.inserted).toBe(15);
    expect(await storedDocs()).toEqual(Array.from({ length: 35 }, (_, i) => doc(i + 1)).sort());
    const resumed = dataRequests().at(-2)!.query.get('$filter');
    expect(resumed).toContain(`AccountingDocument gt '${doc(20)}'`);
  });

  it('clearedSince lists the items SAP has cleared, with the clearing document, from its own checkpoint on', async () => {
    await gateway({}, 5);
    const c = connector();
    await gw.clearItem(doc(2), '1400000002');
    const first: string[] = [];
    let cp: string | undefined;
    for await (const b of c.clearedSince(undefined, new AbortController().signal)) {
      first.push(...b.items.map((i) => `${i.sourceKey}>${i.clearingDocument}@${i.clearedOn}`));
      cp = b.checkpoint;
    }
    expect(first).toEqual([`1010|2026|${doc(2)}|001>1400000002@2026-11-02`]);
    gw.advanceDays(1);
    await gw.clearItem(doc(5));
    const second: string[] = [];
    for await (const b of c.clearedSince(cp, new AbortController().signal))
      second.push(...b.items.map((i) => i.sourceKey));
    expect(second).toContain(`1010|2026|${doc(5)}|001`);
    expect(dataRequests().at(-1)!.query.get('$filter')).toContain(
      "IsCleared eq true and ClearingCreationDate ge datetime'2026-11-02T00:00:00'",
    );
    // a reconciliation (full pull) no longer sees them
    const open: string[] = [];
    for await (const b of c.reconcile(new AbortController().signal))
      open.push(...b.records.map((x) => x.record.AccountingDocument!));
    expect(open.sort()).toEqual([doc(1), doc(3), doc(4)]);
  });
});

describe('sap-odata write-back', () => {
  const command = (level: number, dunnedOn = '2026-11-20'): WriteBackCommand => ({
    kind: 'dunning_level',
    itemId: 'i1',
    sourceKey: `1010|2026|${doc(1)}|001`,
    externalId: '10100002',
    documentNumber: doc(1),
    level,
    noticeId: 'n1',
    dunnedOn,
  });
  const dunningOf = async (customer: string) => (await gw.dunning()).find((d) => d.Customer === customer)!;

  it('PATCHes A_CustomerDunning with a CSRF token and the session cookie; a repeat is a harmless duplicate', async () => {
    await gateway({}, 1);
    const c = connector();
    expect(await c.writeBack(command(2), { idempotencyKey: 'outbox:1' })).toEqual({
      status: 'delivered',
      sourceReference: "A_CustomerDunning(10100002,1010,'')",
    });
    expect(await dunningOf('10100002')).toMatchObject({
      DunningLevel: '2',
      LastDunnedOn: `/Date(${Date.UTC(2026, 10, 20)})/`,
    });
    expect(gw.writes).toEqual([
      {
        method: 'PATCH',
        set: 'A_CustomerDunning',
        key: "Customer='10100002',CompanyCode='1010',DunningArea=''",
        body: { DunningLevel: '2', LastDunnedOn: `/Date(${Date.UTC(2026, 10, 20)})/` },
      },
    ]);
    const patch = gw.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.headers.cookie).toMatch(/SAP_SESSIONID_S4H_100=/);
    expect((await c.writeBack(command(2), { idempotencyKey: 'outbox:1' })).status).toBe('duplicate');
    expect(gw.writes).toHaveLength(1);
  });

  it("leaves the customer at the highest level of a notice's items, in any order; a later notice sets its own", async () => {
    await gateway({}, 1);
    const c = connector();
    expect((await c.writeBack(command(3), { idempotencyKey: 'outbox:a' })).status).toBe('delivered');
    // Another item of the same notice, one level lower, delivered after it: the customer stays at 3.
    expect((await c.writeBack(command(2), { idempotencyKey: 'outbox:b' })).status).toBe('duplicate');
    expect((await dunningOf('10100002')).DunningLevel).toBe('3');
    expect(gw.writes).toHaveLength(1);
    // The next notice (the level-3 items were paid meanwhile) brings the customer down to 1.
    expect((await c.writeBack(command(1, '2026-12-04'), { idempotencyKey: 'outbox:c' })).status).toBe('delivered');
    expect(await dunningOf('10100002')).toMatchObject({
      DunningLevel: '1',
      LastDunnedOn: `/Date(${Date.UTC(2026, 11, 4)})/`,
    });
  });

  it('keeps the highest level when the items of a notice are written at the same time', async () => {
    await gateway({}, 1);
    const c = connector();
    // The write-back worker runs jobs in parallel: the higher level's job starts first, the lower one right after.
    const [high, low] = await Promise.all([
      c.writeBack(command(3), { idempotencyKey: 'outbox:x' }),
      c.writeBack(command(2), { idempotencyKey: 'outbox:y' }),
    ]);
    expect([high.status, low.status]).toEqual(['delivered', 'duplicate']);
    expect((await dunningOf('10100002')).DunningLevel).toBe('3');
  });

  it('appears once when the write is retried after a timeout whose PATCH was applied', async () => {
    await gateway({}, 1);
    const c = connector({ resilience: { timeoutMs: 300, retries: 0 } });
    gw.timeoutAfterApplyingNextWrite();
    const err = await c.writeBack(command(3), { idempotencyKey: 'outbox:2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).indeterminate).toBe(true);
    expect((await c.writeBack(command(3), { idempotencyKey: 'outbox:2' })).status).toBe('duplicate');
    expect(gw.writes).toHaveLength(1);
  });

  it('refetches the CSRF token once on 403 "x-csrf-token: Required" and retries', async () => {
    await gateway({}, 1);
    const c = connector();
    await c.writeBack(command(1), { idempotencyKey: 'outbox:3' });
    gw.expireCsrfTokens();
    expect((await c.writeBack(command(2), { idempotencyKey: 'outbox:4' })).status).toBe('delivered');
    const fetches = gw.requests.filter((r) => String(r.headers['x-csrf-token']).toLowerCase() === 'fetch');
    expect(fetches).toHaveLength(2);
    expect(gw.requests.filter((r) => r.method === 'PATCH')).toHaveLength(3); // ok, 403 Required, ok
    expect((await dunningOf('10100002')).DunningLevel).toBe('2');
  });

  it('refuses postings: they go through the sap-soap connector', async () => {
    await gateway({}, 1);
    const pay: WriteBackCommand = {
      kind: 'payment',
      itemId: 'i1',
      sourceKey: `1010|2026|${doc(1)}|001`,
      externalId: '10100002',
      documentNumber: doc(1),
      paymentId: 'p1',
      amountMinor: 150,
      currency: 'EUR',
      cleared: true,
      valueDate: '2026-11-20',
    };
    await expect(connector().writeBack(pay, { idempotencyKey: 'k' })).rejects.toThrow(/sap-soap/);
    expect(gw.requests).toHaveLength(0);
  });

  it('says when SAP has no dunning record for the customer', async () => {
    await gateway({}, 1);
    await expect(connector({ dunningArea: '01' }).writeBack(command(1), { idempotencyKey: 'k' })).rejects.toThrow(
      /no dunning data for customer 10100002 .*dunningArea/,
    );
  });
});

describe('sap-odata auth, check and errors', () => {
  it('a wrong password fails with an IntegrationError naming user/password, in pull and in check()', async () => {
    await gateway({}, 1);
    const c = connector({ auth: { type: 'basic', user: SIM_USER.user, password: 'wrong' } });
    const err = await sync(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as Error).message).toMatch(/401.*user or password/);
    const report = await c.check();
    expect(report.ok).toBe(false);
    expect(report.checks.find((x) => x.name === 'auth')).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/auth\.password/),
    });
  });

  it('OAuth2 client credentials: a token from the token URL; a wrong secret names client id/secret; a revoked token is renewed', async () => {
    await gateway({}, 3);
    const oauth = (clientSecret: string) =>
      connector({ auth: { type: 'oauth2', tokenUrl: gw.tokenUrl, clientId: 'clearhub', clientSecret } });
    const bad = await oauth('nope').check();
    expect(bad.checks.find((x) => x.name === 'auth')?.detail).toMatch(/client id or secret/);
    const c = oauth('oauth-Secret1');
    expect((await sync(c)).inserted).toBe(3);
    gw.revokeTokens();
    expect((await c.check()).ok).toBe(true);
    expect(gw.requests.filter((r) => r.path === '/oauth/token')).toHaveLength(3); // bad, first, renewed
  });

  it('check() reports reachability, auth and read permission on both entity sets', async () => {
    await gateway({ forbidden: ['A_BusinessPartner'] }, 1);
    const report = await connector().check();
    expect(report.checks.map((x) => [x.name, x.ok])).toEqual([
      ['reachable', true],
      ['auth', true],
      ['read A_OperationalAcctgDocItemCube', true],
      ['read A_BusinessPartner', false],
    ]);
    expect(report.checks[3]!.detail).toMatch(/403.*not authorized/);
    const down = await createSapOdataConnector({
      baseUrl: 'http://127.0.0.1:1',
      companyCodes: ['1010'],
      auth: { type: 'basic', ...SIM_USER },
    }).check();
    expect(down.checks).toEqual([{ name: 'reachable', ok: false, detail: expect.stringMatching(/ECONNREFUSED/) }]);
  });

  it('maps SAP errors: 400 with SAP message → IntegrationError; 5xx and resets → ConnectorError (indeterminate for writes)', () => {
    const body = { error: { code: 'F5/702', message: { lang: 'en', value: 'Company code 9999 does not exist' } } };
    const e400 = toSapError({ status: 400, body: JSON.stringify(body) }, 'GET A_OperationalAcctgDocItemCube', 'basic');
    expect(e400).toBeInstanceOf(IntegrationError);
    expect(e400.message).toContain('Company code 9999 does not exist (F5/702)');
    const e503 = toSapError({ status: 503 }, 'GET x', 'basic');
    expect(e503).toBeInstanceOf(ConnectorError);
    const reset = toSapError({ code: 'ECONNRESET' }, 'PATCH A_CustomerDunning', 'basic', true) as ConnectorError;
    expect(reset).toBeInstanceOf(ConnectorError);
    expect(reset.indeterminate).toBe(true);
  });

  it('logs one line per call without secrets; scrub() masks credentials', async () => {
    await gateway({}, 2);
    const lines: SapOdataLogLine[] = [];
    const c = connector({}, (l) => lines.push(l));
    await sync(c);
    await c.writeBack(
      {
        kind: 'dunning_level',
        itemId: 'i',
        sourceKey: `1010|2026|${doc(1)}|001`,
        externalId: '10100002',
        documentNumber: doc(1),
        level: 1,
        noticeId: 'n',
        dunnedOn: '2026-11-20',
      },
      { idempotencyKey: 'outbox:9' },
    );
    const text = JSON.stringify(lines);
    expect(lines.length).toBe(gw.requests.length);
    expect(text).not.toContain(SIM_USER.password);
    expect(text).not.toContain(Buffer.from(`${SIM_USER.user}:${SIM_USER.password}`).toString('base64'));
    expect(lines.find((l) => l.method === 'PATCH')).toMatchObject({
      connector: 'sap-odata',
      status: 204,
      idempotencyKey: 'outbox:9',
    });
    const raw = `Authorization: Basic ${Buffer.from('u:pw').toString('base64')}\r\nx-csrf-token: abcDEF123==\r\n{"client_secret":"s3cr3t","access_token":"eyJhbGciOi.xyz"} password=hunter2 https://u:pw@host/`;
    const s = scrub(raw);
    for (const secret of ['dTpwdw', 'abcDEF123', 's3cr3t', 'eyJhbGciOi', 'hunter2', 'u:pw@'])
      expect(s).not.toContain(secret);
  });
});

sourceConnectorConformance('sap-odata', () => makeSapOdataHarness());
