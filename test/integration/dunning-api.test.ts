import { Writable } from 'node:stream';
import { createApiKey } from '../../src/api/api-keys';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/api/logger';
import { registerStrategy } from '../../src/dunning/service';
import { parseStrategy } from '../../src/dunning/strategy-file';
import { recordPayment } from '../../src/gateway/payments';
import type { Store } from '../../src/store/db';
import { ingestBatch } from '../../src/store/ingest';
import { listen } from '../helpers/http';
import { STORE_FACTORIES } from '../helpers/stores';

const STRATEGY = `strategy: api
version: 1
segments:
  - name: all
    when: 'true'
    levels:
      - { level: 1, name: reminder, when: { daysPastDue: 3 }, channel: email, template: reminder, tone: friendly }
      - level: 2
        name: first
        when: { daysPastDue: 14, minDaysSinceLastNotice: 7 }
        channel: letter
        template: first
        tone: neutral
        fee: '3.00'
        actions: { withdrawPaymentMethods: [invoice] }
`;

interface Answer {
  status: number;
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
  body: any;
  text: string;
}

async function call(base: string, path: string, o: { token?: string; json?: unknown } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method: o.json === undefined ? 'GET' : 'POST',
    headers,
    body: o.json === undefined ? undefined : JSON.stringify(o.json),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, text, body: type.includes('json') ? JSON.parse(text) : text };
}

describe.each(STORE_FACTORIES)('dunning API on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let server: Awaited<ReturnType<typeof listen>> | undefined;
  let base: string;
  let tokenA: string;
  let tokenB: string;
  const debtor: Record<string, string> = {};
  const item: Record<string, string> = {};

  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
    await store.db
      .insertInto('tenants')
      .values([
        { tenant_id: 'tenant-a', name: 'A', country: 'DE', currency: 'EUR', profile: null },
        { tenant_id: 'tenant-b', name: 'B', country: 'DE', currency: 'EUR', profile: null },
      ])
      .execute();
    await ingestBatch(store, {
      tenantId: 'tenant-a',
      source: 'billing',
      debtorMatch: 'externalId',
      debtors: ['C1', 'C2', 'C3'].map((externalId) => ({
        externalId,
        name: `Customer ${externalId}`,
        type: 'B2C' as const,
        email: `${externalId.toLowerCase()}@example.org`,
        language: 'de',
        tags: [],
      })),
      items: [
        ['C1', 'INV-1', 119_00, '2026-02-01', 1],
        ['C1', 'INV-2', 20_00, '2026-03-10', 0],
        ['C2', 'INV-3', 45_50, '2026-03-10', 0],
        ['C3', 'INV-4', 60_00, '2026-03-11', 0],
      ].map(([externalId, doc, amount, due, level]) => ({
        sourceKey: String(doc),
        externalId: String(externalId),
        documentNumber: String(doc),
        currency: 'EUR',
        amountMinor: Number(amount),
        openMinor: Number(amount),
        dueDate: String(due),
        dunningLevel: Number(level),
      })),
    });
    for (const r of await store.db.selectFrom('debtor_links').select(['external_id', 'debtor_id']).execute())
      debtor[r.external_id] = r.debtor_id;
    for (const r of await store.db.selectFrom('items').select(['document_number', 'item_id']).execute())
      item[r.document_number] = r.item_id;
    tokenA = (await createApiKey(store, 'tenant-a', 'dunning')).token;
    tokenB = (await createApiKey(store, 'tenant-b', 'dunning')).token;
    const logger = createLogger({
      level: 'error',
      json: true,
      stream: new Writable({ write: (_c, _e, cb) => cb() }),
    });
    const app = createApp({ store, services: { recordPayment: (i) => recordPayment(store, i) }, logger });
    server = await listen(app);
    base = server.base;
  });
  afterAll(async () => {
    await server?.close();
    await dispose?.();
  });

  test('a run needs a strategy on record; the answer says how to record one', async () => {
    const a = await call(base, '/v1/dunning/runs', { token: tokenA, json: { asOf: '2026-03-16' } });
    expect(a.status).toBe(422);
    expect(a.body.detail).toMatch(/no strategy on record; run `clearhub dunning strategy register --tenant tenant-a`/);
    const text = STRATEGY;
    await registerStrategy(
      store,
      'tenant-a',
      {
        strategy: parseStrategy('config/strategies/api.v1.yaml', text, { currency: 'EUR', timezone: 'Europe/Berlin' }),
        body: text,
        origin: 'config/strategies/api.v1.yaml',
        currency: 'EUR',
        timezone: 'Europe/Berlin',
      },
      new Set(['billing']),
    );
  });

  test('propose, review (JSON and CSV), edit, approve: the notices are what the reviewer left', async () => {
    const proposed = await call(base, '/v1/dunning/runs', {
      token: tokenA,
      json: { asOf: '2026-03-16', proposal: true },
    });
    expect(proposed.status).toBe(200);
    expect(proposed.body).toMatchObject({ runId: 'run-2026-03-16', status: 'proposed', noticesCreated: 3 });
    // Executing the date while its proposal waits is a conflict.
    const clash = await call(base, '/v1/dunning/runs', { token: tokenA, json: { asOf: '2026-03-16' } });
    expect(clash.status).toBe(409);

    const page = await call(base, '/v1/dunning/runs/run-2026-03-16/proposal', { token: tokenA });
    expect(page.status).toBe(200);
    const c1 = page.body.notices.find((n: { debtorId: string }) => n.debtorId === debtor.C1);
    // INV-1 (43 days, level 1 → 2): a letter with the 3.00 fee; INV-2 rises to 1. Due: 119.00 + 20.00 + 3.00.
    expect(c1.notice).toMatchObject({
      level: 2,
      channels: ['letter'],
      fee: { value: '3.00', currency: 'EUR', minor: 3_00 },
      due: { value: '142.00', currency: 'EUR', minor: 142_00 },
      actions: { withdrawPaymentMethods: ['invoice'] },
    });
    const csv = await call(base, '/v1/dunning/runs/run-2026-03-16/proposal?format=csv', { token: tokenA });
    expect(csv.type).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\n');
    expect(lines[0]).toMatch(/^run_id,debtor_id,debtor_name,segment,notice_level,/);
    expect(lines).toHaveLength(1 + 4); // one line per item
    expect(lines.find((l) => l.includes(',INV-1,'))).toMatch(/,119\.00,0\.00,3\.00,0\.00,142\.00,no$/);

    const bad = await call(base, '/v1/dunning/runs/run-2026-03-16/proposal/edits', {
      token: tokenA,
      json: { dropItems: ['INV-99'] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.detail).toMatch(/not on proposal run-2026-03-16: item INV-99/);
    // The problem names the request's field, not an option of the CLI.
    expect(bad.body.errors).toEqual([{ path: 'dropItems', message: expect.stringContaining('INV-99') }]);
    const badDebtor = await call(base, '/v1/dunning/runs/run-2026-03-16/proposal/edits', {
      token: tokenA,
      json: { holdDebtors: ['C9'] },
    });
    expect(badDebtor.status).toBe(422);
    expect(badDebtor.body.errors).toEqual([{ path: 'holdDebtors', message: expect.stringContaining('C9') }]);
    const edit = await call(base, '/v1/dunning/runs/run-2026-03-16/proposal/edits', {
      token: tokenA,
      json: { dropItems: ['INV-1'], holdDebtors: ['C3'], reason: 'called, pays Friday' },
    });
    expect(edit.status).toBe(200);
    expect(edit.body).toEqual({ droppedItems: [item['INV-1']], heldDebtors: [debtor.C3] });

    const approved = await call(base, '/v1/dunning/runs/run-2026-03-16/approve', { token: tokenA, json: {} });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'completed', noticesCreated: 2, skipped: { 'proposal-hold': 1 } });
    expect((await call(base, '/v1/dunning/runs/run-2026-03-16/approve', { token: tokenA, json: {} })).status).toBe(409);

    const run = await call(base, '/v1/dunning/runs/run-2026-03-16', { token: tokenA });
    expect(run.body).toMatchObject({ status: 'completed', mode: 'proposal', strategy: { name: 'api', version: 1 } });
    expect(run.body.approvedAt).toEqual(expect.any(String));
    expect(
      (await call(base, '/v1/dunning/runs', { token: tokenA })).body.runs.map((r: { runId: string }) => r.runId),
    ).toEqual(['run-2026-03-16']);

    const list = await call(base, '/v1/dunning/notices?runId=run-2026-03-16', { token: tokenA });
    expect(list.body.notices).toHaveLength(2);
    const n1 = list.body.notices.find((n: { debtorId: string }) => n.debtorId === debtor.C1);
    // INV-1 was dropped: C1's notice is a fee-free reminder for INV-2 alone.
    expect(n1).toMatchObject({ level: 1, channels: ['email'], fee: { minor: 0 }, due: { value: '20.00' } });
    const one = await call(base, `/v1/dunning/notices/${n1.noticeId}`, { token: tokenA });
    expect(one.body.items).toEqual([
      expect.objectContaining({
        documentNumber: 'INV-2',
        levelBefore: 0,
        level: 1,
        daysPastDue: 6,
        open: expect.objectContaining({ value: '20.00' }),
      }),
    ]);
    // Another tenant's key sees nothing of it.
    expect((await call(base, `/v1/dunning/notices/${n1.noticeId}`, { token: tokenB })).status).toBe(404);
    expect((await call(base, '/v1/dunning/runs/run-2026-03-16', { token: tokenB })).status).toBe(404);
  });

  test('a run date of year 0000 is a 400 naming asOf, and no run is recorded', async () => {
    const runs = () =>
      store.db.selectFrom('dunning_runs').select('run_id').where('tenant_id', '=', 'tenant-a').execute();
    const before = await runs();
    const a = await call(base, '/v1/dunning/runs', { token: tokenA, json: { asOf: '0000-01-01' } });
    expect(a.status).toBe(400);
    expect(a.body.errors).toEqual([{ path: 'asOf', message: 'expected a date as YYYY-MM-DD' }]);
    expect(await runs()).toEqual(before);
  });

  test('disputes, holds, promises and plans', async () => {
    // Promises, instalments and hold ends lie ahead of the day they are agreed (today).
    const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
    const [P1, P2, I1, I2, M1] = [inDays(10), inDays(11), inDays(30), inDays(60), inDays(90)];
    const d1 = await call(base, '/v1/dunning/disputes', {
      token: tokenA,
      json: { itemId: 'INV-3', reason: 'tariff was changed without consent', reference: 'CASE-7' },
    });
    expect(d1.status).toBe(201);
    expect(d1.body).toMatchObject({ kind: 'dispute', itemId: item['INV-3'], debtorId: debtor.C2, resolvedAt: null });
    const d2 = await call(base, '/v1/dunning/disputes', { token: tokenA, json: { itemId: 'INV-3', reason: 'again' } });
    expect(d2.status).toBe(200);
    expect(d2.body.holdId).toBe(d1.body.holdId);
    expect(
      (await call(base, '/v1/dunning/disputes', { token: tokenB, json: { itemId: 'INV-3', reason: 'x' } })).status,
    ).toBe(422);

    const released = await call(base, `/v1/dunning/holds/${d1.body.holdId}/release`, {
      token: tokenA,
      json: { resolution: 'credit note issued' },
    });
    expect(released.body).toMatchObject({ outcome: 'released', resolution: 'credit note issued' });
    expect(
      (await call(base, `/v1/dunning/holds/${d1.body.holdId}/release`, { token: tokenA, json: { resolution: 'x' } }))
        .status,
    ).toBe(409);
    expect(
      (await call(base, '/v1/dunning/holds/hld-nope/release', { token: tokenA, json: { resolution: 'x' } })).status,
    ).toBe(404);

    const promise = await call(base, '/v1/dunning/promises', {
      token: tokenA,
      json: { debtorId: debtor.C3, promisedOn: P1, amount: { value: '60.00', currency: 'EUR' } },
    });
    expect(promise.status).toBe(201);
    expect(promise.body).toMatchObject({
      kind: 'promise',
      endsOn: P1,
      amount: { minor: 60_00 },
      itemIds: [item['INV-4']],
    });
    const twice = await call(base, '/v1/dunning/promises', {
      token: tokenA,
      json: { debtorId: debtor.C3, promisedOn: P2, amount: { value: '60.00', currency: 'EUR' } },
    });
    expect(twice.status).toBe(409);
    const tooPrecise = await call(base, '/v1/dunning/promises', {
      token: tokenA,
      json: { debtorId: debtor.C2, promisedOn: P2, amount: { value: '1.005', currency: 'EUR' } },
    });
    expect(tooPrecise.status).toBe(422);
    // "10.000" is ten thousand to a German clerk: refused, not booked as a promise of ten euros.
    const grouped = await call(base, '/v1/dunning/promises', {
      token: tokenA,
      json: { debtorId: debtor.C2, promisedOn: P2, amount: { value: '10.000', currency: 'EUR' } },
    });
    expect(grouped.status).toBe(422);
    expect(grouped.body.errors).toEqual([
      {
        path: 'amount.value',
        message: expect.stringMatching(/^"10\.000" has more decimals than EUR allows \(2\): for 10000 write/),
      },
    ]);
    // A day that does not exist is refused, not moved to 1 March.
    const noDay = await call(base, '/v1/dunning/promises', {
      token: tokenA,
      json: { debtorId: debtor.C2, promisedOn: '2026-02-30', amount: { value: '10.00', currency: 'EUR' } },
    });
    expect(noDay.status).toBe(400);
    const past = await call(base, '/v1/dunning/promises', {
      token: tokenA,
      json: { debtorId: debtor.C2, promisedOn: inDays(-1), amount: { value: '10.00', currency: 'EUR' } },
    });
    expect(past.status).toBe(422);
    expect(past.body.errors).toEqual([
      { path: 'promisedOn', message: expect.stringMatching(/^must not be before the day/) },
    ]);
    expect(JSON.stringify(noDay.body)).toMatch(/promisedOn/);
    expect(
      (await call(base, `/v1/dunning/holds?active=true&debtorId=${debtor.C2}`, { token: tokenA })).body.holds,
    ).toEqual([]);

    const plan = await call(base, '/v1/dunning/plans', {
      token: tokenA,
      json: {
        debtorId: debtor.C1,
        instalments: [
          { dueOn: I1, amount: { value: '70.00', currency: 'EUR' } },
          { dueOn: I2, amount: { value: '69.00', currency: 'EUR' } },
        ],
      },
    });
    expect(plan.status).toBe(201);
    expect(plan.body).toMatchObject({
      kind: 'plan',
      amount: { value: '139.00' },
      instalments: [
        { seq: 1, dueOn: I1, amount: { minor: 70_00 } },
        { seq: 2, dueOn: I2, amount: { minor: 69_00 } },
      ],
    });
    const outOfOrder = await call(base, '/v1/dunning/plans', {
      token: tokenA,
      json: {
        debtorId: debtor.C2,
        instalments: [
          { dueOn: I2, amount: { value: '10.00', currency: 'EUR' } },
          { dueOn: I1, amount: { value: '10.00', currency: 'EUR' } },
        ],
      },
    });
    expect(outOfOrder.status).toBe(422);
    expect(outOfOrder.body.detail).toMatch(/after the previous instalment/);

    const active = await call(base, `/v1/dunning/holds?active=true&debtorId=${debtor.C3}`, { token: tokenA });
    expect(active.body.holds.map((h: { kind: string }) => h.kind)).toEqual(['promise']);
    const manual = await call(base, '/v1/dunning/holds', {
      token: tokenA,
      json: { itemId: 'INV-2', reason: 'insolvency proceedings', kind: 'moratorium', endsOn: M1 },
    });
    expect(manual.status).toBe(201);
    expect(manual.body).toMatchObject({ kind: 'moratorium', itemId: item['INV-2'], endsOn: M1 });
  });

  test('restrictions: the methods a level withdrew, for the checkout', async () => {
    const r = await call(base, `/v1/dunning/debtors/${debtor.C1}/restrictions`, { token: tokenA });
    expect(r.status).toBe(200);
    // C1's level-2 notice was dropped in review, so nothing was withdrawn.
    expect(r.body).toEqual({ debtorId: debtor.C1, withdrawnMethods: [], restrictedContracts: [] });
  });

  test('the OpenAPI document lists the dunning routes', async () => {
    const doc = await call(base, '/openapi.json');
    for (const p of [
      '/v1/dunning/runs',
      '/v1/dunning/runs/{runId}/proposal',
      '/v1/dunning/runs/{runId}/approve',
      '/v1/dunning/notices/{noticeId}',
      '/v1/dunning/disputes',
      '/v1/dunning/promises',
      '/v1/dunning/plans',
    ]) {
      expect(Object.keys(doc.body.paths)).toContain(p);
    }
  });
});
