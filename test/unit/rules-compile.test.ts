import { compileCondition, dayNumber, type Facts, RuleError } from '../../src/rules';

/** A consumer with two tags, one item 20 days overdue, seen on Friday 2026-11-20. */
function facts(over: { debtor?: Partial<Facts['debtor']>; item?: Partial<Facts['item']> } = {}): Facts {
  return {
    debtor: {
      type: 'B2C',
      tags: ['vip', 'young'],
      tenureDays: 400,
      language: 'de',
      country: 'DE',
      channels: ['email', 'sms', 'letter'],
      consent: ['sms'],
      ...over.debtor,
    },
    item: {
      amount: 119_00,
      daysPastDue: 20,
      level: 1,
      contract: 'SIM-1',
      source: 'billing',
      dueDate: dayNumber('2026-10-31'),
      documentDate: dayNumber('2026-10-01'),
      ...over.item,
    },
    account: {
      totalOverdue: 600_00,
      totalOpen: 650_00,
      oldestDaysPastDue: 40,
      itemCount: 3,
      overdueCount: 2,
      maxLevel: 2,
    },
    history: { paidOnTimeShare: 9_250, lastPaymentDays: 30, brokenPromises: 0, returnedDebits: 1, lastContactDays: 12 },
    calendar: {
      weekday: 'Fri',
      month: 11,
      day: 20,
      isHoliday: false,
      isBusinessDay: true,
      today: dayNumber('2026-11-20'),
    },
  };
}

const run = (src: string, f = facts()) => compileCondition(src).test(f);

/** The error's position as [offset, length] plus its reason, for asserting where a mistake is reported. */
function errorOf(src: string, opts?: Parameters<typeof compileCondition>[1]): { at: string; reason: string } {
  try {
    compileCondition(src, opts);
  } catch (err) {
    if (err instanceof RuleError) return { at: src.slice(err.offset, err.offset + err.length), reason: err.reason };
    throw err;
  }
  throw new Error(`"${src}" compiled`);
}

describe('the condition language', () => {
  test('the examples from the strategy files evaluate as a person reads them', () => {
    expect(run('debtor.type == "B2C" and item.daysPastDue >= 14 and "vip" in debtor.tags')).toBe(true);
    expect(run('debtor.type == "B2C" and item.daysPastDue >= 21')).toBe(false); // 20 days
    expect(run('account.totalOverdue > 500.00')).toBe(true); // 600.00
    expect(run('account.totalOverdue > 600.00')).toBe(false); // not more than itself
    expect(run('account.totalOverdue >= 600')).toBe(true); // a whole number of euros is money too
    expect(run('history.brokenPromises == 0')).toBe(true);
    expect(run('not (history.returnedDebits == 0)')).toBe(true);
    expect(run('"key-account" in debtor.tags or debtor.type == "B2B"')).toBe(false);
    expect(run('"key-account" not in debtor.tags')).toBe(true);
    expect(run('debtor.language in ["de", "at"]')).toBe(true);
    expect(run('calendar.weekday in ["Sat", "Sun"]')).toBe(false);
  });

  test('money literals are exact: 0.10 + 0.20 is 0.30, compared in cents', () => {
    const f = facts({ item: { amount: 30 } });
    expect(run('item.amount == 0.10 + 0.20', f)).toBe(true);
    expect(run('item.amount == 0.3', f)).toBe(true);
    expect(run('item.amount < 0.31', f)).toBe(true);
  });

  test('shares compare as written: 92.5% on time is above 90% and above 0.9, below 0.93', () => {
    expect(run('history.paidOnTimeShare >= 90%')).toBe(true);
    expect(run('history.paidOnTimeShare > 0.9')).toBe(true);
    expect(run('history.paidOnTimeShare < 0.93')).toBe(true);
    expect(run('history.paidOnTimeShare == 92.5%')).toBe(true);
  });

  test('arithmetic: amounts by whole numbers and by shares, rounded half up to the cent', () => {
    // 600.00 / 2 overdue items = 300.00 average
    expect(run('account.totalOverdue / account.overdueCount == 300.00')).toBe(true);
    // 119.00 × 15% = 17.85
    expect(run('item.amount * 15% == 17.85')).toBe(true);
    // 1.19 × 50% = 0.595 → 0.60 (half up)
    expect(run('item.amount * 0.5 == 0.60', facts({ item: { amount: 119 } }))).toBe(true);
    expect(run('item.amount * 2 - 38.00 == 200.00')).toBe(true); // 238.00 − 38.00
    expect(run('account.itemCount * 10 + 1 == 31')).toBe(true);
    expect(run('-item.daysPastDue < 0')).toBe(true);
    // dividing by zero gives 0 instead of failing the run
    expect(run('account.totalOpen / (account.itemCount - 3) == 0')).toBe(true);
  });

  test('dates: functions and comparisons with dates in quotes', () => {
    expect(run('item.documentDate < date("2026-10-02")')).toBe(true);
    expect(run('item.documentDate < "2026-10-01"')).toBe(false);
    expect(run('daysBetween(item.dueDate, calendar.today) == 20')).toBe(true); // 31 Oct → 20 Nov
    expect(run('calendar.today - item.dueDate == item.daysPastDue')).toBe(true);
    expect(run('addDays(item.dueDate, 1) == date("2026-11-01")')).toBe(true);
    expect(run('weekday(item.dueDate) == "Sat"')).toBe(true); // 31 October 2026 is a Saturday
    expect(run('month(item.documentDate) == 10 and year(calendar.today) == 2026')).toBe(true);
    expect(run('len(debtor.tags) == 2 and max(item.level, 3) == 3')).toBe(true);
  });

  test('a condition reports which facts it reads', () => {
    const c = compileCondition('debtor.type == "B2C" and history.lastContactDays > 7 or calendar.isHoliday');
    expect([...c.uses].sort()).toEqual(['calendar.isHoliday', 'debtor.type', 'history.lastContactDays']);
  });

  test('unknown facts are errors at their position, with a suggestion', () => {
    expect(errorOf('debtor.tag == "x"')).toEqual({
      at: 'tag',
      reason: expect.stringMatching(/unknown fact debtor\.tag \(did you mean debtor\.tags\?\)/),
    });
    expect(errorOf('account.total > 5').at).toBe('total');
    expect(errorOf('custmer.type == "B2B"').reason).toMatch(/unknown fact "custmer"/);
    expect(errorOf('debtor.type.length == 3')).toEqual({ at: 'length', reason: 'debtor.type has no fields' });
    expect(errorOf('debtor.__proto__ == 1').at).toBe('__proto__');
  });

  test('type errors point at the offending part and say what was expected', () => {
    expect(errorOf('debtor.type == "B2X"')).toEqual({
      at: '"B2X"',
      reason: '"B2X" is not a possible value here; expected one of "B2B", "B2C"',
    });
    expect(errorOf('"fax" in debtor.channels').at).toBe('"fax"');
    expect(errorOf('item.amount > 5.005').reason).toMatch(/more decimals than the currency allows/);
    expect(errorOf('item.daysPastDue > 1.5').reason).toMatch(/not a whole number/);
    expect(errorOf('item.amount + item.daysPastDue > 0')).toEqual({
      at: 'item.daysPastDue',
      reason: 'expected an amount of money, but this is a whole number',
    });
    expect(errorOf('debtor.tags == "vip"').reason).toMatch(/lists cannot be compared; use "in"/);
    expect(errorOf('debtor.language < "en"').reason).toMatch(/compares numbers, amounts, shares and dates/);
    expect(errorOf('item.amount').reason).toBe('a condition must be true or false; this is an amount of money');
    expect(errorOf('item.amount * item.amount > 1').reason).toMatch(/cannot multiply an amount of money and an amount/);
    expect(errorOf('item.dueDate < "31.10.2026"').reason).toMatch(/not a date; write it as YYYY-MM-DD/);
    expect(errorOf('item.dueDate < "2026-02-30"').reason).toMatch(/not a date in the calendar/);
  });

  test('syntax errors name the token and what would fit', () => {
    expect(errorOf('debtor.type = "B2B"')).toEqual({
      at: '=',
      reason: '"=" is not an operator here; write "==" to compare',
    });
    expect(errorOf('a && b').reason).toMatch(/write "and"/);
    expect(errorOf('item.level > 1 and')).toEqual({
      at: '',
      reason: 'the condition ends too early; expected a value, a fact such as debtor.type, or "("',
    });
    expect(errorOf('(item.level > 1').reason).toBe('"(" is not closed; expected ")"');
    expect(errorOf('item.level > 1 item.level < 3').at).toBe('item');
    expect(errorOf('1 < item.level < 3').reason).toMatch(/comparisons do not chain/);
    expect(errorOf('"vip in debtor.tags').reason).toBe('this string is not closed');
    expect(errorOf('item.level > 1 # comment').at).toBe('#');
    expect(errorOf('').reason).toBe('the condition is empty');
  });

  test('a segment condition may not look at a single item', () => {
    expect(errorOf('item.daysPastDue > 3', { scopes: ['debtor', 'account'], context: 'a segment condition' })).toEqual({
      at: 'item.daysPastDue',
      reason:
        'a segment condition cannot use item facts; it can use debtor, account (put conditions on single items into a level)',
    });
  });

  test('no JavaScript gets through: the text is parsed, never evaluated', () => {
    expect(() => compileCondition('process.exit(1)')).toThrow(RuleError);
    expect(() => compileCondition('constructor.constructor("return process")()')).toThrow(RuleError);
    expect(errorOf('require("fs")').reason).toMatch(/unknown function require\(\)/);
    expect(errorOf('item.level > 1; process.exit()').at).toBe(';');
    expect(errorOf(`${'('.repeat(100)}true${')'.repeat(100)}`).reason).toMatch(/nested more than 64 levels/);
  });

  test('constant conditions fold: "true" is the catch-all segment', () => {
    expect(compileCondition('true').test(facts())).toBe(true);
    expect(compileCondition('1 + 1 == 2 and not false').uses.size).toBe(0);
  });

  test('currencies without decimals take whole amounts', () => {
    const yen = compileCondition('item.amount >= 500', { currency: 'JPY' });
    expect(yen.test(facts({ item: { amount: 500 } }))).toBe(true);
    expect(() => compileCondition('item.amount >= 500.50', { currency: 'JPY' })).toThrow(/more decimals/);
  });
});
