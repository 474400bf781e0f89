/**
 * The dates of a SEPA direct debit: TARGET2 closing days, the pre-notification period and the bank's D-1 submission,
 * all checked by hand against a calendar (Easter 2027 is on 28 March).
 */
import {
  addTarget2BusinessDays,
  type CollectionTiming,
  dueDateFor,
  earliestDueDate,
  easterSunday,
  isTarget2BusinessDay,
  latestSubmissionDay,
  submissionDay,
} from '../../src/gateway/providers/sepa-direct-debit/transformers';

const timing = (over: Partial<CollectionTiming> = {}): CollectionTiming => ({
  preNotificationDays: 14,
  submissionLeadDays: 1,
  timeZone: 'Europe/Berlin',
  ...over,
});

describe('TARGET2 calendar', () => {
  test.each([
    [2024, '2024-03-31'],
    [2025, '2025-04-20'],
    [2026, '2026-04-05'],
    [2027, '2027-03-28'],
    [2038, '2038-04-25'], // the latest possible date
    [2285, '2285-03-22'], // the earliest possible date
  ])('Easter %i is on %s', (year, date) => {
    expect(easterSunday(year)).toBe(date);
  });

  test.each([
    ['2027-01-01', false, "New Year's Day (Friday)"],
    ['2027-03-25', true, 'Maundy Thursday'],
    ['2027-03-26', false, 'Good Friday'],
    ['2027-03-27', false, 'Saturday'],
    ['2027-03-28', false, 'Easter Sunday'],
    ['2027-03-29', false, 'Easter Monday'],
    ['2027-03-30', true, 'the Tuesday after Easter'],
    ['2026-05-01', false, 'Labour Day (Friday)'],
    ['2026-12-24', true, 'Christmas Eve is open'],
    ['2026-12-25', false, 'Christmas Day'],
    ['2025-12-26', false, 'Boxing Day (Friday)'],
    ['2025-10-03', true, 'German Unity Day is a German holiday, not a TARGET2 one'],
    ['2025-06-09', true, 'Whit Monday neither'],
    ['2026-12-31', true, "New Year's Eve"],
  ])('%s is a business day: %s (%s)', (date, open) => {
    expect(isTarget2BusinessDay(date)).toBe(open);
  });

  test('counting business days steps over Easter and Christmas', () => {
    expect(addTarget2BusinessDays('2027-03-25', 1)).toBe('2027-03-30');
    expect(addTarget2BusinessDays('2027-03-30', -1)).toBe('2027-03-25');
    expect(addTarget2BusinessDays('2026-12-23', 2)).toBe('2026-12-28');
    expect(addTarget2BusinessDays('2026-12-31', 1)).toBe('2027-01-04');
  });
});

describe('collection dates', () => {
  test('the file for a collection due on the Tuesday after Easter must be at the bank on Maundy Thursday', () => {
    expect(latestSubmissionDay('2027-03-30', { submissionLeadDays: 1 })).toBe('2027-03-25');
    expect(latestSubmissionDay('2026-12-28', { submissionLeadDays: 1 })).toBe('2026-12-24');
    expect(latestSubmissionDay('2027-01-04', { submissionLeadDays: 1 })).toBe('2026-12-31');
    expect(latestSubmissionDay('2027-03-31', { submissionLeadDays: 2 })).toBe('2027-03-25');
  });

  test('14 days of notice landing on Easter Monday move the due date to Tuesday', () => {
    // Monday 15 March 2027 + 14 = Monday 29 March, Easter Monday.
    expect(earliestDueDate(new Date('2027-03-15T09:00:00Z'), timing())).toBe('2027-03-30');
    // Wednesday 24 March + 14 = Wednesday 7 April, a business day.
    expect(earliestDueDate(new Date('2027-03-24T09:00:00Z'), timing())).toBe('2027-04-07');
  });

  test('with one day of notice agreed, D-1 decides: Thursday before Easter gives the Tuesday after', () => {
    const t = timing({ preNotificationDays: 1 });
    expect(earliestDueDate(new Date('2027-03-25T08:00:00Z'), t)).toBe('2027-03-30');
    // Past the bank's cut-off the file counts for Tuesday, so the collection for Wednesday.
    expect(submissionDay(new Date('2027-03-25T08:00:00Z'), { ...t, cutOffTime: '08:30' })).toBe('2027-03-30');
    expect(earliestDueDate(new Date('2027-03-25T08:00:00Z'), { ...t, cutOffTime: '08:30' })).toBe('2027-03-31');
    expect(earliestDueDate(new Date('2027-03-25T07:00:00Z'), { ...t, cutOffTime: '08:30' })).toBe('2027-03-30');
  });

  test('"today" is the creditor\'s day: 23:30 UTC on Maundy Thursday is Good Friday in Berlin', () => {
    const t = timing({ preNotificationDays: 1 });
    expect(submissionDay(new Date('2027-03-25T23:30:00Z'), t)).toBe('2027-03-30');
    expect(earliestDueDate(new Date('2027-03-25T23:30:00Z'), t)).toBe('2027-03-31');
    expect(earliestDueDate(new Date('2027-03-25T23:30:00Z'), { ...t, timeZone: 'UTC' })).toBe('2027-03-30');
  });

  test('Christmas: one day of notice on 23 December 2026 gives Christmas Eve, two give the 28th', () => {
    const now = new Date('2026-12-23T09:00:00Z');
    expect(earliestDueDate(now, timing({ preNotificationDays: 1 }))).toBe('2026-12-24');
    expect(earliestDueDate(now, timing({ preNotificationDays: 2 }))).toBe('2026-12-28');
  });

  test('a requested due date is rolled to a business day, and refused with the field named when too early', () => {
    const now = new Date('2027-03-24T09:00:00Z');
    const t = timing({ preNotificationDays: 1 });
    expect(dueDateFor(now, t, '2027-03-26', 'dueDate')).toBe('2027-03-30');
    expect(dueDateFor(now, t, undefined, 'dueDate')).toBe('2027-03-25');
    expect(() => dueDateFor(now, t, '2027-03-24', 'methodData.extra.dueDate')).toThrow(
      /^methodData\.extra\.dueDate: .*earliest due date is 2027-03-25/,
    );
    expect(() => dueDateFor(now, timing(), '2027-04-06', 'dueDate')).toThrow(/2027-04-07/);
  });
});
