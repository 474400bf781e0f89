import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderNoticeView } from '../../src/channels/templates';
import { defaultInterest, loadBaseRates, SURCHARGE_BASIS_POINTS } from '../../src/dunning/legal/interest';
import { interestLines } from '../../src/dunning/send';
import { goldenView, TEMPLATES } from '../integration/channels-fixtures';

const table = loadBaseRates(resolve(__dirname, '../../config/legal/de-base-rate.yaml'));
const CONTRACTS = process.env.CLEARHUB_CONTRACTS ?? resolve(__dirname, '../../../shared/contracts');

describe('§288 BGB default interest', () => {
  // 10,000.00 EUR from 2024-05-15 to 2025-02-10 inclusive crosses two base-rate changes:
  //   47 days at 3.62 %, 184 days at 3.37 %, 41 days at 2.27 % (272 days), act/365, rounded once.
  // Consumer (+5): 1,000,000 × (47×862 + 184×837 + 41×727) / 3,650,000 = 224,329 / 3.65 = 61,460.00 → 614.60 EUR.
  // Business (+9): 1,000,000 × (47×1262 + 184×1237 + 41×1127) / 3,650,000 = 333,129 / 3.65 = 91,268.22 → 912.68 EUR.
  const base = { amountMinor: 1_000_000, from: '2024-05-15', to: '2025-02-10', table };

  test('for a consumer: base rate + 5 points, per day across the periods', () => {
    const r = defaultInterest({ ...base, surchargeBasisPoints: SURCHARGE_BASIS_POINTS.consumer });
    expect(r.interestMinor).toBe(61_460);
    expect(r.days).toBe(272);
    expect(r.periods.map((p) => [p.from, p.to, p.days, p.rateBasisPoints])).toEqual([
      ['2024-05-15', '2024-06-30', 47, 862],
      ['2024-07-01', '2024-12-31', 184, 837],
      ['2025-01-01', '2025-02-10', 41, 727],
    ]);
  });

  test('for a business: base rate + 9 points, rounded half up once at the end', () => {
    expect(defaultInterest({ ...base, surchargeBasisPoints: SURCHARGE_BASIS_POINTS.business }).interestMinor).toBe(
      91_268,
    );
  });

  test('act/act counts leap-year days as 1/366', () => {
    // 2024 is a leap year: 47×862/366 + 184×837/366 + 41×727/365 of 1,000,000 / 10,000
    // = (40514 + 154008)/366 + 29807/365 = 531.4809… + 81.6630… = 613.1439… → 613.14 EUR.
    const r = defaultInterest({ ...base, surchargeBasisPoints: 500, dayCount: 'act/act' });
    expect(r.interestMinor).toBe(61_314);
  });

  test('a day after the last known base rate is refused, naming what to add', () => {
    expect(() => defaultInterest({ ...base, to: '2027-01-15', surchargeBasisPoints: 500 })).toThrow(
      /^to: the base-rate table is known until/,
    );
  });

  test('a negative base rate lowers the rate (2022: -0.88 %)', () => {
    // 1,000.00 EUR for the 31 days of July 2022, consumer: (−88 + 500) bp → 100,000 × 412 × 31 / 3,650,000 = 349.92… → 3.50 EUR.
    const r = defaultInterest({
      amountMinor: 100_000,
      from: '2022-07-01',
      to: '2022-07-31',
      table,
      surchargeBasisPoints: 500,
    });
    expect(r.interestMinor).toBe(350);
    expect(r.periods[0]!.rateBasisPoints).toBe(412);
  });
});

describe('the base-rate table in config/legal', () => {
  test('agrees with the Bundesbank series in shared/contracts', () => {
    const csv = join(CONTRACTS, 'banking', 'basiszins.csv');
    if (!existsSync(csv)) {
      console.log(`contracts not found at ${CONTRACTS}: base-rate comparison skipped`);
      return;
    }
    const rows = readFileSync(csv, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','));
    const theirs = rows.map(([from, percent]) => [from, Math.round(Number(percent) * 100)]);
    expect(table.rates.map((r) => [r.from, r.basisPoints])).toEqual(theirs);
  });
});

describe('interest lines on a notice', () => {
  // 100.00 EUR due 1 June 2025, interest from 2 June to 15 August 2025 for a consumer. The base rate fell from
  // 2.27 % to 1.27 % on 1 July: 29 days (2–30 June) at 7.27 %: 10,000 × 7.27 % × 29 / 365 = 57.76 → 0.58 EUR;
  // 46 days (1 July – 15 August) at 6.27 %: 10,000 × 6.27 % × 46 / 365 = 79.02 → 0.79 EUR. The run charges the
  // sum rounded once: 136.78 → 1.37 EUR, and records the last rate, 6.27 %.
  const charged = {
    amountMinor: 1_37,
    principalMinor: 100_00,
    from: '2025-06-02',
    to: '2025-08-15',
    rateBasisPoints: 627,
    documentNumbers: ['R-1'],
  };

  test('across a base-rate change: one line per rate, each with the rate its days earned, adding up to what was charged', () => {
    expect(interestLines(charged, false)).toEqual([
      { ...charged, from: '2025-06-02', to: '2025-06-30', rateBasisPoints: 727, amountMinor: 58 },
      { ...charged, from: '2025-07-01', to: '2025-08-15', rateBasisPoints: 627, amountMinor: 79 },
    ]);
    const view = goldenView('de', 'firm', 'Sie', {
      items: [{ source: 'billing', documentNumber: 'R-1', dueDate: '2025-06-01', openMinor: 100_00 }],
      fees: [],
      interest: interestLines(charged, false),
      totals: { itemsMinor: 100_00, feesMinor: 0, interestMinor: 1_37, totalMinor: 101_37 },
    });
    const text = renderNoticeView(TEMPLATES, view).text.replace(/\s+/g, ' ');
    expect(text).toContain('Verzugszinsen 7,27 % p. a. auf 100,00 € vom 02.06.2025 bis 30.06.2025: 0,58 €');
    expect(text).toContain('Verzugszinsen 6,27 % p. a. auf 100,00 € vom 01.07.2025 bis 15.08.2025: 0,79 €');
    expect(text).not.toContain('6,27 % p. a. auf 100,00 € vom 02.06.2025');
  });

  test('one rate throughout (1.27 % in both halves of the year): the line stays as charged', () => {
    const same = { ...charged, from: '2025-12-01', to: '2026-03-16', amountMinor: 1_82 }; // 106 days: 182.09 → 1.82
    expect(interestLines(same, false)).toEqual([same]);
  });
});
