import {
  type ContactCalendar,
  contactSlot,
  easterSunday,
  germanHolidays,
  isBusinessDay,
  minutesOf,
} from '../../src/dunning/calendar';

test('Easter Sunday by the Gregorian computus, against the published dates', () => {
  expect(easterSunday(2000)).toBe('2000-04-23');
  expect(easterSunday(2019)).toBe('2019-04-21');
  expect(easterSunday(2024)).toBe('2024-03-31');
  expect(easterSunday(2025)).toBe('2025-04-20');
  expect(easterSunday(2026)).toBe('2026-04-05');
  expect(easterSunday(2038)).toBe('2038-04-25'); // the latest possible date
  expect(easterSunday(2285)).toBe('2285-03-22'); // the earliest possible date
});

test('the nine nationwide German holidays of 2026, the Easter-based ones counted from 5 April', () => {
  expect([...germanHolidays(2026)].sort()).toEqual([
    ['2026-01-01', 'Neujahr'],
    ['2026-04-03', 'Karfreitag'], // Easter − 2
    ['2026-04-06', 'Ostermontag'], // Easter + 1
    ['2026-05-01', 'Tag der Arbeit'],
    ['2026-05-14', 'Christi Himmelfahrt'], // Easter + 39
    ['2026-05-25', 'Pfingstmontag'], // Easter + 50
    ['2026-10-03', 'Tag der Deutschen Einheit'],
    ['2026-12-25', '1. Weihnachtstag'],
    ['2026-12-26', '2. Weihnachtstag'],
  ]);
});

test("the states' own holidays", () => {
  expect(germanHolidays(2026, 'BY').get('2026-06-04')).toBe('Fronleichnam'); // Easter + 60
  expect(germanHolidays(2026, 'BY').get('2026-01-06')).toBe('Heilige Drei Könige');
  expect(germanHolidays(2026, 'BY').get('2026-10-31')).toBeUndefined();
  expect(germanHolidays(2026, 'NI').get('2026-10-31')).toBe('Reformationstag');
  expect(germanHolidays(2026, 'SN').get('2026-11-18')).toBe('Buß- und Bettag'); // 23 Nov 2026 is a Monday
  expect(germanHolidays(2026, 'BE').get('2026-03-08')).toBe('Internationaler Frauentag');
  expect(germanHolidays(2026, 'HH').get('2026-06-04')).toBeUndefined();
});

const berlin: ContactCalendar = {
  timezone: 'Europe/Berlin',
  businessDays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'],
  country: 'DE',
  quietFrom: minutesOf('20:00'),
  quietTo: minutesOf('08:00'),
};

test('Berlin kept 8 May 2020 and 8 May 2025 (75 and 80 years since the end of the war) as one-off holidays', () => {
  expect(germanHolidays(2025, 'BE').get('2025-05-08')).toBe('Tag der Befreiung');
  expect(germanHolidays(2020, 'BE').get('2020-05-08')).toBe('Tag der Befreiung');
  expect(germanHolidays(2026, 'BE').get('2026-05-08')).toBeUndefined(); // only those two years
  expect(germanHolidays(2025, 'BB').get('2025-05-08')).toBeUndefined(); // only Berlin
  // Thursday 8 May 2025 in Berlin: a notice for that day goes out on Friday 9 May at 08:00 CEST (06:00 UTC).
  const inBerlin: ContactCalendar = { ...berlin, state: 'BE' };
  expect(isBusinessDay(inBerlin, '2025-05-08')).toBe(false);
  expect(contactSlot(inBerlin, '2025-05-08', minutesOf('08:00')).at).toBe('2025-05-09T06:00:00.000Z');
});

test('business days skip weekends and holidays', () => {
  expect(isBusinessDay(berlin, '2026-10-02')).toBe(true); // Friday
  expect(isBusinessDay(berlin, '2026-10-03')).toBe(false); // Saturday and German Unity Day
  expect(isBusinessDay(berlin, '2026-12-25')).toBe(false); // Friday, Christmas
});

test('contact slots: quiet hours and non-business days move a notice to the next allowed moment', () => {
  // Thursday 1 October 2026, CEST (UTC+2).
  expect(contactSlot(berlin, '2026-10-01', minutesOf('19:59')).at).toBe('2026-10-01T17:59:00.000Z');
  expect(contactSlot(berlin, '2026-10-01', minutesOf('07:00')).at).toBe('2026-10-01T06:00:00.000Z'); // → 08:00
  // 23:30 is quiet: the next day at 08:00.
  expect(contactSlot(berlin, '2026-10-01', minutesOf('23:30')).at).toBe('2026-10-02T06:00:00.000Z');
  // Friday evening → Monday 08:00 (Saturday 3 October is a holiday anyway).
  expect(contactSlot(berlin, '2026-10-02', minutesOf('21:00'))).toEqual({
    date: '2026-10-05',
    at: '2026-10-05T06:00:00.000Z',
  });
  // Across the end of summer time (25 October 2026): Monday 26 October 09:00 CET is 08:00 UTC.
  expect(contactSlot(berlin, '2026-10-24', minutesOf('09:00')).at).toBe('2026-10-26T08:00:00.000Z');
});
