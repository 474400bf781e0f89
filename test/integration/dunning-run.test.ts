import { exportClaims, importAgencyStatus } from '../../src/dunning/agency';
import { mayContactAt } from '../../src/dunning/calendar';
import { dunningEligibility, restrictedContracts, withdrawnMethods } from '../../src/dunning/eligibility';
import { disputeItem, listHolds, paymentPlan, promiseToPay, resolveHold } from '../../src/dunning/holds';
import { approveProposal, editProposal, proposalPage } from '../../src/dunning/proposal';
import { type DunningRunResult, query, runDunning, screenOf, thanksRunOf } from '../../src/dunning/run';
import type { CompiledStrategy } from '../../src/dunning/strategy';
import { parseStrategy } from '../../src/dunning/strategy-file';
import { recordPayment } from '../../src/gateway/payments';
import type { Store } from '../../src/store/db';
import { ingestBatch } from '../../src/store/ingest';
import { STORE_FACTORIES } from '../helpers/stores';

/** The strategy of these tests: one segment, four levels, a moratorium for old consumer contracts in March 2026. */
const STRATEGY = `strategy: it
version: 1
guardrails:
  maxContactsPerWeek: 2
  minTotal: '1.00'
  moratoria:
    - name: old-contracts
      when: debtor.type == "B2C" and item.documentDate < date("2026-01-01")
      from: 2026-03-01
      until: 2026-03-31
promises: { graceDays: 2, brokenResumesAtLevel: 3 }
plans: { graceDays: 0, brokenResumesAtLevel: 3 }
thankYou: { channel: email, template: thank-you, withinDays: 30 }
agencies: [{ name: collectors }]
segments:
  - name: all
    when: 'true'
    levels:
      - { level: 1, name: reminder, when: { daysPastDue: 3 }, channel: email, fallbacks: [letter], template: reminder, tone: friendly }
      - level: 2
        name: first
        when: { daysPastDue: 14, minDaysSinceLastNotice: 7 }
        channel: email
        template: first
        tone: neutral
        fee: '5.00'
        actions: { withdrawPaymentMethods: [invoice, bnpl_invoice] }
      - level: 3
        name: second
        when: { daysPastDue: 28, minDaysSinceLastNotice: 7 }
        channel: letter
        template: second
        tone: firm
        fee: '2.50'
        interest: true
        actions: { restrictContract: true }
      - level: 4
        name: agency
        when: { daysPastDue: 42, minDaysSinceLastNotice: 7 }
        channel: letter
        template: final
        tone: final
        actions: { handOff: collectors }
        final: agency
`;
const strategy = parseStrategy('config/strategies/it.v1.yaml', STRATEGY, {
  currency: 'EUR',
  timezone: 'Europe/Berlin',
});

/**
 * The same without interest, for tests on dates around today: payments are dated when they are recorded, and the
 * base-rate table only reaches as far as the Bundesbank has published.
 */
const TODAY_STRATEGY = parseStrategy(
  'config/strategies/it.v2.yaml',
  STRATEGY.replace('interest: true', 'interest: false').replace('version: 1', 'version: 2'),
  {
    currency: 'EUR',
    timezone: 'Europe/Berlin',
  },
);

/** A strategy that tries every trick: a notice every day, at 23:30, by SMS, with a fee on the very first one. */
const GREEDY = parseStrategy(
  'config/strategies/greedy.v1.yaml',
  `strategy: greedy
version: 1
guardrails: { maxContactsPerWeek: 2 }
segments:
  - name: all
    when: 'true'
    levels:
${[1, 2, 3, 4, 5, 6, 7, 8]
  .map(
    (l) =>
      `      - { level: ${l}, name: day-${l}, when: { daysPastDue: ${l} }, channel: sms, fallbacks: [email], template: reminder, tone: firm, fee: '5.00', sendAt: '23:30' }`,
  )
  .join('\n')}
`,
  { currency: 'EUR', timezone: 'Europe/Berlin' },
);

interface DebtorSpec {
  ext: string;
  type?: 'B2B' | 'B2C';
  email?: string | null;
  phone?: string | null;
  tags?: string[];
  items: {
    doc: string;
    source?: string;
    amount: number;
    due: string;
    docDate?: string;
    level?: number;
    block?: string;
    contract?: string;
  }[];
}

/** Loads debtors and their items (per source) and returns debtor ids by customer number and item ids by document. */
async function ledger(store: Store, tenantId: string, debtors: DebtorSpec[]) {
  await store.db
    .insertInto('tenants')
    .values({ tenant_id: tenantId, name: tenantId, country: 'DE', currency: 'EUR', profile: null })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
  const sources = [...new Set(debtors.flatMap((d) => d.items.map((i) => i.source ?? 'billing')))];
  for (const source of sources) {
    await ingestBatch(store, {
      tenantId,
      source,
      debtorMatch: 'externalId',
      debtors: debtors.map((d) => ({
        externalId: d.ext,
        name: `Customer ${d.ext}`,
        type: d.type ?? 'B2C',
        email: d.email === undefined ? `${d.ext.toLowerCase()}@example.org` : d.email,
        phone: d.phone ?? null,
        language: 'de',
        tags: d.tags ?? [],
      })),
      items: debtors.flatMap((d) =>
        d.items
          .filter((i) => (i.source ?? 'billing') === source)
          .map((i) => ({
            sourceKey: i.doc,
            externalId: d.ext,
            documentNumber: i.doc,
            contractRef: i.contract ?? null,
            currency: 'EUR',
            amountMinor: i.amount,
            openMinor: i.amount,
            documentDate: i.docDate ?? null,
            dueDate: i.due,
            dunningLevel: i.level ?? 0,
            dunningBlock: i.block ?? null,
          })),
      ),
    });
  }
  const debtorRows = await store.db
    .selectFrom('debtor_links')
    .select(['external_id', 'debtor_id'])
    .where('tenant_id', '=', tenantId)
    .execute();
  const itemRows = await store.db
    .selectFrom('items')
    .select(['document_number', 'item_id'])
    .where('tenant_id', '=', tenantId)
    .execute();
  return {
    debtor: Object.fromEntries(debtorRows.map((r) => [r.external_id, r.debtor_id])) as Record<string, string>,
    item: Object.fromEntries(itemRows.map((r) => [r.document_number, r.item_id])) as Record<string, string>,
  };
}

const run = (store: Store, tenantId: string, asOf: string, s: CompiledStrategy = strategy, proposal = false) =>
  runDunning(store, {
    tenantId,
    strategy: s,
    asOf,
    levelWriteBackSources: new Set(['billing']),
    mode: proposal ? 'proposal' : 'execute',
  });

async function notices(store: Store, tenantId: string, runId?: string) {
  return query<{
    notice_id: string;
    debtor_id: string;
    level: number;
    channel: string;
    tone: string;
    fee_minor: number;
    total_minor: number;
    interest_minor: number;
    scheduled_at: string;
    item_ids: string[];
    run_id: string;
    kind: string;
  }>(
    store,
    `SELECT notice_id, debtor_id, level, channel, tone, fee_minor, total_minor, interest_minor, scheduled_at, item_ids, run_id, kind
     FROM notices WHERE tenant_id = $1 ${runId ? 'AND run_id = $2' : ''} ORDER BY run_id, debtor_id`,
    runId ? [tenantId, runId] : [tenantId],
  );
}

/** Each item's dunning level as every reader sees it: the higher of the source's and the run's (item_dunning). */
async function levels(store: Store, tenantId: string): Promise<Record<string, number>> {
  const rows = await query<{ document_number: string; level: number }>(
    store,
    `SELECT i.document_number, GREATEST(i.dunning_level, COALESCE(d.level, 0)) AS level
     FROM items i LEFT JOIN item_dunning d ON d.tenant_id = i.tenant_id AND d.item_id = i.item_id
     WHERE i.tenant_id = $1`,
    [tenantId],
  );
  return Object.fromEntries(rows.map((r) => [r.document_number, r.level]));
}

async function counts(store: Store, tenantId: string) {
  const [r] = await query<{ notices: number; lines: number; outbox: number; events: number; actions: number }>(
    store,
    `SELECT (SELECT count(*)::int FROM notices WHERE tenant_id = $1) AS notices,
            (SELECT count(*)::int FROM notice_items WHERE tenant_id = $1) AS lines,
            (SELECT count(*)::int FROM outbox WHERE tenant_id = $1) AS outbox,
            (SELECT count(*)::int FROM events WHERE tenant_id = $1) AS events,
            (SELECT count(*)::int FROM dunning_actions WHERE tenant_id = $1) AS actions`,
    [tenantId],
  );
  return r!;
}

const today = () => new Date().toISOString().slice(0, 10);
const plusDays = (date: string, n: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

describe.each(STORE_FACTORIES)('dunning runs on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
  });
  afterAll(async () => dispose?.());

  test('one notice per debtor covers every due item across subledgers; a re-run creates nothing twice', async () => {
    const t = 'run';
    const ids = await ledger(store, t, [
      {
        ext: 'C1',
        items: [
          { doc: 'B-1', amount: 119_00, due: '2026-02-10' },
          { doc: 'F-1', source: 'fica', amount: 40_00, due: '2026-02-20' },
          { doc: 'B-2', amount: 10_00, due: '2026-03-20' }, // not due on 16 March
        ],
      },
      { ext: 'C2', items: [{ doc: 'B-3', amount: 300_00, due: '2026-03-14' }] }, // 2 days: not yet
    ]);
    const first = await run(store, t, '2026-03-16');
    expect(first).toMatchObject({ noticesCreated: 1, itemsDunned: 2, byLevel: { 1: 1 } });
    const [n] = await notices(store, t);
    expect(n).toMatchObject({
      debtor_id: ids.debtor.C1,
      level: 1,
      channel: 'email,letter',
      tone: 'friendly',
      total_minor: 159_00, // 119.00 + 40.00
      fee_minor: 0,
      // Monday 16 March 2026, 09:00 in Berlin (CET) = 08:00 UTC.
      scheduled_at: '2026-03-16T08:00:00.000Z',
    });
    expect([...n!.item_ids].sort()).toEqual([ids.item['B-1'], ids.item['F-1']].sort());
    expect(await levels(store, t)).toMatchObject({ 'B-1': 1, 'F-1': 1, 'B-2': 0, 'B-3': 0 });
    // Only the billing source asked for level write-backs.
    const outbox = await store.db
      .selectFrom('outbox')
      .select(['source', 'command'])
      .where('tenant_id', '=', t)
      .execute();
    expect(outbox).toEqual([
      {
        source: 'billing',
        command: expect.objectContaining({
          kind: 'dunning_level',
          documentNumber: 'B-1',
          level: 1,
          dunnedOn: '2026-03-16',
        }),
      },
    ]);

    const before = await counts(store, t);
    const again = await run(store, t, '2026-03-16');
    expect(again.noticesCreated).toBe(0);
    expect(await counts(store, t)).toEqual(before);
    // The same date gives the same notice id (it is built from tenant, run and debtor).
    expect((await notices(store, t))[0]!.notice_id).toBe(n!.notice_id);
  });

  test('small pages: every debtor is read once, whatever the page edges cut through', async () => {
    const t = 'pages';
    const specs: DebtorSpec[] = Array.from({ length: 9 }, (_, d) => ({
      ext: `P${d}`,
      items: Array.from({ length: (d % 3) + 1 }, (_, k) => ({ doc: `P${d}-${k}`, amount: 10_00, due: '2026-03-01' })),
    }));
    await ledger(store, t, specs);
    // Pages of 2 items: debtors with 1, 2 and 3 items end pages in every possible place.
    const r = await runDunning(store, {
      tenantId: t,
      strategy,
      asOf: '2026-03-16',
      levelWriteBackSources: new Set(),
      mode: 'execute',
      pageSize: 2,
    });
    expect(r).toMatchObject({ debtorsConsidered: 9, noticesCreated: 9, itemsDunned: 18 }); // 3 × (1 + 2 + 3)
    expect(new Set((await notices(store, t)).map((n) => n.debtor_id)).size).toBe(9);
  });

  test('a screened run decides every debtor as reading all items does: notices, levels and why the others got none', async () => {
    // Two segments and no catch-all (a debtor in neither is `no-segment`), minimum amounts, spacing, a block, a hold.
    const screened = parseStrategy(
      'config/strategies/screen.v1.yaml',
      `strategy: screen
version: 1
guardrails: { maxContactsPerWeek: 2, minTotal: '1.00' }
segments:
  - name: business
    when: debtor.type == "B2B"
    levels:
      - { level: 1, name: reminder, when: { daysPastDue: 7, minAmount: '50.00' }, channel: email, fallbacks: [letter], template: reminder, tone: friendly }
      - { level: 2, name: first, when: { daysPastDue: 21, minAmount: '50.00', minDaysSinceLastNotice: 10 }, channel: letter, template: first, tone: neutral }
  - name: young
    when: '"young" in debtor.tags'
    levels:
      - { level: 1, name: reminder, when: { daysPastDue: 3 }, channel: email, fallbacks: [letter], template: reminder, tone: friendly }
      - { level: 2, name: first, when: { daysPastDue: 12, minDaysSinceLastNotice: 7 }, channel: email, fallbacks: [letter], template: first, tone: neutral }
`,
      { currency: 'EUR', timezone: 'Europe/Berlin' },
    );
    expect(screenOf(screened, '2026-06-15')).toBeDefined();
    const specs: DebtorSpec[] = [
      { ext: 'B1', type: 'B2B', items: [{ doc: 'B1-1', amount: 100_00, due: '2026-06-01' }] }, // rises to 1
      { ext: 'B2', type: 'B2B', items: [{ doc: 'B2-1', amount: 100_00, due: '2026-06-10' }] }, // 5 days: not yet
      { ext: 'B3', type: 'B2B', items: [{ doc: 'B3-1', amount: 100_00, due: '2026-05-16', level: 1 }] }, // source's 1 → 2
      { ext: 'B4', type: 'B2B', items: [{ doc: 'B4-1', amount: 20_00, due: '2026-06-01' }] }, // below the minimum
      { ext: 'B5', type: 'B2B', items: [{ doc: 'B5-1', amount: 100_00, due: '2026-06-01', block: 'X' }] }, // blocked
      { ext: 'Y1', tags: ['young'], items: [{ doc: 'Y1-1', amount: 10_00, due: '2026-06-10' }] }, // rises, and again
      { ext: 'Y2', tags: ['young'], items: [{ doc: 'Y2-1', amount: 10_00, due: '2026-06-14' }] }, // 1 day: not yet
      { ext: 'Y3', tags: ['young'], items: [{ doc: 'Y3-1', amount: 10_00, due: '2026-06-01' }] }, // disputed
      { ext: 'N1', items: [{ doc: 'N1-1', amount: 10_00, due: '2026-05-01' }] }, // in no segment
    ];
    const outcome = async (tenantId: string, screen: boolean) => {
      const ids = await ledger(store, tenantId, specs);
      await disputeItem(store, {
        tenantId,
        itemId: ids.item['Y3-1']!,
        reason: 'never ordered',
        startsOn: '2026-06-01',
      });
      const ext = Object.fromEntries(Object.entries(ids.debtor).map(([e, d]) => [d, e]));
      const nights: unknown[] = [];
      for (const asOf of ['2026-06-15', '2026-06-22', '2026-06-29']) {
        const r = await runDunning(store, {
          tenantId,
          strategy: screened,
          asOf,
          levelWriteBackSources: new Set(['billing']),
          mode: 'execute',
          screen,
        });
        const made = (await notices(store, tenantId, r.runId)).map(
          (n) => `${ext[n.debtor_id]}:${n.level}:${n.total_minor}`,
        );
        nights.push({ ...r, notices: made.sort() });
      }
      return { nights, levels: await levels(store, tenantId) };
    };
    const read = await outcome('screen-off', false);
    const screenedOutcome = await outcome('screen-on', true);
    expect(screenedOutcome).toEqual(read);
    expect(read.nights[0]).toMatchObject({
      noticesCreated: 3,
      notices: ['B1:1:10000', 'B3:2:10000', 'Y1:1:1000'],
      skipped: { 'not-due': 2, 'below-minimum': 1, held: 2, 'no-segment': 1 },
    });
    // A week later B1 waits for its spacing (7 of 10 days) and Y1 has it (7 of 7); B2 and Y2 are due now.
    expect(read.nights[1]).toMatchObject({ notices: ['B2:1:10000', 'Y1:2:1000', 'Y2:1:1000'] });
    expect(read.levels).toMatchObject({ 'B1-1': 2, 'B3-1': 2, 'Y1-1': 2, 'B4-1': 0, 'B5-1': 0, 'Y3-1': 0, 'N1-1': 0 });
  });

  test("a key with the packed read's separator in it is read all the same", async () => {
    const t = 'odd-keys';
    const ids = await ledger(store, t, [
      { ext: 'O\u001fdd', items: [{ doc: 'DOC\u001f1', amount: 10_00, due: '2026-03-01', source: 'we\u001eird' }] },
    ]);
    const r = await run(store, t, '2026-03-16');
    expect(r.noticesCreated).toBe(1);
    expect((await notices(store, t))[0]!.item_ids).toEqual([ids.item['DOC\u001f1']]);
  });

  test('disputed, promised and moratorium items are not dunned; blocked ones neither; a resolved dispute comes back', async () => {
    const t = 'holds';
    const ids = await ledger(store, t, [
      {
        ext: 'D1',
        items: [
          { doc: 'D1-A', amount: 50_00, due: '2026-03-01', docDate: '2026-02-01' },
          { doc: 'D1-B', amount: 70_00, due: '2026-03-02', docDate: '2026-02-01' },
        ],
      },
      { ext: 'P1', items: [{ doc: 'P1-A', amount: 80_00, due: '2026-03-01', docDate: '2026-02-01' }] },
      // A consumer contract concluded before 2026: under the March moratorium. A business one is not.
      { ext: 'M1', items: [{ doc: 'M1-A', amount: 90_00, due: '2026-03-01', docDate: '2025-12-15' }] },
      { ext: 'M2', type: 'B2B', items: [{ doc: 'M2-A', amount: 90_00, due: '2026-03-01', docDate: '2025-12-15' }] },
      { ext: 'S1', items: [{ doc: 'S1-A', amount: 60_00, due: '2026-03-01', block: 'R' }] },
    ]);
    const dispute = await disputeItem(store, {
      tenantId: t,
      itemId: 'D1-A',
      reason: 'never received the phone',
      startsOn: '2026-03-05',
    });
    expect(dispute.created).toBe(true);
    expect((await disputeItem(store, { tenantId: t, itemId: ids.item['D1-A']!, reason: 'again' })).created).toBe(false);
    await promiseToPay(store, {
      tenantId: t,
      debtorId: ids.debtor.P1!,
      promisedOn: '2026-03-25',
      amountMinor: 80_00,
      currency: 'EUR',
      startsOn: '2026-03-10',
    });

    const r = await run(store, t, '2026-03-16');
    expect(r.skipped).toMatchObject({ held: 3 }); // P1 (promise), M1 (moratorium), S1 (source block)
    const got = await notices(store, t);
    expect(got.map((n) => n.debtor_id).sort()).toEqual([ids.debtor.D1, ids.debtor.M2].sort());
    expect(got.find((n) => n.debtor_id === ids.debtor.D1)!.item_ids).toEqual([ids.item['D1-B']]);
    expect(await levels(store, t)).toMatchObject({ 'D1-A': 0, 'D1-B': 1, 'P1-A': 0, 'M1-A': 0, 'M2-A': 1, 'S1-A': 0 });

    // The dispute is settled in the company's favour: the item is back in the strategy on the next run.
    await resolveHold(store, { tenantId: t, holdId: dispute.hold.holdId, resolution: 'delivery confirmed' });
    await run(store, t, '2026-03-17');
    expect(await levels(store, t)).toMatchObject({ 'D1-A': 1 });
    // After the moratorium (31 March) the old consumer contract is dunned like any other.
    await run(store, t, '2026-04-01');
    expect((await levels(store, t))['M1-A']).toBe(1);
  });

  test('a broken promise resumes at the configured level; a missed instalment breaks a plan; a kept promise ends quietly', async () => {
    // Payments are dated when they are recorded, so this test runs on dates around today.
    const t = 'promises';
    const T = today();
    const ids = await ledger(store, t, [
      { ext: 'BROKE', items: [{ doc: 'BR-1', amount: 100_00, due: plusDays(T, -20), level: 1 }] },
      { ext: 'KEEPS', items: [{ doc: 'KP-1', amount: 100_00, due: plusDays(T, -20), level: 1 }] },
      { ext: 'PLAN', items: [{ doc: 'PL-1', amount: 300_00, due: plusDays(T, -20), level: 1 }] },
    ]);
    await promiseToPay(store, {
      tenantId: t,
      debtorId: ids.debtor.BROKE!,
      promisedOn: plusDays(T, -5),
      amountMinor: 100_00,
      currency: 'EUR',
      startsOn: plusDays(T, -10),
    });
    const kept = await promiseToPay(store, {
      tenantId: t,
      debtorId: ids.debtor.KEEPS!,
      promisedOn: T,
      amountMinor: 100_00,
      currency: 'EUR',
      startsOn: plusDays(T, -10),
    });
    const plan = await paymentPlan(store, {
      tenantId: t,
      debtorId: ids.debtor.PLAN!,
      currency: 'EUR',
      startsOn: plusDays(T, -10),
      instalments: [
        { dueOn: plusDays(T, -3), amountMinor: 100_00 },
        { dueOn: plusDays(T, 27), amountMinor: 200_00 },
      ],
    });
    // KEEPS pays in full; PLAN pays 60.00 of the 100.00 instalment due three days ago; BROKE pays nothing.
    await recordPayment(store, {
      tenantId: t,
      idempotencyKey: 'keeps-1',
      debtorId: ids.debtor.KEEPS!,
      amountMinor: 100_00,
      currency: 'EUR',
      method: 'cash',
    });
    await recordPayment(store, {
      tenantId: t,
      idempotencyKey: 'plan-1',
      debtorId: ids.debtor.PLAN!,
      amountMinor: 60_00,
      currency: 'EUR',
      method: 'cash',
    });

    await run(store, t, T, TODAY_STRATEGY);
    // Broken (promised 5 days ago, 2 days grace, nothing paid): straight to level 3 (the configured level) although
    // the item would only rise to 2. The plan too (60.00 < 100.00 due). KEEPS's item is paid and closed.
    expect(await levels(store, t)).toMatchObject({ 'BR-1': 3, 'PL-1': 3, 'KP-1': 1 });
    const holds = await listHolds(store, { tenantId: t, limit: 10 });
    const outcome = Object.fromEntries(holds.map((h) => [h.holdId, h.outcome]));
    expect(outcome[kept.holdId]).toBe('kept');
    expect(outcome[plan.holdId]).toBe('broken');
    expect(holds.filter((h) => h.outcome === 'broken')).toHaveLength(2);
    const n = await notices(store, t, `run-${T}`);
    expect(n.filter((x) => x.level === 3)).toHaveLength(2);
  });

  test('contact caps and quiet hours hold under a strategy that tries to break them; the first notice stays free', async () => {
    const t = 'greedy';
    await ledger(store, t, [
      {
        ext: 'G1',
        phone: '+4915100000009',
        items: Array.from({ length: 8 }, (_, k) => ({ doc: `G-${k}`, amount: 10_00, due: '2026-03-01' })),
      },
    ]);
    const sent: DunningRunResult[] = [];
    // Daily runs from Wednesday 4 March to Wednesday 11 March 2026: the strategy wants a notice every day.
    for (let d = 4; d <= 11; d++) sent.push(await run(store, t, `2026-03-${String(d).padStart(2, '0')}`, GREEDY));
    const got = await notices(store, t);
    // At most two contacts in any 7 days: 4 and 5 March, then nothing until 11 March (7 days after the 4th).
    expect(got.map((n) => n.run_id)).toEqual(['run-2026-03-04', 'run-2026-03-05', 'run-2026-03-11']);
    expect(sent.map((r) => r.skipped['contact-cap'] ?? 0)).toEqual([0, 0, 1, 1, 1, 1, 1, 0]);
    for (const n of got) {
      // 23:30 is inside the quiet hours: every notice is moved to 08:00 on the next business day.
      expect(new Date(n.scheduled_at).toISOString().slice(11, 16)).toBe('07:00'); // 08:00 CET
      expect(mayContactAt(GREEDY.guardrails.calendar, new Date(n.scheduled_at))).toBe(true);
      expect(n.channel).toBe('sms,email');
    }
    // Thursday 5 March 23:30 → Friday 6 March 08:00; Wednesday 11 March → Thursday 12 March.
    expect(got.map((n) => n.scheduled_at)).toEqual([
      '2026-03-05T07:00:00.000Z',
      '2026-03-06T07:00:00.000Z',
      '2026-03-12T07:00:00.000Z',
    ]);
    // The first notice after the due date puts the debtor in default: no fee whatever the level says.
    expect(got.map((n) => n.fee_minor)).toEqual([0, 5_00, 5_00]);
  });

  test('proposal → edit → approve: nothing is dunned before approval, the edits are what gets sent', async () => {
    const t = 'proposal';
    const ids = await ledger(store, t, [
      {
        ext: 'A',
        items: [
          { doc: 'A-1', amount: 100_00, due: '2026-02-01', level: 1, contract: 'SIM-A' },
          { doc: 'A-2', amount: 20_00, due: '2026-03-10' },
        ],
      },
      { ext: 'B', items: [{ doc: 'B-1', amount: 30_00, due: '2026-03-10' }] },
      { ext: 'C', items: [{ doc: 'C-1', amount: 40_00, due: '2026-03-10' }] },
    ]);
    const before = await counts(store, t);
    const proposed = await run(store, t, '2026-03-16', strategy, true);
    expect(proposed).toMatchObject({ status: 'proposed', noticesCreated: 3 });
    expect(await counts(store, t)).toEqual(before);
    expect(Object.values(await levels(store, t)).sort()).toEqual([0, 0, 0, 1]);
    // Proposing again shows the same proposal; executing the date is refused while it waits.
    expect(await run(store, t, '2026-03-16', strategy, true)).toMatchObject({ status: 'proposed', noticesCreated: 3 });
    await expect(run(store, t, '2026-03-16')).rejects.toThrow(/proposal awaiting approval/);

    const page = await proposalPage(store, { tenantId: t, runId: 'run-2026-03-16', strategy });
    const a = page.notices.find((n) => n.debtorId === ids.debtor.A)!;
    // A-1 (43 days, level 1 → 2): e-mail, fee 5.00 (A was in default), withdraws purchase on account.
    expect(a.notice).toMatchObject({ level: 2, feeMinor: 5_00, totalMinor: 120_00, dueMinor: 125_00 });

    await expect(editProposal(store, { tenantId: t, runId: 'run-2026-03-16', dropItems: ['NOPE'] })).rejects.toThrow(
      /not on proposal run-2026-03-16: item NOPE/,
    );
    await editProposal(store, { tenantId: t, runId: 'run-2026-03-16', dropItems: ['A-1'], holdDebtors: ['B'] });
    const result = await approveProposal(store, {
      tenantId: t,
      runId: 'run-2026-03-16',
      strategy,
      levelWriteBackSources: new Set(['billing']),
    });
    expect(result).toMatchObject({ status: 'completed', noticesCreated: 2, skipped: { 'proposal-hold': 1 } });
    const got = await notices(store, t);
    // A's notice lost A-1: it is now a reminder for A-2 alone, without the fee. B was held; C as proposed.
    expect(got.map((n) => [n.debtor_id, n.level, n.total_minor, n.fee_minor])).toEqual(
      [
        [ids.debtor.A, 1, 20_00, 0],
        [ids.debtor.C, 1, 40_00, 0],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
    expect(await levels(store, t)).toMatchObject({ 'A-1': 1, 'A-2': 1, 'B-1': 0, 'C-1': 1 });
    await expect(
      approveProposal(store, { tenantId: t, runId: 'run-2026-03-16', strategy, levelWriteBackSources: new Set() }),
    ).rejects.toThrow(/not a proposal any more/);
  });

  test('a part-payment between proposal and approval: the notice asks interest on what is still open', async () => {
    const t = 'proposal-paid';
    const ids = await ledger(store, t, [
      { ext: 'Z', items: [{ doc: 'Z-1', amount: 1_000_00, due: '2026-02-01', level: 2 }] },
    ]);
    await run(store, t, '2026-03-16', strategy, true);
    const proposed = await proposalPage(store, { tenantId: t, runId: 'run-2026-03-16', strategy });
    // As proposed: 1,000.00 × 6.27 % × 43 / 365 = 7.3865… → 7.39 (see the agency test).
    expect(proposed.notices[0]!.notice).toMatchObject({ totalMinor: 1_000_00, interestMinor: 7_39 });
    await recordPayment(store, {
      tenantId: t,
      idempotencyKey: 'part-1',
      debtorId: ids.debtor.Z!,
      amountMinor: 600_00,
      currency: 'EUR',
      method: 'cash',
    });
    await approveProposal(store, { tenantId: t, runId: 'run-2026-03-16', strategy, levelWriteBackSources: new Set() });
    // 400.00 × 6.27 % × 43 / 365 = 2.9546… → 2.95, not the 7.39 of the thousand it was proposed on.
    expect(await notices(store, t)).toMatchObject([{ level: 3, total_minor: 400_00, interest_minor: 2_95 }]);
  });

  test('a level withdraws invoice and BNPL until the dunned items are paid; restricted contracts likewise', async () => {
    const t = 'withdraw';
    const T = today();
    const ids = await ledger(store, t, [
      {
        ext: 'W',
        items: [
          { doc: 'W-1', amount: 50_00, due: plusDays(T, -30), level: 1, contract: 'SIM-W' },
          { doc: 'W-2', amount: 25_00, due: plusDays(T, -40), level: 2, contract: 'DSL-W' },
        ],
      },
    ]);
    await run(store, t, T, TODAY_STRATEGY);
    // W-1 rose to 2 (withdraw), W-2 to 3 (restrict its contract); the notice is at level 3.
    expect(await levels(store, t)).toMatchObject({ 'W-1': 2, 'W-2': 3 });
    const d = ids.debtor.W!;
    expect(await withdrawnMethods(store, t, d)).toEqual([]); // level 3 does not withdraw; level 2 was not the notice's
    expect(await restrictedContracts(store, t, d)).toEqual(['DSL-W']);
    await recordPayment(store, {
      tenantId: t,
      idempotencyKey: 'w-pay',
      debtorId: d,
      amountMinor: 75_00,
      currency: 'EUR',
      method: 'cash',
    });
    expect(await restrictedContracts(store, t, d)).toEqual([]);

    const t2 = 'withdraw2';
    const ids2 = await ledger(store, t2, [
      { ext: 'V', items: [{ doc: 'V-1', amount: 50_00, due: plusDays(T, -20), level: 1 }] },
    ]);
    const v = ids2.debtor.V!;
    await run(store, t2, T, TODAY_STRATEGY);
    expect(await withdrawnMethods(store, t2, v)).toEqual(['bnpl_invoice', 'invoice']);
    const hook = dunningEligibility(store);
    expect(await hook({ tenantId: t2, debtorId: v, amountMinor: 1000, currency: 'EUR', country: 'DE' })).toEqual([
      { match: 'bnpl_invoice', reason: expect.stringMatching(/^withdrawn by dunning notice ntc-/) },
      { match: 'invoice', reason: expect.stringMatching(/^withdrawn by dunning notice ntc-/) },
    ]);
    await recordPayment(store, {
      tenantId: t2,
      idempotencyKey: 'v-pay',
      debtorId: v,
      amountMinor: 50_00,
      currency: 'EUR',
      method: 'cash',
    });
    expect(await withdrawnMethods(store, t2, v)).toEqual([]);

    // Paid everything a notice of the last 30 days listed: a thank-you goes out with the next run.
    const next = await run(store, t2, plusDays(T, 1), TODAY_STRATEGY);
    expect(next.thanks).toBe(1);
    const thanks = await notices(store, t2, thanksRunOf(`run-${plusDays(T, 1)}`));
    expect(thanks).toMatchObject([{ kind: 'thanks', debtor_id: v, level: 0, channel: 'email' }]);
    expect((await run(store, t2, plusDays(T, 2), TODAY_STRATEGY)).thanks).toBe(0); // once
  });

  test('interest and fees on the notice by hand; the final level hands the items to the agency, whose status file returns one', async () => {
    const t = 'agency';
    const ids = await ledger(store, t, [
      { ext: 'Z', items: [{ doc: 'Z-1', amount: 1_000_00, due: '2026-02-01', level: 2 }] },
      { ext: 'Y', items: [{ doc: 'Y-1', amount: 200_00, due: '2026-01-15', level: 3 }] },
    ]);
    const r = await run(store, t, '2026-03-16');
    expect(r.byLevel).toEqual({ 3: 1, 4: 1 });
    const z = (await notices(store, t)).find((n) => n.debtor_id === ids.debtor.Z)!;
    // Level 3: fee 2.50; consumer interest from 2 February to 16 March 2026: 27 + 16 = 43 days at
    // 1.27 + 5 = 6.27 %: 1,000.00 × 6.27 % × 43 / 365 = 7.3865… → 7.39.
    expect(z).toMatchObject({ level: 3, fee_minor: 2_50, interest_minor: 7_39, total_minor: 1_000_00 });

    // A claim file that cannot be written (a folder that is not there) marks nothing: the claims wait for the next export.
    const unwritable = () => {
      throw new Error("ENOENT: no such file or directory, open '/gone/claims-0.csv'");
    };
    await expect(
      exportClaims(store, { tenantId: t, agency: 'collectors', file: '/gone/claims-0.csv', write: unwritable }),
    ).rejects.toThrow(/ENOENT/);
    let written = '';
    const claims = await exportClaims(store, {
      tenantId: t,
      agency: 'collectors',
      file: 'claims-1.csv',
      write: (csv) => {
        written = csv;
      },
    });
    expect(written).toBe(claims.csv);
    expect(claims.claims).toBe(1);
    const [header, line] = claims.csv.trim().split('\n');
    expect(header).toMatch(/^claim_id,agency,debtor_id,/);
    expect(line).toContain(',Y-1,2026-01-15,EUR,200.00,');
    expect((await exportClaims(store, { tenantId: t, agency: 'collectors', file: 'claims-2.csv' })).claims).toBe(0);
    // Y is out of dunning while the agency has the claim.
    expect((await listHolds(store, { tenantId: t, kind: 'agency', active: true })).map((h) => h.itemId)).toEqual([
      ids.item['Y-1'],
    ]);
    const claimId = line!.split(',')[0]!;
    await expect(
      importAgencyStatus(store, {
        tenantId: t,
        agency: 'collectors',
        file: 'status.csv',
        text: `claim_id,status,collected,note\n${claimId},lost,,\n`,
      }),
    ).rejects.toThrow(/status\.csv:2: status "lost"/);
    const imported = await importAgencyStatus(store, {
      tenantId: t,
      agency: 'collectors',
      file: 'status.csv',
      text: `claim_id,status,collected,note\n${claimId},returned,0.00,debtor unknown at address\n`,
    });
    expect(imported).toEqual({ updated: 1, returned: 1, unchanged: 0 });
    expect(await listHolds(store, { tenantId: t, kind: 'agency', active: true })).toEqual([]);
  });
});
