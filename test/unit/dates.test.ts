import { checkCalendarDate, isCalendarDate } from '../../src/domain/dates';

describe('calendar dates', () => {
  test.each(['2024-02-29', '2000-02-29', '2025-12-31', '2025-04-30', '1999-01-01'])('%s is a date', (d) => {
    expect(isCalendarDate(d)).toBe(true);
  });

  test.each([
    ['2024-02-30', 'February has 29 days in 2024'],
    ['2023-02-29', '2023 is not a leap year'],
    ['1900-02-29', 'a century is a leap year only every 400 years'],
    ['2025-04-31', 'April has 30 days'],
    ['2025-13-01', 'no 13th month'],
    ['2025-00-10', 'no month 0'],
    ['2025-01-00', 'no day 0'],
    ['0000-01-01', 'no year 0'],
    ['2025-1-01', 'two-digit month'],
    ['01.03.2025', 'German layout'],
    ['2025-01-01T00:00:00Z', 'a timestamp'],
  ])('%s is not (%s)', (d) => {
    expect(isCalendarDate(d)).toBe(false);
  });

  test('a day that does not exist is an error naming the field, not the next month', () => {
    expect(() => checkCalendarDate('2024-02-30', '--from')).toThrow('--from: "2024-02-30" is not a date (YYYY-MM-DD)');
    expect(checkCalendarDate('2024-02-29', '--from')).toBe('2024-02-29');
  });
});
