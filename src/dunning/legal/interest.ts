import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { checkCalendarDate, isCalendarDate } from '../../domain/dates';
import { IntegrationError } from '../../domain/errors';

/** One base-rate period: the rate in basis points (1/100 of a percent) from a date on. */
export interface BaseRate {
  from: string;
  basisPoints: number;
}

export interface BaseRateTable {
  country: string;
  knownUntil: string;
  rates: BaseRate[];
}

const PERCENT = /^-?\d{1,3}(?:\.\d{1,2})?$/;

const tableSchema = z.strictObject({
  country: z.string().length(2),
  source: z.string().optional(),
  knownUntil: z.union([
    z.string().refine(isCalendarDate, 'expected a date as YYYY-MM-DD'),
    z.date().transform((d) => d.toISOString().slice(0, 10)),
  ]),
  rates: z
    .array(
      z.strictObject({
        from: z.union([
          z.string().refine(isCalendarDate, 'expected a date as YYYY-MM-DD'),
          z.date().transform((d) => d.toISOString().slice(0, 10)),
        ]),
        percent: z.string().regex(PERCENT, 'a percentage with at most two decimals, as text, e.g. "3.62"'),
      }),
    )
    .min(1),
});

/** Percent text ("3.62", "-0.88") to basis points (362, -88), exactly. */
function basisPoints(percent: string): number {
  const negative = percent.startsWith('-');
  const [whole, frac = ''] = percent.replace('-', '').split('.');
  const bp = Number(whole) * 100 + Number(frac.padEnd(2, '0'));
  return negative ? -bp : bp;
}

/** Loads a base-rate table (`config/legal/<country>-base-rate.yaml`): periods in date order, rates exact. */
export function loadBaseRates(file: string): BaseRateTable {
  const parsed = tableSchema.safeParse(parse(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new IntegrationError(`${file}: ${problems}`, 'rates');
  }
  const rates = parsed.data.rates.map((r) => ({ from: r.from, basisPoints: basisPoints(r.percent) }));
  for (let i = 1; i < rates.length; i++) {
    if (rates[i]!.from <= rates[i - 1]!.from)
      throw new IntegrationError(`${file}: rates must be in date order (${rates[i]!.from})`, 'rates');
  }
  return { country: parsed.data.country, knownUntil: parsed.data.knownUntil, rates };
}

export type DayCount = 'act/365' | 'act/act';

export interface InterestInput {
  amountMinor: number;
  /** First day of default, inclusive. */
  from: string;
  /** Last day, inclusive. */
  to: string;
  /** Percentage points above the base rate: §288 BGB 5 for consumers, 9 when no consumer is involved. */
  surchargeBasisPoints: number;
  table: BaseRateTable;
  /** `act/365` (the default): every day is 1/365 of a year; `act/act`: 1/366 in leap years. */
  dayCount?: DayCount;
}

export interface InterestPeriod {
  from: string;
  to: string;
  days: number;
  baseRateBasisPoints: number;
  rateBasisPoints: number;
  /** This period's share, rounded half up for display; the total is rounded once, from the exact sum. */
  interestMinor: number;
}

export interface InterestResult {
  interestMinor: number;
  days: number;
  periods: InterestPeriod[];
}

const DAY = 86_400_000;
const dayNumber = (d: string) => Date.parse(`${d}T00:00:00Z`) / DAY;
const dateOf = (n: number) => new Date(n * DAY).toISOString().slice(0, 10);
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

function roundHalfUp(numerator: bigint, denominator: bigint): number {
  const negative = numerator < 0n;
  const n = negative ? -numerator : numerator;
  const q = (n * 2n + denominator) / (denominator * 2n);
  return Number(negative ? -q : q);
}

/**
 * Default interest, day by day: each day from `from` to `to` inclusive earns the rate in force that day (base rate +
 * surcharge), as an exact fraction; the sum is rounded half up to the minor unit once, at the end.
 */
export function defaultInterest(i: InterestInput): InterestResult {
  if (!Number.isSafeInteger(i.amountMinor) || i.amountMinor <= 0)
    throw new IntegrationError('must be a positive amount', 'amount');
  checkCalendarDate(i.from, 'from');
  checkCalendarDate(i.to, 'to');
  if (i.to < i.from) throw new IntegrationError('must not be before --from', 'to');
  const first = i.table.rates[0]!;
  if (i.from < first.from) throw new IntegrationError(`the base-rate table starts on ${first.from}`, 'from');
  if (i.to > i.table.knownUntil) {
    throw new IntegrationError(
      `the base-rate table is known until ${i.table.knownUntil}; add the rate in force after it to config/legal before computing later days`,
      'to',
    );
  }
  const dayCount = i.dayCount ?? 'act/365';
  // The exact interest is amount × Σ(rate_bp / 10000 / yearDays) over the days; keep it as one fraction over
  // 10000 × 365 × 366 so act/act stays exact too.
  const unit = 10_000n * 365n * 366n;
  const periods: InterestPeriod[] = [];
  let total = 0n;
  const start = dayNumber(i.from);
  const end = dayNumber(i.to);
  for (let r = 0; r < i.table.rates.length; r++) {
    const rate = i.table.rates[r]!;
    const next = i.table.rates[r + 1];
    const pFrom = Math.max(start, dayNumber(rate.from));
    const pTo = Math.min(end, next ? dayNumber(next.from) - 1 : end);
    if (pFrom > pTo) continue;
    const bp = rate.basisPoints + i.surchargeBasisPoints;
    let share = 0n; // Σ days / yearDays, in units of 1/(365 × 366)
    let day = pFrom;
    while (day <= pTo) {
      const year = new Date(day * DAY).getUTCFullYear();
      const yearEnd = dayNumber(`${year}-12-31`);
      const upto = Math.min(pTo, yearEnd);
      const days = BigInt(upto - day + 1);
      share += dayCount === 'act/act' && isLeap(year) ? days * 365n : days * 366n;
      day = upto + 1;
    }
    const numerator = BigInt(i.amountMinor) * BigInt(bp) * share;
    total += numerator;
    periods.push({
      from: dateOf(pFrom),
      to: dateOf(pTo),
      days: pTo - pFrom + 1,
      baseRateBasisPoints: rate.basisPoints,
      rateBasisPoints: bp,
      interestMinor: roundHalfUp(numerator, unit),
    });
  }
  return { interestMinor: roundHalfUp(total, unit), days: end - start + 1, periods };
}

/** §288 BGB: 5 points above the base rate when a consumer is party, 9 points otherwise (§288 (2)). */
export const SURCHARGE_BASIS_POINTS = { consumer: 500, business: 900 } as const;
/** §288 (5) BGB: the lump sum a business creditor may claim from a business debtor in default, in euro cents. */
export const BUSINESS_LUMP_SUM_MINOR = 40_00;
