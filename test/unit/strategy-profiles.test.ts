import { join } from 'node:path';
import {
  decideDebtor,
  type EngineDebtor,
  type EngineHistory,
  type EngineHold,
  type EngineItem,
  emptyFacts,
  settle,
} from '../../src/dunning/engine';
import { engineContext } from '../../src/dunning/run';
import type { CompiledStrategy } from '../../src/dunning/strategy';
import { loadStrategyFile } from '../../src/dunning/strategy-file';

const ROOT = join(__dirname, '../..');
const load = (name: string) =>
  loadStrategyFile(`config/strategies/${name}.v1.yaml`, {
    currency: 'EUR',
    timezone: 'Europe/Berlin',
    packageRoot: ROOT,
  }).strategy;
const telco = load('telco-de');
const shop = load('ecommerce-de');

/** Monday 16 March 2026: base rate 1.27 % since 1 January 2026; Berlin is on CET (UTC+1) until 29 March. */
const AS_OF = '2026-03-16';

const debtor = (over: Partial<EngineDebtor> = {}): EngineDebtor => ({
  debtorId: 'D1',
  type: 'B2C',
  tags: [],
  language: 'de',
  country: 'DE',
  email: 'kunde@example.org',
  phone: '+4915100000001',
  since: '2025-12-01',
  ...over,
});

let n = 0;
const item = (over: Partial<EngineItem>): EngineItem => {
  n++;
  return {
    itemId: `I${n}`,
    source: 'billing',
    sourceKey: `K${n}`,
    externalId: 'C1',
    documentNumber: `INV-${n}`,
    contractRef: `SIM-${n}`,
    currency: 'EUR',
    openMinor: 100_00,
    dueDate: '2026-03-01',
    documentDate: null,
    level: 0,
    lastDunnedOn: null,
    block: null,
    ...over,
  };
};

const history = (over: Partial<EngineHistory> = {}): EngineHistory => ({
  contactsThisWeek: 0,
  lastContactOn: null,
  brokenPromises: 0,
  paidOnTimeBp: 10_000,
  lastPaymentOn: null,
  returnedDebits: 0,
  ...over,
});

/** What a person checks on a notice: segment, level, channel(s), tone, form of address, money, and when it goes out. */
function notice(
  strategy: CompiledStrategy,
  d: EngineDebtor,
  items: EngineItem[],
  o: { h?: EngineHistory; holds?: EngineHold[]; asOf?: string } = {},
) {
  const asOf = o.asOf ?? AS_OF;
  const ctx = engineContext(strategy, asOf);
  const decision = decideDebtor(ctx, emptyFacts(ctx.calendar), d, items, o.holds ?? [], o.h ?? history());
  if (decision.kind === 'skip') return { skipped: decision.reason, segment: decision.segment };
  const s = settle(strategy, decision.segment, decision.lines, decision.reachable, asOf)!;
  return {
    segment: decision.segment.name,
    level: s.level.level,
    name: s.level.name,
    channels: s.channels,
    tone: s.level.tone,
    address: s.level.address,
    items: decision.lines.map((l) => [l.item.documentNumber, l.levelBefore, l.level]),
    total: s.totalMinor,
    fee: s.feeMinor,
    interest: s.interestMinor,
    lumpSum: s.lumpSumMinor,
    scheduledAt: s.scheduledAt,
    withdraw: s.withdraw,
    contracts: s.restrictedContracts,
    handOff: s.handOff,
  };
}

describe('telco-de v1', () => {
  test('key account, first reminder: a friendly e-mail at 10:00 (09:00 UTC), no fee', () => {
    const d = debtor({ type: 'B2B', tags: ['key-account'] });
    expect(
      notice(telco, d, [item({ dueDate: '2026-03-06', openMinor: 1_200_00, documentNumber: 'K-1' })]),
    ).toMatchObject({
      segment: 'key-account',
      level: 1,
      channels: ['email'],
      tone: 'friendly',
      address: 'Sie',
      items: [['K-1', 0, 1]],
      total: 1_200_00,
      fee: 0,
      interest: 0,
      scheduledAt: '2026-03-16T09:00:00.000Z',
    });
  });

  test('key account, second stage: the account manager calls (webhook to the CRM), e-mail as fallback', () => {
    const d = debtor({ type: 'B2B', tags: ['key-account'] });
    const i = item({ dueDate: '2026-02-20', level: 1, lastDunnedOn: '2026-03-01', openMinor: 900_00 });
    expect(notice(telco, d, [i])).toMatchObject({ level: 2, channels: ['webhook', 'email'], tone: 'neutral', fee: 0 });
  });

  test('a B2B debtor owing 5,000.00 or more is a key account; the final letter adds §288 interest and the €40 lump sum', () => {
    const d = debtor({ type: 'B2B' });
    const i = item({ dueDate: '2026-01-20', level: 2, lastDunnedOn: '2026-02-15', openMinor: 10_000_00 });
    // Interest from 21 Jan to 16 Mar 2026 inclusive: 11 + 28 + 16 = 55 days at 1.27 + 9 = 10.27 % (business):
    // 10,000.00 × 10.27 % × 55 / 365 = 154.7534… → 154.75. Lump sum § 288 (5): 40.00 for the one item.
    expect(notice(telco, d, [i])).toMatchObject({
      segment: 'key-account',
      level: 3,
      name: 'final',
      channels: ['letter'],
      tone: 'firm',
      total: 10_000_00,
      fee: 0,
      interest: 154_75,
      lumpSum: 40_00,
    });
  });

  test('reliable payer, second notice: a letter with the 2.50 fee and consumer interest', () => {
    const d = debtor({ since: '2023-05-01' });
    const i = item({ dueDate: '2026-02-10', level: 2, lastDunnedOn: '2026-02-26', openMinor: 80_00 });
    // 11 Feb – 16 Mar: 18 + 16 = 34 days at 1.27 + 5 = 6.27 %: 80.00 × 6.27 % × 34 / 365 = 0.4672… → 0.47.
    expect(notice(telco, d, [i], { h: history({ paidOnTimeBp: 9_500 }) })).toMatchObject({
      segment: 'reliable',
      level: 3,
      name: 'second',
      channels: ['letter'],
      tone: 'firm',
      fee: 2_50,
      interest: 47,
      lumpSum: 0, // consumers owe no lump sum
      total: 80_00,
    });
  });

  test('a long-standing customer who broke a promise is not "reliable" any more', () => {
    const d = debtor({ since: '2023-05-01' });
    const i = item({ dueDate: '2026-03-10' });
    expect(notice(telco, d, [i], { h: history({ brokenPromises: 1 }) })).toMatchObject({ segment: 'standard' });
    expect(notice(telco, d, [i], { h: history({ paidOnTimeBp: 8_999 }) })).toMatchObject({ segment: 'standard' });
    expect(notice(telco, d, [i], { h: history({ paidOnTimeBp: 9_000 }) })).toMatchObject({ segment: 'reliable' });
  });

  test('young online customer: an SMS at 11:00 in their register (du) when they consented, else e-mail', () => {
    const i = item({ dueDate: '2026-03-12' });
    expect(notice(telco, debtor({ tags: ['young', 'consent:sms'] }), [i])).toMatchObject({
      segment: 'young-online',
      level: 1,
      channels: ['sms', 'email'],
      tone: 'friendly',
      address: 'du',
      scheduledAt: '2026-03-16T10:00:00.000Z',
    });
    // The guardrail wants consent for SMS: without it the strategy's fallback takes over.
    expect(notice(telco, debtor({ tags: ['young'] }), [i])).toMatchObject({ channels: ['email'], address: 'du' });
  });

  test('new customer: the second stage is a firm letter; the first notice after the due date was free', () => {
    const d = debtor({ since: '2026-02-14' });
    const i = item({ dueDate: '2026-03-05', level: 1, lastDunnedOn: '2026-03-09' });
    expect(notice(telco, d, [i])).toMatchObject({
      segment: 'new-customer',
      level: 2,
      channels: ['letter'],
      tone: 'firm',
      fee: 0,
    });
  });

  test('standard: one notice lists every due item across subledgers at the highest level reached; each rises one level', () => {
    const d = debtor({ since: '2025-01-01', tags: [] });
    const items = [
      item({ documentNumber: 'OLD', dueDate: '2026-02-01', level: 3, lastDunnedOn: '2026-02-28', openMinor: 50_00 }),
      item({ documentNumber: 'FICA', source: 'fica', dueDate: '2026-03-10', openMinor: 29_99 }),
      item({ documentNumber: 'NOTYET', dueDate: '2026-03-20', openMinor: 10_00 }),
    ];
    // OLD: 43 days, level 3 → 4 (final: letter, fee 3.00, interest); FICA: 6 days → 1; NOTYET is not due.
    // Interest only on OLD: 2 Feb – 16 Mar = 27 + 16 = 43 days × 6.27 %: 50.00 × 6.27 % × 43 / 365 = 0.3693… → 0.37;
    // FICA: 11 – 16 Mar = 6 days: 29.99 × 6.27 % × 6 / 365 = 0.0309… → 0.03. Total interest 0.40.
    expect(notice(telco, d, items, { h: history({ paidOnTimeBp: 5_000 }) })).toMatchObject({
      segment: 'standard',
      level: 4,
      name: 'final',
      channels: ['letter'],
      tone: 'final',
      items: [
        ['OLD', 3, 4],
        ['FICA', 0, 1],
      ],
      total: 79_99,
      fee: 3_00,
      interest: 40,
      withdraw: ['invoice', 'bnpl_invoice'],
      contracts: [items[0]!.contractRef],
    });
  });

  test('standard: an item 50 days overdue that was never dunned gets the reminder, not the final notice', () => {
    const d = debtor({ since: '2025-01-01' });
    expect(notice(telco, d, [item({ dueDate: '2026-01-25' })], { h: history({ paidOnTimeBp: 5_000 }) })).toMatchObject({
      level: 1,
      name: 'reminder',
      fee: 0,
    });
  });

  test('standard: after the final notice the items go to the collection agency', () => {
    const d = debtor({ since: '2025-01-01' });
    const i = item({ dueDate: '2026-01-05', level: 4, lastDunnedOn: '2026-02-20' }); // 70 days, 24 since the final notice
    expect(notice(telco, d, [i], { h: history({ paidOnTimeBp: 5_000 }) })).toMatchObject({
      level: 5,
      name: 'agency',
      handOff: 'inkasso-partner',
    });
  });

  test('below the minimum total nobody is dunned', () => {
    const d = debtor({ since: '2025-01-01' });
    const h = history({ paidOnTimeBp: 5_000 });
    expect(notice(telco, d, [item({ dueDate: '2026-03-10', openMinor: 4_99 })], { h })).toEqual({
      skipped: 'below-minimum',
      segment: 'standard',
    });
  });

  test('a notice due on Good Friday goes out on the Tuesday after Easter Monday', () => {
    const d = debtor({ since: '2025-01-01' });
    // 3 April 2026 is Good Friday (Easter Sunday is 5 April): Saturday, Sunday and Easter Monday are out too.
    // 7 April 09:00 in Berlin is 07:00 UTC (summer time since 29 March).
    const h = history({ paidOnTimeBp: 5_000 });
    expect(notice(telco, d, [item({ dueDate: '2026-03-30' })], { asOf: '2026-04-03', h })).toMatchObject({
      segment: 'standard',
      scheduledAt: '2026-04-07T07:00:00.000Z',
    });
  });
});

describe('ecommerce-de v1', () => {
  test('the day before the due date: a friendly nudge by e-mail, no fee', () => {
    expect(notice(shop, debtor(), [item({ dueDate: '2026-03-17', openMinor: 59_90 })])).toMatchObject({
      segment: 'standard',
      level: 1,
      name: 'pre-due',
      channels: ['email'],
      tone: 'friendly',
      fee: 0,
      total: 59_90,
    });
  });

  test('the first notice after the due date withdraws purchase on account and BNPL, and is free', () => {
    const i = item({ dueDate: '2026-03-05', level: 1, lastDunnedOn: '2026-03-04' });
    expect(notice(shop, debtor(), [i])).toMatchObject({
      level: 2,
      name: 'first',
      tone: 'neutral',
      fee: 0,
      withdraw: ['invoice', 'bnpl_invoice'],
    });
  });

  test('the second notice charges 2.50 and may fall back to a letter', () => {
    const i = item({ dueDate: '2026-02-19', level: 2, lastDunnedOn: '2026-03-04' });
    expect(notice(shop, debtor({ email: null }), [i])).toMatchObject({
      level: 3,
      channels: ['letter'],
      tone: 'firm',
      fee: 2_50,
    });
  });

  test('regulars get a friendly first notice and no fees', () => {
    const i = item({ dueDate: '2026-03-05', level: 1, lastDunnedOn: '2026-03-04' });
    expect(notice(shop, debtor({ tags: ['vip'] }), [i])).toMatchObject({
      segment: 'regular',
      level: 2,
      tone: 'friendly',
      fee: 0,
    });
  });

  test('young customers get an SMS with "du"; Saturdays count as business days for the shop', () => {
    // Saturday 14 March 2026, 11:00 in Berlin = 10:00 UTC.
    expect(
      notice(shop, debtor({ tags: ['young'] }), [item({ dueDate: '2026-03-15' })], { asOf: '2026-03-14' }),
    ).toMatchObject({
      segment: 'young-online',
      channels: ['sms', 'email'],
      address: 'du',
      scheduledAt: '2026-03-14T10:00:00.000Z',
    });
  });
});
