import { allocateOldestFirst } from '../../src/domain/allocation';
import { IntegrationError, IntegrityError } from '../../src/domain/errors';
import {
  assertEcho,
  formatMinor,
  majorNumberToMinor,
  money,
  parseAmountInput,
  parseDecimalToMinor,
} from '../../src/domain/money';
import { canTransition, phaseOf, transition } from '../../src/domain/payment-state';
import { PAYMENT_STATES } from '../../src/domain/types';

describe('Money', () => {
  test.each([
    ['1190.00', 'EUR', 119000],
    ['1190', 'EUR', 119000],
    ['0.5', 'EUR', 50],
    ['12,50', 'EUR', 1250],
    ['12.50-', 'EUR', -1250],
    ['-0.01', 'EUR', -1],
    ['5', 'JPY', 5],
    ['1.234', 'KWD', 1234],
    ['19.990', 'EUR', 1999],
    ['90071992547409.91', 'EUR', 9007199254740991],
  ])('parses %s %s exactly as %d minor units', (text, cur, minor) => {
    expect(parseDecimalToMinor(text, cur)).toBe(minor);
  });

  test.each([
    ['12.345', 'EUR'],
    ['1.5', 'JPY'],
    ['1.190,00', 'EUR'],
    ['abc', 'EUR'],
    ['', 'EUR'],
    ['-12.5-', 'EUR'],
    ['90071992547409.92', 'EUR'],
  ])('rejects %s %s naming the field', (text, cur) => {
    expect(() => parseDecimalToMinor(text, cur, 'lines.3.amount')).toThrow(/^lines\.3\.amount: /);
  });

  test.each([
    ['1190.00', 'EUR', 119000],
    ['12,50', 'EUR', 1250],
    ['5', 'JPY', 5],
    ['1.234', 'KWD', 1234],
  ])('takes %s %s typed by a person as %d minor units', (text, cur, minor) => {
    expect(parseAmountInput(text, cur)).toBe(minor);
  });

  test('an amount typed with more decimals than the currency has is refused with both readings, never guessed', () => {
    // A file from SAP may write 19.990; a person writing 10.000 or 1,000 may well mean ten thousand or one thousand.
    expect(() => parseAmountInput('10.000', 'EUR', '--amount')).toThrow(
      '--amount: "10.000" has more decimals than EUR allows (2): for 10000 write 10000 (no thousands separator), for 10 write 10.00',
    );
    expect(() => parseAmountInput('1,000', 'EUR', 'amount.value')).toThrow(/^amount\.value: .*for 1000 write 1000/);
    expect(() => parseAmountInput('1.000', 'JPY')).toThrow(/JPY allows \(0\): .*for 1 write 1$/);
    expect(() => parseAmountInput('12.345', 'EUR')).toThrow(
      /^amount: "12\.345" has more decimals than EUR allows \(2\): for 12345 write 12345 \(no thousands separator\)$/,
    );
    expect(() => parseAmountInput('1.2345', 'EUR')).toThrow(
      /^amount: "1\.2345" has more decimals than EUR allows \(2\)$/,
    );
    expect(parseDecimalToMinor('10.000', 'EUR')).toBe(1000); // machine formats keep their zeros
  });

  test('rejects an unknown currency', () => {
    expect(() => money(100, 'XYZ')).toThrow(IntegrationError);
    expect(() => parseDecimalToMinor('1.00', 'EURO')).toThrow(/unknown currency "EURO"/);
  });

  test('converts major-unit numbers from PSPs without float drift', () => {
    expect(majorNumberToMinor(19.99, 'EUR')).toBe(1999);
    expect(() => majorNumberToMinor(0.1 + 0.2, 'EUR', 'value')).toThrow(/value/);
    expect(majorNumberToMinor(103, 'EUR')).toBe(10300);
  });

  test('formats minor units back to the decimal string SAP expects', () => {
    expect(formatMinor(119000, 'EUR')).toBe('1190.00');
    expect(formatMinor(-5, 'EUR')).toBe('-0.05');
    expect(formatMinor(5, 'JPY')).toBe('5');
    expect(formatMinor(1, 'KWD')).toBe('0.001');
  });

  test('an echoed amount that differs is an integrity error', () => {
    expect(() => assertEcho(money(10300, 'EUR'), money(1030000, 'EUR'), 'capture')).toThrow(IntegrityError);
    expect(() => assertEcho(money(10300, 'EUR'), money(10300, 'EUR'), 'capture')).not.toThrow();
  });
});

describe('allocation, oldest first', () => {
  const items = [
    { itemId: 'b', dueDate: '2026-02-01', documentNumber: '2', openMinor: 5000 },
    { itemId: 'a', dueDate: '2026-01-01', documentNumber: '1', openMinor: 3000 },
    { itemId: 'c', dueDate: '2026-03-01', documentNumber: '3', openMinor: 2000 },
  ];
  test('a partial payment pays the oldest item and part of the next, leaving the rest open', () => {
    expect(allocateOldestFirst(4000, items)).toEqual({
      allocations: [
        { itemId: 'a', amountMinor: 3000 },
        { itemId: 'b', amountMinor: 1000 },
      ],
      unallocatedMinor: 0,
    });
  });
  test('an over-payment stays unallocated', () => {
    expect(allocateOldestFirst(12000, items).unallocatedMinor).toBe(2000);
  });
});

describe('payment state machine', () => {
  test('money that arrived leaves only by refund, chargeback or return', () => {
    expect(canTransition('succeeded', 'failed')).toBe(false);
    expect(canTransition('succeeded', 'returned')).toBe(true);
    expect(() => transition('failed', 'succeeded')).toThrow(/failed to succeeded/);
    expect(transition('pending', 'pending')).toBe('pending');
  });
  test('every state has a phase', () => {
    for (const s of PAYMENT_STATES) expect(['open', 'in_flight', 'settled', 'dead', 'reversed']).toContain(phaseOf(s));
  });
});
