import { performance } from 'node:perf_hooks';
import type { NextFunction, Request, Response } from 'express';
import winston from 'winston';

export type Logger = winston.Logger;

export interface LoggerOptions {
  /** npm log level: `error`, `warn`, `info`, `http`, `verbose`, `debug`. @defaultValue `'info'` */
  level?: string;
  /** One JSON object per line (production) or a readable line (development). @defaultValue `true` */
  json?: boolean;
  /** Where the lines go instead of stdout/stderr (tests, embedding). */
  stream?: NodeJS.WritableStream;
  /** Fields added to every line, e.g. `{ service: 'api' }`. */
  defaultMeta?: Record<string, unknown>;
}

const MESSAGE = Symbol.for('message');
const REDACTED = '[REDACTED]';

/**
 * Creates the process logger. Every line passes through {@link scrub} before it is serialised, and the serialised
 * line through {@link scrubText} again, so neither structured metadata nor a message string can carry a card number,
 * an IBAN, an API key, a bearer token or a password out of the process.
 *
 * @example createLogger({ level: 'info', json: true }).info('listening', { port: 8080 })
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const json = opts.json ?? true;
  const line = json
    ? winston.format.json()
    : winston.format.printf(({ level, message, timestamp, ...rest }) => {
        const meta = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
        return `${String(timestamp)} ${level} ${String(message)}${meta}`;
      });
  const transport = opts.stream
    ? new winston.transports.Stream({ stream: opts.stream })
    : new winston.transports.Console({ stderrLevels: ['error'] });
  return winston.createLogger({
    level: opts.level ?? 'info',
    ...(opts.defaultMeta ? { defaultMeta: opts.defaultMeta } : {}),
    format: winston.format.combine(winston.format.timestamp(), scrubFormat(), line, scrubLineFormat()),
    transports: [transport],
  });
}

const scrubFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (key === 'level') continue;
    info[key] = isSecretKey(key) ? REDACTED : scrub(info[key]);
  }
  return info;
});

const scrubLineFormat = winston.format((info) => {
  const line = (info as Record<symbol, unknown>)[MESSAGE];
  if (typeof line === 'string') (info as Record<symbol, unknown>)[MESSAGE] = scrubText(line);
  return info;
});

// ---------------------------------------------------------------------------------------------------------------
// Scrubbing

/** Key names whose values are secrets or personal payment data, compared without case, `_` and `-`. */
const SECRET_KEY_PARTS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'authorization',
  'iban',
  'cardnumber',
  'cookie',
  'privatekey',
  'credential',
  'keyhash',
];
const SECRET_KEY_EXACT = new Set(['pwd', 'auth', 'pan', 'cvc', 'cvv', 'cvc2', 'pin']);

export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_\s]/g, '');
  return SECRET_KEY_EXACT.has(k) || SECRET_KEY_PARTS.some((p) => k.includes(p));
}

/**
 * Returns a copy of `value` with secrets masked: values under secret-looking keys (password, secret, token, apiKey,
 * authorization, iban, cardNumber, …) at any depth, and in every string card numbers (13–19 digits passing Luhn),
 * IBANs (mod-97), Clearhub API keys, bearer tokens, PSP secret keys and passwords in URLs. The input is not changed.
 *
 * @example scrub({ user: 'a', password: 'x', note: 'paid with 4111 1111 1111 1111' })
 * // { user: 'a', password: '[REDACTED]', note: 'paid with [pan …1111]' }
 */
export function scrub(value: unknown): unknown {
  return scrubValue(value, new WeakMap(), 0);
}

function scrubValue(value: unknown, seen: WeakMap<object, unknown>, depth: number): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value === 'number')
    return Number.isSafeInteger(value) && looksLikePan(String(Math.abs(value))) ? maskPan(String(value)) : value;
  if (typeof value === 'bigint')
    return looksLikePan(String(value < 0n ? -value : value)) ? maskPan(String(value)) : value;
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth > 12) return '[Truncated]';
  if (value instanceof Date) return value;
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: scrubText(value.message) };
    seen.set(value, out);
    if (value.stack) out.stack = scrubText(value.stack);
    for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? REDACTED : scrubValue(v, seen, depth + 1);
    return out;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const v of value) out.push(scrubValue(v, seen, depth + 1));
    return out;
  }
  if (value instanceof Map) return scrubValue(Object.fromEntries(value), seen, depth);
  if (value instanceof Set) return scrubValue([...value], seen, depth);
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? REDACTED : scrubValue(v, seen, depth + 1);
  return out;
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi;
const AUTH_SCHEME = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi;
const CLEARHUB_KEY = /\bchk_([A-Za-z0-9]+)_[A-Za-z0-9_-]+/g;
const PSP_KEY = /\b(?:(?:sk|rk)_(?:live|test)|whsec)_[A-Za-z0-9]+/g;
const KEY_VALUE =
  /\b((?:password|passwd|pwd|secret|token|api[_-]?key|client[_-]?secret|access[_-]?token)["']?\s*[:=]\s*["']?)[^"'\s&,;}\\]+/gi;

/** Masks secrets in one string (see {@link scrub}). Idempotent: scrubbing scrubbed text changes nothing. */
export function scrubText(text: string): string {
  let s = text;
  if (s.includes('://')) s = s.replace(URL_CREDENTIALS, `$1:${REDACTED}@`);
  s = s.replace(AUTH_SCHEME, `$1 ${REDACTED}`);
  s = s.replace(CLEARHUB_KEY, `chk_$1_${REDACTED}`);
  s = s.replace(PSP_KEY, REDACTED);
  s = s.replace(KEY_VALUE, `$1${REDACTED}`);
  s = maskIbans(s);
  s = maskPans(s);
  // Personal data: an e-mail address keeps its first letter and domain (enough to tell debtors apart in a log).
  s = s.replace(EMAIL, (_m, first: string, domain: string) => `${first}***@${domain}`);
  return s;
}

const EMAIL = /\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b/g;

// IBAN: two letters, two check digits, 11–30 alphanumerics, optionally in groups separated by single spaces.
const IBAN_CANDIDATE = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}/g;

/** IBAN lengths by country (SWIFT IBAN registry). Other countries are tried at every length. */
// biome-ignore format: a data table
const IBAN_LENGTH: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21, CR: 22,
  CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22,
  GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30,
  KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27,
  MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33,
  SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

/** ISO 13616 check: move the first four characters to the end, letters to 10–35, the number mod 97 must be 1. */
export function isValidIban(candidate: string): boolean {
  const iban = candidate.replace(/ /g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const known = IBAN_LENGTH[iban.slice(0, 2)];
  if (known !== undefined && known !== iban.length) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const v = code >= 65 ? code - 55 : code - 48;
    rest = v >= 10 ? (rest * 100 + v) % 97 : (rest * 10 + v) % 97;
  }
  return rest === 1;
}

function maskIbans(text: string): string {
  IBAN_CANDIDATE.lastIndex = 0;
  let out = '';
  let last = 0;
  for (let m = IBAN_CANDIDATE.exec(text); m; m = IBAN_CANDIDATE.exec(text)) {
    const span = ibanPrefix(m[0]);
    if (span === 0) {
      IBAN_CANDIDATE.lastIndex = m.index + 1;
      continue;
    }
    const iban = m[0].slice(0, span).replace(/ /g, '');
    out += `${text.slice(last, m.index)}[iban ${iban.slice(0, 2).toUpperCase()}…${iban.slice(-4)}]`;
    last = m.index + span;
    IBAN_CANDIDATE.lastIndex = last;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** Length in characters (spaces included) of the longest valid IBAN at the start of `candidate`, or 0. */
function ibanPrefix(candidate: string): number {
  const ends: number[] = []; // ends[n] = index after the n-th alphanumeric character
  for (let i = 0; i < candidate.length; i++) if (candidate[i] !== ' ') ends.push(i + 1);
  const known = IBAN_LENGTH[candidate.slice(0, 2).toUpperCase()];
  const lengths = known !== undefined ? [known] : Array.from({ length: 20 }, (_, i) => 34 - i);
  for (const n of lengths) {
    if (n > ends.length) continue;
    const end = ends[n - 1]!;
    if (isValidIban(candidate.slice(0, end))) return end;
  }
  return 0;
}

// A run of digits with single spaces or dashes between them, not glued to other digits.
const DIGIT_RUN = /(?<!\d)\d(?:[ -]?\d){12,}(?!\d)/g;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

function looksLikePan(digits: string): boolean {
  return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
}

function maskPan(digits: string): string {
  return `[pan …${digits.slice(-4)}]`;
}

/**
 * Masks card numbers: a run whose digits pass Luhn at 13–19 digits, or, for a run of groups ("4111 1111 1111 1111
 * 12"), any consecutive groups that do. A plain run longer than 19 digits is an id, not a card number.
 */
function maskPans(text: string): string {
  return text.replace(DIGIT_RUN, (run) => {
    const digits = run.replace(/[ -]/g, '');
    if (looksLikePan(digits)) return maskPan(digits);
    const groups = run.split(/[ -]/);
    if (groups.length < 2) return run;
    const masked = new Array<boolean>(groups.length).fill(false);
    for (let i = 0; i < groups.length; i++) {
      let joined = '';
      for (let j = i; j < groups.length && joined.length < 19; j++) {
        joined += groups[j];
        if (looksLikePan(joined)) for (let k = i; k <= j; k++) masked[k] = true;
      }
    }
    if (!masked.includes(true)) return run;
    const seps = run.match(/[ -]/g) ?? [];
    let out = '';
    let pending = '';
    groups.forEach((g, i) => {
      const sep = i === 0 ? '' : (seps[i - 1] ?? '');
      if (!masked[i]) {
        if (pending) out += maskPan(pending);
        pending = '';
        out += sep + g;
      } else {
        if (!pending) out += sep;
        pending += g;
      }
    });
    if (pending) out += maskPan(pending);
    return out;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Request logging

/** The route pattern of a request (`/v1/debtors/:id`), never the raw URL; `unmatched` when no route took it. */
export function routeOf(req: Request): string {
  const path: unknown = req.route?.path;
  return typeof path === 'string' ? path : 'unmatched';
}

/**
 * Logs one structured line per request when the response is finished: `{method, route, status, ms, tenant,
 * requestId}`. Never the URL, the headers or the body.
 */
export function requestLogger(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    res.once('finish', () => {
      const status = res.statusCode;
      logger.log(status >= 500 ? 'warn' : 'info', 'request', {
        method: req.method,
        route: routeOf(req),
        status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        tenant: req.tenantId ?? null,
        requestId: res.locals.requestId as string | undefined,
      });
    });
    next();
  };
}
