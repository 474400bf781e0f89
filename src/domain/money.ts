import { IntegrationError, IntegrityError } from './errors';

/**
 * ISO 4217 minor-unit exponents. Currencies not listed here are rejected: an amount in an unknown currency cannot be
 * converted safely. Source: ISO 4217 amendment list (the exponents change rarely; ISK and others are 0).
 */
export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = Object.freeze({
  AED: 2,
  ARS: 2,
  AUD: 2,
  BGN: 2,
  BHD: 3,
  BRL: 2,
  CAD: 2,
  CHF: 2,
  CLP: 0,
  CNY: 2,
  COP: 2,
  CZK: 2,
  DKK: 2,
  EGP: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  HUF: 2,
  IDR: 2,
  ILS: 2,
  INR: 2,
  IQD: 3,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  LYD: 3,
  MAD: 2,
  MXN: 2,
  MYR: 2,
  NOK: 2,
  NZD: 2,
  OMR: 3,
  PHP: 2,
  PLN: 2,
  QAR: 2,
  RON: 2,
  RSD: 2,
  RUB: 2,
  SAR: 2,
  SEK: 2,
  SGD: 2,
  THB: 2,
  TND: 3,
  TRY: 2,
  TWD: 2,
  UAH: 2,
  UGX: 0,
  USD: 2,
  VND: 0,
  XAF: 0,
  XOF: 0,
  ZAR: 2,
});

export type CurrencyCode = string;

/** An amount of money: integer minor units plus ISO 4217 code. Never a float. */
export interface Money {
  readonly amountMinor: number;
  readonly currency: CurrencyCode;
}

export function isKnownCurrency(code: string): boolean {
  return Object.hasOwn(CURRENCY_EXPONENTS, code);
}

export function exponentOf(currency: string): number {
  const e = CURRENCY_EXPONENTS[currency];
  if (e === undefined) {
    throw new IntegrationError(`unknown currency "${currency}"; expected an ISO 4217 code such as EUR`, 'currency');
  }
  return e;
}

function checkMinor(amountMinor: number, field = 'amount'): number {
  if (!Number.isSafeInteger(amountMinor)) {
    throw new IntegrationError(`amount ${amountMinor} is not a safe integer of minor units`, field);
  }
  return amountMinor;
}

export function money(amountMinor: number, currency: string): Money {
  exponentOf(currency);
  return Object.freeze({ amountMinor: checkMinor(amountMinor), currency });
}

const DECIMAL = /^([+-])?(\d+)(?:[.,](\d+))?(-)?$/;

/**
 * Parses a decimal string exactly, without floats: SAP's "1190.00", "-12.5", "12,50" (a comma as decimal separator)
 * and SAP's trailing minus "12.50-". Thousands separators are not accepted: "1.190,00" is ambiguous.
 * More fraction digits than the currency has are an error unless they are zeros.
 *
 * @example parseDecimalToMinor('1190.00', 'EUR') // 119000
 * @example parseDecimalToMinor('5', 'JPY') // 5
 */
export function parseDecimalToMinor(text: string, currency: string, field = 'amount'): number {
  const exp = exponentOf(currency);
  const s = text.trim();
  const m = DECIMAL.exec(s);
  if (!m || (m[1] && m[4])) {
    throw new IntegrationError(`"${text}" is not a decimal amount (expected e.g. 1190.00)`, field);
  }
  const negative = m[1] === '-' || m[4] === '-';
  const intPart = m[2]!;
  let frac = m[3] ?? '';
  if (frac.length > exp) {
    const extra = frac.slice(exp);
    if (!/^0+$/.test(extra)) {
      throw new IntegrationError(`"${text}" has more decimals than ${currency} allows (${exp})`, field);
    }
    frac = frac.slice(0, exp);
  }
  const digits = (intPart + frac.padEnd(exp, '0')).replace(/^0+(?=\d)/, '');
  const big = BigInt(digits) * (negative ? -1n : 1n);
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new IntegrationError(`"${text}" is too large`, field);
  }
  const n = Number(big);
  return n === 0 ? 0 : n;
}

/**
 * An amount a person typed or a client sent (CLI flags, API bodies, strategy files): as {@link parseDecimalToMinor},
 * but with no more decimals than the currency has, not even zeros. A file from SAP may well write "1190.000"; from a
 * person, "10.000" is ten euros to the parser and ten thousand to a German reader, and "1,000" one euro or a
 * thousand. Such an amount is refused with both readings spelled out, never guessed.
 *
 * @example parseAmountInput('1190.00', 'EUR') // 119000
 * @example parseAmountInput('10.000', 'EUR') // throws: "10.000" has more decimals than EUR allows (2): …
 */
export function parseAmountInput(text: string, currency: string, field = 'amount'): number {
  const exp = exponentOf(currency);
  const m = DECIMAL.exec(text.trim());
  const frac = m?.[3];
  if (m && frac !== undefined && frac.length > exp) {
    const hints: string[] = [];
    if (frac.length === 3) {
      const whole = `${m[2]}${frac}`.replace(/^0+(?=\d)/, '');
      hints.push(`for ${whole} write ${whole} (no thousands separator)`);
    }
    if (/^0+$/.test(frac.slice(exp))) hints.push(`for ${m[2]} write ${m[2]}${exp > 0 ? `.${frac.slice(0, exp)}` : ''}`);
    throw new IntegrationError(
      `"${text}" has more decimals than ${currency} allows (${exp})${hints.length > 0 ? `: ${hints.join(', ')}` : ''}`,
      field,
    );
  }
  return parseDecimalToMinor(text, currency, field);
}

/**
 * Converts a major-unit number as PSPs and JSON APIs send it (e.g. PayPal's value 12.34 as a number) to minor units.
 * The number is rendered with its shortest round-trip representation and then parsed exactly, so 0.1 + 0.2 style
 * artefacts are rejected instead of silently rounded.
 */
export function majorNumberToMinor(value: number, currency: string, field = 'amount'): number {
  if (!Number.isFinite(value)) throw new IntegrationError(`${value} is not a finite amount`, field);
  const text = String(value);
  if (/e/i.test(text)) throw new IntegrationError(`${text} is out of range for an amount`, field);
  return parseDecimalToMinor(text, currency, field);
}

/** Formats minor units as a plain decimal string ("1190.00"), the inverse of {@link parseDecimalToMinor}. */
export function formatMinor(amountMinor: number, currency: string): string {
  const exp = exponentOf(currency);
  checkMinor(amountMinor);
  const neg = amountMinor < 0;
  const digits = String(Math.abs(amountMinor)).padStart(exp + 1, '0');
  const body = exp === 0 ? digits : `${digits.slice(0, -exp)}.${digits.slice(-exp)}`;
  return neg ? `-${body}` : body;
}

/** Formats for people, e.g. "1.190,00 €" in de-DE. Uses Intl with the currency's exponent. */
export function formatMoney(m: Money, locale = 'de-DE'): string {
  const exp = exponentOf(m.currency);
  const major = formatMinor(m.amountMinor, m.currency);
  const key = `${locale}|${m.currency}`;
  let f = moneyFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency: m.currency,
      minimumFractionDigits: exp,
      maximumFractionDigits: exp,
    });
    moneyFormats.set(key, f);
  }
  return f.format(Number(major));
}

/** One formatter per locale and currency: making one costs far more than formatting with it. */
const moneyFormats = new Map<string, Intl.NumberFormat>();

function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) throw new IntegrityError(`currency mismatch: ${a.currency} vs ${b.currency}`);
}

export function add(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amountMinor + b.amountMinor, a.currency);
}

export function subtract(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amountMinor - b.amountMinor, a.currency);
}

/** Sums minor units, checking each partial sum stays a safe integer. */
export function sumMinor(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total = checkMinor(total + v, 'sum');
  return total;
}

/** Asserts an amount echoed by a counterparty equals what we sent (DESIGN §3: a difference is an integrity error). */
export function assertEcho(sent: Money, echoed: Money, what: string): void {
  if (sent.currency !== echoed.currency || sent.amountMinor !== echoed.amountMinor) {
    throw new IntegrityError(
      `${what}: sent ${formatMinor(sent.amountMinor, sent.currency)} ${sent.currency}, ` +
        `counterparty echoed ${echoed.amountMinor} minor ${echoed.currency}`,
    );
  }
}
