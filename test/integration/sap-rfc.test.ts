import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createSapRfcConnector, type SapRfcConnector } from '../../connectors/sap-rfc/connector';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import type { WriteBackCommand } from '../../src/domain/write-back';
import { FakeSapRfc } from '../../src/simulators/sap-rfc/fake-transport';
import { type Store, truncateAll } from '../../src/store';
import { loadCompiledMapping } from '../../src/sync/registry';
import { listQuarantine, readCheckpoint, type SyncResult, syncSource } from '../../src/sync/sync';
import { sourceConnectorConformance } from '../conformance/source-connector.conformance';
import { STORE_FACTORIES } from '../helpers/stores';
import {
  createSapRfcHarness,
  fiArOptions,
  HARNESS_CUSTOMERS,
  type SapRfcHarness,
  sapRfcHarnessFactory,
} from './sap-rfc.harness';

const TENANT = 'acme';
let store: Store;
let dispose: () => Promise<void>;

beforeAll(async () => {
  const opened = await STORE_FACTORIES[0]!.open(); // PGlite in memory
  store = opened.store;
  dispose = opened.dispose;
});
afterAll(async () => {
  await dispose();
});
beforeEach(async () => {
  await truncateAll(store);
});

function sync(connector: SapRfcConnector, mapping: string, source: string, since?: string): Promise<SyncResult> {
  return syncSource(store, {
    tenantId: TENANT,
    source,
    debtorMatch: 'externalId',
    batches: connector.pull({ since, signal: new AbortController().signal }),
    map: loadCompiledMapping(mapping),
  });
}

async function items(source: string) {
  return store.db
    .selectFrom('items')
    .select(['source_key', 'external_id', 'document_number', 'contract_ref', 'amount_minor', 'due_date', 'currency'])
    .where('tenant_id', '=', TENANT)
    .where('source', '=', source)
    .orderBy('source_key')
    .execute();
}

function payment(doc: string, customer: string, amountMinor: number): Extract<WriteBackCommand, { kind: 'payment' }> {
  return {
    kind: 'payment',
    itemId: `item-${doc}`,
    sourceKey: `1010|2024|${doc}|001`,
    externalId: customer,
    documentNumber: doc,
    paymentId: `pay-${doc}`,
    amountMinor,
    currency: 'EUR',
    cleared: true,
    valueDate: '2024-03-01',
  };
}

describe('sap-rfc FI-AR', () => {
  let h: SapRfcHarness;
  beforeEach(async () => {
    h = await createSapRfcHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('syncs all customers through syncSource into the store, quarantining what cannot be mapped', async () => {
    await h.seed(1, 10);
    const broken = await h.seedBroken();
    h.fake.seedAr({
      CUSTOMER: HARNESS_CUSTOMERS[1]!,
      DOC_NO: '1700000003',
      DB_CR_IND: 'H',
      amountMinor: 23800,
      BLINE_DATE: '20240201',
      NETTERMS: '14',
    });

    const first = await sync(h.connector, 'mappings/sap-fi-ar-rfc.v1.yaml', 'sap');
    expect(first).toMatchObject({ records: 12, inserted: 11, quarantined: 1 });
    // One read per company code and customer, each customer zero-padded to 10 digits.
    expect(h.fake.callsOf('BAPI_AR_ACC_GETOPENITEMS').map((c) => c.params.CUSTOMER)).toEqual([
      '0010100001',
      '0010100002',
      '0010100003',
      '0010100004',
    ]);

    const rows = await items('sap');
    expect(rows.find((r) => r.document_number === '9000000001')).toEqual({
      source_key: '1010|2024|9000000001|001',
      external_id: '0010100002',
      document_number: '9000000001',
      contract_ref: null,
      amount_minor: 10_001,
      due_date: '2024-02-14',
      currency: 'EUR',
    });
    expect(rows.find((r) => r.document_number === '1700000003')).toMatchObject({
      amount_minor: -23800,
      due_date: '2024-02-01',
    });
    const q = await listQuarantine(store, TENANT, 'sap');
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ file: 'BAPI_AR_ACC_GETOPENITEMS 1010/0010100001', field: 'currency' });
    expect(q[0]!.record.DOC_NO).toBe(broken);

    // Every pull is a full snapshot: nothing new the second time, a changed amount is an update.
    await h.touch('9000000003');
    const since = await readCheckpoint(store, TENANT, 'sap');
    const second = await sync(h.connector, 'mappings/sap-fi-ar-rfc.v1.yaml', 'sap', since);
    expect(second).toMatchObject({ inserted: 0, updated: 1, unchanged: 10 });
  });

  it('resumes after a communication failure in the middle of a pull, at the first customer not stored', async () => {
    await h.seed(0, 12); // three items per customer, batches of three
    h.fake.failOnRead(3); // the third customer's read fails
    await expect(sync(h.connector, 'mappings/sap-fi-ar-rfc.v1.yaml', 'sap')).rejects.toThrow(ConnectorError);
    const stored = await items('sap');
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.length).toBeLessThan(12);

    const since = await readCheckpoint(store, TENANT, 'sap');
    const before = h.fake.callsOf('BAPI_AR_ACC_GETOPENITEMS').length;
    await sync(h.connector, 'mappings/sap-fi-ar-rfc.v1.yaml', 'sap', since);
    const resumedReads = h.fake
      .callsOf('BAPI_AR_ACC_GETOPENITEMS')
      .slice(before)
      .map((c) => c.params.CUSTOMER);
    expect(resumedReads).toEqual(['0010100002', '0010100003', '0010100004']); // the first customer is not read again
    expect(await items('sap')).toHaveLength(12);

    // After a complete pull the next one is a full snapshot again.
    const done = await readCheckpoint(store, TENANT, 'sap');
    const before2 = h.fake.callsOf('BAPI_AR_ACC_GETOPENITEMS').length;
    await sync(h.connector, 'mappings/sap-fi-ar-rfc.v1.yaml', 'sap', done);
    expect(h.fake.callsOf('BAPI_AR_ACC_GETOPENITEMS').length - before2).toBe(4);
  });

  it('posts a payment and commits it on the same connection; the posting is left out of the next sync', async () => {
    await h.seed(1, 1);
    const r = await h.connector.writeBack(payment('9000000001', '0010100002', 10_001), { idempotencyKey: 'outbox:1' });
    expect(r.status).toBe('delivered');
    expect(r.sourceReference).toMatch(/^\d{10}1010\d{4}$/); // OBJ_KEY: BELNR + BUKRS + GJAHR

    const post = h.fake.callsOf('BAPI_ACC_DOCUMENT_POST');
    const commit = h.fake.callsOf('BAPI_TRANSACTION_COMMIT');
    expect(post).toHaveLength(1);
    expect(commit).toHaveLength(1);
    expect(commit[0]!.session).toBe(post[0]!.session);
    expect(commit[0]!.params).toEqual({ WAIT: 'X' });
    // The reference look-up ran first, on the same session too.
    expect(h.fake.calls.filter((c) => c.session === post[0]!.session).map((c) => c.fm)).toEqual([
      'BAPI_AR_ACC_GETOPENITEMS',
      'BAPI_AR_ACC_GETBALANCEDITEMS',
      'BAPI_ACC_DOCUMENT_POST',
      'BAPI_TRANSACTION_COMMIT',
    ]);
    expect(await h.writtenBack()).toEqual([{ documentNumber: '9000000001', kind: 'payment', amountMinor: 10_001 }]);

    const res = await sync(h.connector, 'mappings/sap-fi-ar-rfc.v1.yaml', 'sap');
    expect(res).toMatchObject({ records: 2, inserted: 1, skipped: 1 });
  });

  it('posts a payment once even when the first delivery times out after SAP applied it', async () => {
    await h.seed(1, 1);
    const cmd = payment('9000000001', '0010100002', 10_001);
    await h.timeoutAfterApplyingNextWrite!();
    const first = h.connector.writeBack(cmd, { idempotencyKey: 'outbox:7' });
    await expect(first).rejects.toThrow(ConnectorError);
    await expect(first).rejects.toMatchObject({ indeterminate: true });
    expect(h.fake.committed).toHaveLength(1);

    const again = await h.connector.writeBack(cmd, { idempotencyKey: 'outbox:7' });
    expect(again).toEqual({ status: 'duplicate', sourceReference: h.fake.committed[0]!.sapReference });
    expect(h.fake.callsOf('BAPI_ACC_DOCUMENT_POST')).toHaveLength(1);
    expect(await h.writtenBack()).toHaveLength(1);
    // Another key is another payment.
    expect((await h.connector.writeBack(cmd, { idempotencyKey: 'outbox:8' })).status).toBe('delivered');
  });

  it('finds a retried posting that SAP has cleared meanwhile (balanced items)', async () => {
    const cleared = await createSapRfcHarness({ fake: { autoClearing: true } });
    await cleared.seed(1, 1);
    const cmd = payment('9000000001', '0010100002', 10_001);
    expect((await cleared.connector.writeBack(cmd, { idempotencyKey: 'outbox:9' })).status).toBe('delivered');
    expect(cleared.fake.arItems().every((r) => r.CLEAR_DATE !== '00000000')).toBe(true);
    expect((await cleared.connector.writeBack(cmd, { idempotencyKey: 'outbox:9' })).status).toBe('duplicate');
    expect(cleared.fake.committed).toHaveLength(1);
    await cleared.close();
  });

  it('rolls back on an error RETURN: nothing committed, an IntegrationError with SAP messages', async () => {
    await h.seed(1, 1);
    h.fake.rejectNextPost([
      { type: 'E', id: 'RW', number: '609', message: 'Error in document: BKPFF $ FAKCLNT100' },
      { type: 'E', id: 'F5', number: '351', message: 'Posting period 003 2024 is not open' },
    ]);
    const p = h.connector.writeBack(payment('9000000001', '0010100002', 10_001), { idempotencyKey: 'outbox:3' });
    await expect(p).rejects.toThrow(IntegrationError);
    await expect(p).rejects.toThrow(/Posting period 003 2024 is not open/);
    const post = h.fake.callsOf('BAPI_ACC_DOCUMENT_POST')[0]!;
    expect(
      h.fake.calls
        .filter((c) => c.session === post.session)
        .map((c) => c.fm)
        .slice(-2),
    ).toEqual(['BAPI_ACC_DOCUMENT_POST', 'BAPI_TRANSACTION_ROLLBACK']);
    expect(h.fake.callsOf('BAPI_TRANSACTION_COMMIT')).toEqual([]);
    expect(h.fake.committed).toEqual([]);

    // An abort (A) is the system's trouble: retried by the outbox.
    h.fake.rejectNextPost([{ type: 'A', id: 'ZZ', number: '001', message: 'Update was terminated' }]);
    await expect(
      h.connector.writeBack(payment('9000000001', '0010100002', 10_001), { idempotencyKey: 'outbox:3' }),
    ).rejects.toThrow(ConnectorError);
    expect(h.fake.committed).toEqual([]);
  });

  it('a posting that does not balance is refused by SAP and rolled back', async () => {
    // A stateless call() per step shows why one session matters: the LUW of the post is gone before the commit.
    const fake = new FakeSapRfc();
    await fake.call('BAPI_ACC_DOCUMENT_POST', {
      DOCUMENTHEADER: {
        BUS_ACT: 'RFBU',
        COMP_CODE: '1010',
        PSTNG_DATE: '20240301',
        DOC_DATE: '20240301',
        DOC_TYPE: 'DZ',
        REF_DOC_NO: 'X',
      },
      ACCOUNTRECEIVABLE: [{ ITEMNO_ACC: '0000000001', CUSTOMER: '0010100001' }],
      CURRENCYAMOUNT: [
        { ITEMNO_ACC: '0000000001', CURRENCY: 'EUR', AMT_DOCCUR: '-1.00' },
        { ITEMNO_ACC: '0000000002', CURRENCY: 'EUR', AMT_DOCCUR: '1.00' },
      ],
    });
    await fake.call('BAPI_TRANSACTION_COMMIT', { WAIT: 'X' });
    expect(fake.committed).toEqual([]);
    expect(fake.discarded).toHaveLength(1);
    const unbalanced = await fake.call('BAPI_ACC_DOCUMENT_POST', {
      DOCUMENTHEADER: { BUS_ACT: 'RFBU', COMP_CODE: '1010', PSTNG_DATE: '20240301' },
      ACCOUNTRECEIVABLE: [{ ITEMNO_ACC: '0000000001', CUSTOMER: '0010100001' }],
      CURRENCYAMOUNT: [{ ITEMNO_ACC: '0000000001', CURRENCY: 'EUR', AMT_DOCCUR: '-1.00' }],
    });
    expect(unbalanced.RETURN).toEqual(
      expect.arrayContaining([expect.objectContaining({ TYPE: 'E', ID: 'RW', NUMBER: '033' })]),
    );
  });

  it('refuses dunning level and reversal write-backs with a clear IntegrationError', async () => {
    const base = {
      itemId: 'i',
      sourceKey: '1010|2024|9000000001|001',
      externalId: '10100002',
      documentNumber: '9000000001',
    };
    await expect(
      h.connector.writeBack(
        { ...base, kind: 'dunning_level', level: 2, noticeId: 'n1', dunnedOn: '2024-03-01' },
        { idempotencyKey: 'k' },
      ),
    ).rejects.toThrow(/no released BAPI/);
    await expect(
      h.connector.writeBack(
        { ...base, kind: 'reversal', paymentId: 'p', amountMinor: 1, currency: 'EUR', reason: 'chargeback' },
        { idempotencyKey: 'k' },
      ),
    ).rejects.toThrow(IntegrationError);
    expect(h.fake.calls).toEqual([]);
  });

  it('check(): transport, RFC_PING and a trial read; a missing authorization fails the last', async () => {
    const report = await h.connector.check();
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
      ['transport', true],
      ['connection', true],
      ['authorization', true],
    ]);
    h.fake.denyCompanyCode('1010');
    const denied = await h.connector.check();
    expect(denied.ok).toBe(false);
    expect(denied.checks[2]).toMatchObject({ name: 'authorization', ok: false });
    expect(denied.checks[2]!.detail).toMatch(/No authorization for company code 1010/);
    await expect(sync(h.connector, 'mappings/sap-fi-ar-rfc.v1.yaml', 'sap')).rejects.toThrow(IntegrationError);
    expect(h.fake.callsOf('BAPI_AR_ACC_GETOPENITEMS')).toHaveLength(3); // one per check, one by the sync: not retried
  });
});

describe('sap-rfc FI-CA', () => {
  let fake: FakeSapRfc;
  let connector: SapRfcConnector;
  beforeEach(() => {
    fake = new FakeSapRfc();
    connector = createSapRfcConnector(
      {
        variant: 'fi-ca',
        connection: { dest: 'FAKE' },
        contractAccounts: ['100000042', '100000043'],
        batchSize: 2,
        resilience: { retries: 0 },
      },
      process.cwd(),
      fake,
    );
    fake.seedCa({
      DOC_NO: '000000004711',
      BUSPARTNER: '1000000042',
      CONT_ACCT: '100000042',
      CONTRACT: 'SIM-4917012345678',
      amountMinor: 3999,
    });
    fake.seedCa({ DOC_NO: '000000004802', BUSPARTNER: '1000000042', CONT_ACCT: '100000042', amountMinor: -1000 });
    fake.seedCa({
      DOC_NO: '000000004900',
      BUSPARTNER: '1000000043',
      CONT_ACCT: '100000043',
      CONTRACT: 'DSL-77',
      amountMinor: 2495,
      NET_DATE: '20240301',
    });
  });

  const clear = (amountMinor: number): Extract<WriteBackCommand, { kind: 'payment' }> => ({
    kind: 'payment',
    itemId: 'i1',
    sourceKey: '000000004711|001|0001|000',
    externalId: '1000000042',
    documentNumber: '000000004711',
    paymentId: 'pay-1',
    amountMinor,
    currency: 'EUR',
    cleared: amountMinor === 3999,
    valueDate: '2024-03-01',
  });

  it('syncs every contract account through syncSource', async () => {
    const res = await sync(connector, 'mappings/sap-fi-ca-rfc.v1.yaml', 'fica');
    expect(res).toMatchObject({ records: 3, inserted: 3, quarantined: 0 });
    expect(fake.callsOf('BAPI_CTRACCONTRACTACCOUNT_GOI1').map((c) => c.params.MAINSELECTIONS)).toEqual([
      [{ CONT_ACCT: '000100000042' }],
      [{ CONT_ACCT: '000100000043' }],
    ]);
    expect(await items('fica')).toEqual([
      {
        source_key: '000000004711|001|0001|000',
        external_id: '1000000042',
        document_number: '000000004711',
        contract_ref: '000100000042/SIM-4917012345678',
        amount_minor: 3999,
        due_date: '2024-02-15',
        currency: 'EUR',
      },
      expect.objectContaining({
        source_key: '000000004802|001|0001|000',
        amount_minor: -1000,
        contract_ref: '000100000042',
      }),
      expect.objectContaining({
        source_key: '000000004900|001|0001|000',
        external_id: '1000000043',
        due_date: '2024-03-01',
      }),
    ]);
  });

  it('clears an item with CLOI and commits on the same connection, once even after a timeout', async () => {
    fake.timeoutAfterApplyingNextWrite();
    await expect(connector.writeBack(clear(2000), { idempotencyKey: 'outbox:11' })).rejects.toMatchObject({
      name: 'ConnectorError',
      indeterminate: true,
    });
    const cloi = fake.callsOf('BAPI_CTRACCONTRACTACCOUNT_CLOI');
    expect(cloi).toHaveLength(1);
    expect(fake.callsOf('BAPI_TRANSACTION_COMMIT')[0]!.session).toBe(cloi[0]!.session);
    expect(cloi[0]!.params).toMatchObject({
      CONTRACTACCOUNT: '000100000042',
      OPENITEMS: [{ DOC_NO: '000000004711', AMOUNT_CLEAR: '20.00' }],
    });

    const again = await connector.writeBack(clear(2000), { idempotencyKey: 'outbox:11' });
    expect(again).toEqual({ status: 'duplicate', sourceReference: fake.committed[0]!.sapReference });
    expect(fake.committed).toHaveLength(1);
    expect(fake.caItems()[0]!.AMOUNT).toBe('19.9900');
  });

  it('refuses to clear more than SAP has open, and rolls back an error RETURN', async () => {
    await expect(connector.writeBack(clear(5000), { idempotencyKey: 'outbox:12' })).rejects.toThrow(
      /exceeds the amount open/,
    );
    fake.rejectNextPost([
      { type: 'E', id: '>3', number: '101', message: 'Contract account 000100000042 is locked for clearing' },
    ]);
    await expect(connector.writeBack(clear(3999), { idempotencyKey: 'outbox:12' })).rejects.toThrow(IntegrationError);
    expect(fake.callsOf('BAPI_TRANSACTION_ROLLBACK')).toHaveLength(1);
    expect(fake.committed).toEqual([]);
    expect((await connector.writeBack(clear(3999), { idempotencyKey: 'outbox:12' })).status).toBe('delivered');
    expect(fake.caItems()[0]!.AMOUNT).toBe('0.0000');
  });
});

describe('sap-rfc without node-rfc', () => {
  let installed = false;
  try {
    require.resolve('node-rfc');
    installed = true;
  } catch {
    installed = false;
  }
  const run = installed ? it.skip : it;

  run('the real loader explains what to install, once, for pull, write-back and check', async () => {
    const connector = createSapRfcConnector(fiArOptions());
    const pull = (async () => {
      for await (const _ of connector.pull({ signal: new AbortController().signal })) {
        // nothing: the first step fails
      }
    })();
    await expect(pull).rejects.toThrow(IntegrationError);
    await expect(pull).rejects.toThrow(/SAP NW RFC SDK/);
    await expect(pull).rejects.toThrow(/SAPNWRFC_HOME/);
    await expect(pull).rejects.toThrow(/npm install node-rfc/);
    await expect(pull).rejects.toThrow(/package node-rfc is not installed/);
    await expect(pull).rejects.not.toThrow(/https?:/);
    await expect(connector.writeBack(payment('1', '1', 1), { idempotencyKey: 'k' })).rejects.toThrow(/SAPNWRFC_HOME/);
    const report = await connector.check();
    expect(report).toMatchObject({ ok: false, checks: [{ name: 'transport', ok: false }] });
    expect(report.checks[0]!.detail).toMatch(/npm install node-rfc/);
  });

  it('is an optional dependency in package.json, not a required one', () => {
    const pkg = require(join(__dirname, '../../package.json')) as Record<string, Record<string, string> | undefined>;
    expect(pkg.optionalDependencies?.['node-rfc']).toBeDefined();
    expect(pkg.dependencies?.['node-rfc']).toBeUndefined();
    expect(existsSync(join(__dirname, '../../connectors/sap-rfc/transport.ts'))).toBe(true);
  });
});

// The shared source-connector contract, on the FI-AR variant against the fake SAP.
sourceConnectorConformance('sap-rfc (fi-ar)', sapRfcHarnessFactory);
