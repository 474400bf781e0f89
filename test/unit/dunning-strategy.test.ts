import { type DunningStrategy, daysBetween, decideNotice } from '../../src/dunning/strategy';

const strategy: DunningStrategy = {
  name: 'default',
  version: 1,
  minTotalMinor: 500,
  levels: [
    {
      level: 1,
      name: 'reminder',
      daysPastDue: 3,
      minDaysSinceLastNotice: 0,
      minAmountMinor: 0,
      channel: 'email',
      template: 'reminder',
      tone: 'friendly',
      feeMinor: 0,
    },
    {
      level: 2,
      name: 'first',
      daysPastDue: 14,
      minDaysSinceLastNotice: 7,
      minAmountMinor: 0,
      channel: 'email',
      template: 'first',
      tone: 'neutral',
      feeMinor: 0,
    },
    {
      level: 3,
      name: 'second',
      daysPastDue: 28,
      minDaysSinceLastNotice: 7,
      minAmountMinor: 0,
      channel: 'email',
      template: 'second',
      tone: 'firm',
      feeMinor: 250,
    },
  ],
};

test('days between calendar dates across a DST change and a leap day', () => {
  expect(daysBetween('2024-02-28', '2024-03-01')).toBe(2);
  expect(daysBetween('2026-03-28', '2026-03-30')).toBe(2);
  expect(daysBetween('2026-10-10', '2026-10-01')).toBe(-9);
});

test('an item 2 days overdue is not dunned; 3 days overdue gets the reminder without a fee', () => {
  const item = { itemId: 'i1', dueDate: '2026-11-01', openMinor: 10000, dunningLevel: 0, lastDunnedOn: null };
  expect(decideNotice(strategy, [item], '2026-11-03')).toBeNull();
  expect(decideNotice(strategy, [item], '2026-11-04')).toEqual({
    level: 1,
    items: [{ itemId: 'i1', newLevel: 1, daysPastDue: 3 }],
    totalMinor: 10000,
    feeMinor: 0,
  });
});

test('an item rises one level per run even when it is far overdue', () => {
  const item = { itemId: 'i1', dueDate: '2026-01-01', openMinor: 10000, dunningLevel: 0, lastDunnedOn: null };
  expect(decideNotice(strategy, [item], '2026-11-01')?.level).toBe(1);
});

test('the next level waits for the minimum days since the last notice', () => {
  const item = { itemId: 'i1', dueDate: '2026-10-01', openMinor: 10000, dunningLevel: 1, lastDunnedOn: '2026-10-12' };
  expect(decideNotice(strategy, [item], '2026-10-18')).toBeNull();
  expect(decideNotice(strategy, [item], '2026-10-19')?.level).toBe(2);
});

test('one notice lists every due item of the debtor, at the highest level reached, with its fee', () => {
  const d = decideNotice(
    strategy,
    [
      { itemId: 'old', dueDate: '2026-09-01', openMinor: 4000, dunningLevel: 2, lastDunnedOn: '2026-10-01' },
      { itemId: 'new', dueDate: '2026-10-28', openMinor: 1000, dunningLevel: 0, lastDunnedOn: null },
      { itemId: 'notyet', dueDate: '2026-11-01', openMinor: 9999, dunningLevel: 0, lastDunnedOn: null },
    ],
    '2026-11-02',
  );
  expect(d).toEqual({
    level: 3,
    items: [
      { itemId: 'old', newLevel: 3, daysPastDue: 62 },
      { itemId: 'new', newLevel: 1, daysPastDue: 5 },
    ],
    totalMinor: 5000,
    feeMinor: 250,
  });
});

test('a debtor below the minimum total is left alone', () => {
  expect(
    decideNotice(
      strategy,
      [{ itemId: 'x', dueDate: '2026-10-01', openMinor: 499, dunningLevel: 0, lastDunnedOn: null }],
      '2026-11-01',
    ),
  ).toBeNull();
});
