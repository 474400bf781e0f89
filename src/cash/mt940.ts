/**
 * SWIFT MT940 (customer statement) and MT942 (interim report) reader into the common statement model.
 *
 * Accepts SWIFT block wrappers ({1:…}{2:…}{4: … -}) or bare field lists, CRLF or LF, several statements per file,
 * German structured :86: (GVC + ?nn subfields) and free-text :86:. A statement whose opening balance plus its
 * entries does not equal its closing balance is an {@link IntegrationError} naming file, statement and line.
 */
import { IntegrationError } from '../domain/errors';
import { exponentOf, isKnownCurrency, parseDecimalToMinor } from '../domain/money';
import type { Balance, Counterparty, Statement, StatementEntry } from './statement';

/** Pre-euro currencies still found in old statements; parsed with an ISO 4217 currency of the same exponent. */
const LEGACY_CURRENCIES: Readonly<Record<string, string>> = {
  DEM: 'EUR',
  NLG: 'EUR',
  FRF: 'EUR',
  ATS: 'EUR',
  FIM: 'EUR',
  IEP: 'EUR',
  PTE: 'EUR',
  ESP: 'JPY',
  ITL: 'JPY',
  BEF: 'JPY',
  LUF: 'JPY',
};

/** Exponents of the currencies looked up per amount (the fast path of {@link toMinor}). */
const CURRENCY_EXPONENT = new Map<string, number>();
for (const c of ['EUR', 'USD', 'GBP', 'CHF', 'PLN', 'CZK', 'SEK', 'DKK', 'NOK', 'HUF', 'RON', 'BGN', 'RUB']) {
  if (isKnownCurrency(c)) CURRENCY_EXPONENT.set(c, exponentOf(c));
}

/** SEPA keywords in the purpose of a structured :86: (DFÜ-Abkommen, Anlage 3). */
const SEPA_KEYWORDS = ['EREF', 'KREF', 'MREF', 'CRED', 'DEBT', 'SVWZ', 'ABWA', 'ABWE', 'IBAN', 'BIC', 'COAM', 'OAMT'];
const SEPA_KEYWORD_RE = new RegExp(`(${SEPA_KEYWORDS.join('|')})\\+`, 'g');

/** ISO 20022 / SEPA R-transaction reason codes (ExternalReturnReason1Code, the ones banks actually use). */
const RETURN_REASON_RE =
  /\b(AC0[1-6]|AC13|AG0[1-2]|AM0[1-5]|BE0[15]|CNOR|DNOR|FF0[15]|FOCR|MD0[1-7]|MS0[23]|RC01|RR0[1-4]|SL01|TM01|DUPL|FRAD|TECH|CUST|ERIN|RUTA)\b/;
const RETURN_MARKER_RE =
  /RETOURE|R[ÜU]CKGABE|RUECKGABE|R[ÜU]CKLASTSCHRIFT|RUECKLASTSCHRIFT|RUECKUEBERWEISUNG|RETURN|REJECT/i;

interface Field {
  tag: string;
  value: string;
  line: number;
}

interface RawEntry {
  line: number;
  amount: string;
  sign: 1 | -1;
  currency?: string;
  valueDate: string;
  bookingDate: string;
  reference?: string;
  customerReference?: string;
  info?: Field;
}

interface RawStatement {
  line: number;
  fields: Field[];
}

function fail(file: string, line: number, message: string): never {
  throw new IntegrationError(message, `${file}:${line}`);
}

function isoDate(yymmdd: string, file: string, line: number): string {
  const yy = Number(yymmdd.slice(0, 2));
  const mm = Number(yymmdd.slice(2, 4));
  const dd = Number(yymmdd.slice(4, 6));
  // SWIFT: YY 00–79 is 20YY, 80–99 is 19YY.
  const year = yy < 80 ? 2000 + yy : 1900 + yy;
  return checkedDate(year, mm, dd, yymmdd, file, line);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

function checkedDate(year: number, mm: number, dd: number, raw: string, file: string, line: number): string {
  if (!isDigits(raw) || mm < 1 || mm > 12 || dd < 1 || dd > 31) fail(file, line, `"${raw}" is not a valid date`);
  // German banks date interest closings on the 30/360 calendar (e.g. 30 February): the last day of that month.
  const last = mm === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[mm - 1]!;
  const day = Math.min(dd, last);
  return `${year}-${pad2(mm)}-${pad2(day)}`;
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Entry date MMDD relative to the value date: a December booking of a January value date is the previous year. */
function entryDate(mmdd: string, valueDate: string, file: string, line: number): string {
  const vy = Number(valueDate.slice(0, 4));
  const vm = Number(valueDate.slice(5, 7));
  const mm = Number(mmdd.slice(0, 2));
  let year = vy;
  if (mm - vm > 6) year -= 1;
  else if (vm - mm > 6) year += 1;
  return checkedDate(year, mm, Number(mmdd.slice(2, 4)), mmdd, file, line);
}

/** MT940 amounts: digits, a comma, up to the currency's decimals ("1234,5", "0,"). */
const SIMPLE_AMOUNT = /^(\d{1,13}),(\d{0,3})$/;
const POW10 = [1, 10, 100, 1000];

/** An amount of a subfield that may be garbled: undefined instead of an error (the entry itself is not in doubt). */
function tryMinor(amount: string, currency: string): number | undefined {
  try {
    return toMinor(amount, currency, '', 0);
  } catch {
    return undefined;
  }
}

function toMinor(amount: string, currency: string, file: string, line: number): number {
  // Fast path for what nearly every line carries; anything else goes through the general parser and its errors.
  const exp = CURRENCY_EXPONENT.get(currency);
  if (exp !== undefined) {
    const m = SIMPLE_AMOUNT.exec(amount);
    if (m && m[2]!.length <= exp)
      return Number(m[1]) * POW10[exp]! + (m[2] ? Number(m[2]) * POW10[exp - m[2].length]! : 0);
  }
  const parseAs = isKnownCurrency(currency) ? currency : LEGACY_CURRENCIES[currency];
  if (!parseAs) fail(file, line, `unknown currency "${currency}"`);
  try {
    return parseDecimalToMinor(amount.endsWith(',') ? `${amount}0` : amount, parseAs);
  } catch (e) {
    fail(file, line, `amount "${amount}": ${(e as Error).message}`);
  }
}

// Control characters (a stray SOH/ETX of a transmission wrapper) in front of a trailer line.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these regexes exist to find control characters
const CONTROL_RE = /[\x00-\x1f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: these regexes exist to find control characters
const CONTROL_ALL_RE = /[\x00-\x1f]/g;
const HEADER_RE = /^(?:\{[1-3]:(?:[^{}]|\{[^{}]*\})*\})*\{4:/;
const TRAILER_RE = /^-\}?\s*$|^-\}\{5:|^\{5:/;
const TAG_RE = /^:([0-9]{2}[A-Z]?|NS):/;

/**
 * Splits text into SWIFT fields with the line each starts on; drops block wrappers and trailer lines. This is the hot
 * loop of a large file: the regular expressions run only on lines that can match them (by their first character).
 */
function splitStatements(text: string, file: string, onStatement: (raw: RawStatement) => void): void {
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r\n|\r|\n/);
  let current: RawStatement | undefined;
  let field: Field | undefined;
  // Each statement is handed on as soon as it is complete, so its raw fields never outlive it.
  const close = () => {
    if (current?.fields.some((f) => f.tag !== 'NS')) onStatement(current);
    current = undefined;
    field = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!;
    // {1:…}{2:…}{3:{…}}{4: prefix — the statement body follows, on this line or the next.
    if (line.charCodeAt(0) === 123 /* { */) {
      const header = HEADER_RE.exec(line);
      if (header) {
        line = line.slice(header[0].length);
        close();
      }
    }
    const bare = CONTROL_RE.test(line) ? line.replace(CONTROL_ALL_RE, '') : line;
    const b0 = bare.charCodeAt(0);
    if ((b0 === 45 /* - */ || b0 === 123) /* { */ && TRAILER_RE.test(bare)) {
      close();
      continue;
    }
    const tag = line.charCodeAt(0) === 58 /* : */ ? TAG_RE.exec(line) : null;
    // A NUL is no character of a field (and the store cannot keep one); outside the fields it is padding.
    if ((tag || field) && line.includes('\0')) fail(file, lineNo, 'a NUL byte (0x00) in a field: the file is damaged');
    if (tag) {
      const name = tag[1]!;
      if (name === '20' || !current) {
        close();
        current = { line: lineNo, fields: [] };
      }
      field = { tag: name, value: line.slice(tag[0].length), line: lineNo };
      current.fields.push(field);
      continue;
    }
    // text outside a field (bank headers such as "ABNANL2A", "940 00") carries nothing the model needs
    if (field) field.value += `\n${line}`;
  }
  close();
}

const BALANCE_RE = /^([CD])(\d{6})([A-Z]{3})?(\d+(?:,\d*)?)$/;

function parseBalance(f: Field, file: string, fallbackCurrency: string): { balance: Balance; currency: string } {
  // A balance is one line: what follows it before the next field (bank header lines of the next message, such as
  // "ABNANL2A" / "940") is not part of it.
  const nl = f.value.indexOf('\n');
  const value = (nl < 0 ? f.value : f.value.slice(0, nl)).trim();
  const m = BALANCE_RE.exec(value);
  if (!m) fail(file, f.line, `:${f.tag}: "${value}" is not a balance (expected e.g. C230131EUR1234,56)`);
  const currency = m[3] ?? fallbackCurrency;
  if (!currency) fail(file, f.line, `:${f.tag}: "${value}" has no currency`);
  const minor = toMinor(m[4]!, currency, file, f.line);
  return {
    balance: { amountMinor: m[1] === 'D' && minor !== 0 ? -minor : minor, date: isoDate(m[2]!, file, f.line) },
    currency,
  };
}

// :61: value date, entry date (MMDD, may be blank), mark, funds code, amount, type + code, references, details.
const LINE_61_RE = /^(\d{6})(\d{4}|\s{4})?(R?[CD]|E[CD])([A-Z])?(\d+(?:,\d*)?)([A-Z][A-Z0-9 ]{3})(.*?)(?:\/\/(.*))?$/;

function parseLine61(f: Field, file: string): RawEntry {
  const lines = f.value.split('\n');
  const first = lines[0] ?? '';
  // some banks wrap the statement line itself after the mark
  const m = LINE_61_RE.exec(first.trimEnd()) ?? LINE_61_RE.exec(`${first}${lines[1] ?? ''}`.trimEnd());
  if (!m) fail(file, f.line, `:61: "${first.trim()}" is not a statement line`);
  const valueDate = isoDate(m[1]!, file, f.line);
  const entry = m[2]?.trim() ? entryDate(m[2], valueDate, file, f.line) : valueDate;
  const mark = m[3]!;
  const customerReference = m[7]?.trim();
  const bankReference = m[8]?.trim();
  const raw: RawEntry = {
    line: f.line,
    amount: m[5]!,
    sign: mark === 'C' || mark === 'RD' || mark === 'EC' ? 1 : -1,
    valueDate,
    bookingDate: entry,
  };
  const ref = bankReference || (customerReference && customerReference !== 'NONREF' ? customerReference : undefined);
  if (ref) raw.reference = ref;
  if (customerReference && customerReference !== 'NONREF') raw.customerReference = customerReference;
  return raw;
}

/** Joins wrapped free-text lines: a full 65-character line was cut mid-word, a shorter one ended a phrase. */
function joinFreeText(value: string): string {
  const lines = value.split('\n');
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (i > 0) out += (lines[i - 1]!.length >= 65 ? '' : ' ') + l;
    else out = l;
  }
  return out.replace(/\s+/g, ' ').trim();
}

const STRUCTURED_86_RE = /^(\d{3})([^A-Za-z0-9\s])(\d{2})/;

/** Parses a German structured :86: (GVC, separator, ?nn subfields). Returns undefined for free text. */
export function parseStructured86(value: string): Record<string, string> | undefined {
  const flat = value.indexOf('\n') < 0 ? value : value.replace(/\n/g, '');
  const m = STRUCTURED_86_RE.exec(flat);
  if (!m) return undefined;
  const sep = m[2]!;
  const details: Record<string, string> = { gvc: m[1]! };
  let last = 'gvc';
  const parts = flat.slice(4).split(sep);
  for (const part of parts) {
    const c0 = part.charCodeAt(0);
    const c1 = part.charCodeAt(1);
    if (!(c0 >= 48 && c0 <= 57 && c1 >= 48 && c1 <= 57)) {
      // a stray separator inside a subfield: keep the text with the previous subfield
      details[last] = `${details[last]}${sep}${part}`;
      continue;
    }
    last = part.slice(0, 2);
    const prev = details[last];
    details[last] = prev === undefined ? part.slice(2) : prev + part.slice(2);
  }
  return details;
}

function subfields(details: Record<string, string>, from: number, to: number): string {
  let out = '';
  for (let k = from; k <= to; k++) out += details[String(k).padStart(2, '0')] ?? '';
  return out;
}

/** Splits "EREF+…SVWZ+…" into keyword values. Text before the first keyword is returned under "". */
function sepaKeywords(purpose: string): Record<string, string> {
  const out: Record<string, string> = {};
  const matches = [...purpose.matchAll(SEPA_KEYWORD_RE)];
  if (matches.length === 0) return { '': purpose };
  const lead = purpose.slice(0, matches[0]!.index);
  if (lead.trim()) out[''] = lead;
  matches.forEach((mt, i) => {
    const start = mt.index + mt[0].length;
    const end = i + 1 < matches.length ? matches[i + 1]!.index : purpose.length;
    const key = mt[1]!;
    out[key] = (out[key] ?? '') + purpose.slice(start, end);
  });
  return out;
}

function clean(s: string | undefined): string | undefined {
  const t = s?.replace(/\s+/g, ' ').trim();
  return t ? t : undefined;
}

const RF_RE = /\bRF\d{2}(?: ?[A-Z0-9]{1,4}){1,6}\b/;

function applyInfo(entry: StatementEntry, value: string, currency: string): void {
  const details = parseStructured86(value);
  let text: string;
  if (details) {
    entry.details = details;
    const purpose = subfields(details, 20, 29) + subfields(details, 60, 63);
    const kw = sepaKeywords(purpose);
    text = purpose;
    const remittance = clean(kw.SVWZ ?? kw['']);
    if (remittance) entry.remittance = remittance;
    const eref = clean(kw.EREF);
    if (eref && eref !== 'NOTPROVIDED') entry.endToEndId = eref;
    const mref = clean(kw.MREF);
    if (mref) entry.mandateId = mref;
    // A return carries the original amount (OAMT+); what the bank took beyond it are its charges.
    const oamt = kw.OAMT ? /(\d+(?:,\d*)?)/.exec(kw.OAMT.replace(/\s+/g, '')) : null;
    if (oamt) {
      const original = tryMinor(oamt[1]!, currency);
      if (original !== undefined) {
        entry.originalAmountMinor = original;
        const charges = Math.abs(entry.amountMinor) - original;
        if (charges > 0) entry.chargesMinor = charges;
      }
    }
    const cp: Counterparty = {};
    const name = clean((details['32'] ?? '') + (details['33'] ?? ''));
    if (name) cp.name = name;
    const bic = clean(details['30']);
    if (bic) cp.bic = bic;
    const iban = clean(details['31']);
    if (iban) cp.iban = iban;
    if (Object.keys(cp).length > 0) entry.counterparty = cp;
    text = `${details['00'] ?? ''} ${purpose}`;
  } else {
    text = joinFreeText(value);
    if (text) entry.remittance = text;
  }
  const creditorReference = findRf(text);
  if (creditorReference) entry.creditorReference = creditorReference;
  if (RETURN_MARKER_RE.test(text) || entry.details?.gvc === '159' || entry.details?.gvc === '109') {
    const code = RETURN_REASON_RE.exec(text);
    if (code) entry.returnReason = code[1]!;
  }
}

/** The longest run of "RFnn" + groups after it that passes the ISO 11649 check, without spaces. */
function findRf(text: string): string | undefined {
  const m = RF_RE.exec(text);
  if (!m) return undefined;
  const groups = m[0].split(/(?=\s)/);
  for (let n = groups.length; n > 0; n--) {
    const candidate = groups.slice(0, n).join('').replace(/\s+/g, '');
    if (isRf(candidate)) return candidate;
  }
  return undefined;
}

/** ISO 11649: RF + 2 check digits + up to 21 alphanumerics, mod 97 = 1. */
function isRf(candidate: string): boolean {
  const s = candidate.replace(/\s+/g, '').toUpperCase();
  if (!/^RF\d{2}[A-Z0-9]{1,21}$/.test(s)) return false;
  const rearranged = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (const ch of rearranged) {
    const v = /\d/.test(ch) ? ch : String(ch.charCodeAt(0) - 55);
    for (const d of v) rem = (rem * 10 + Number(d)) % 97;
  }
  return rem === 1;
}

function statementName(s: Statement, raw: RawStatement): string {
  return s.id ? `statement ${s.id}` : `statement at line ${raw.line}`;
}

export interface Mt940Options {
  /** Check opening + entries = closing on every statement (default true). Only tests of foreign fixtures turn it off. */
  verifyBalances?: boolean;
}

function buildStatement(raw: RawStatement, file: string, options: Mt940Options): Statement {
  let account = '';
  let currency = '';
  let ref20 = '';
  let seq = '';
  let opening: Balance | undefined;
  let closing: Balance | undefined;
  let closingLine = raw.line;
  const rawEntries: RawEntry[] = [];
  let last: RawEntry | undefined;
  for (const f of raw.fields) {
    switch (f.tag) {
      case '20':
        ref20 = f.value.replace(/\s+/g, ' ').trim();
        break;
      case '25': {
        account = f.value.replace(/\s+/g, '').trim();
        const cur = /^(.*?)([A-Z]{3})$/.exec(account);
        // "DE…EUR" or "12345678/123EUR": a trailing ISO currency after digits
        if (cur?.[1] && /\d$/.test(cur[1]) && isKnownCurrency(cur[2]!)) {
          account = cur[1];
          currency ||= cur[2]!;
        }
        break;
      }
      case '28':
      case '28C':
        seq = f.value.replace(/\s+/g, '').trim();
        break;
      case '60F':
      case '60M': {
        const b = parseBalance(f, file, currency);
        opening = b.balance;
        currency = b.currency;
        break;
      }
      case '62F':
      case '62M': {
        const b = parseBalance(f, file, currency);
        closing = b.balance;
        closingLine = f.line;
        currency ||= b.currency;
        // an :86: after the balances is the statement's own information to the account owner, no entry's
        last = undefined;
        break;
      }
      case '64':
      case '65':
        parseBalance(f, file, currency);
        last = undefined;
        break;
      case '90D':
      case '90C':
        // MT942: the totals of debits and credits, after the entries (an :86: after them is the report's)
        last = undefined;
        break;
      case '34F': {
        const m = /^([A-Z]{3})/.exec(f.value.trim());
        if (m) currency ||= m[1]!;
        break;
      }
      case '61':
        last = parseLine61(f, file);
        rawEntries.push(last);
        break;
      case '86':
        if (last && !last.info) last.info = f;
        break;
      default:
        // :13D:, :NS: and others carry nothing the model needs
        break;
    }
  }
  const statement: Statement = { account, currency, entries: [] };
  const id = [ref20, seq].filter(Boolean).join('/');
  if (id) statement.id = id;
  if (!currency && rawEntries.length > 0) {
    fail(file, raw.line, `${statementName(statement, raw)} has entries but no currency (no :60F:, :25: or :34F:)`);
  }
  if (opening) statement.openingBalance = opening;
  if (closing) statement.closingBalance = closing;
  for (const r of rawEntries) {
    const entry: StatementEntry = {
      amountMinor: r.sign * toMinor(r.amount, currency, file, r.line) || 0,
      bookingDate: r.bookingDate,
      valueDate: r.valueDate,
    };
    if (r.reference) entry.reference = r.reference;
    if (r.info) applyInfo(entry, r.info.value, currency);
    statement.entries.push(entry);
  }
  if (opening && closing && options.verifyBalances !== false) {
    const sum = statement.entries.reduce((acc, e) => acc + BigInt(e.amountMinor), 0n);
    if (BigInt(opening.amountMinor) + sum !== BigInt(closing.amountMinor)) {
      fail(
        file,
        closingLine,
        `${statementName(statement, raw)} does not bridge: opening ${opening.amountMinor} + entries ${sum} ` +
          `≠ closing ${closing.amountMinor} (minor units ${currency}); the file was not imported`,
      );
    }
  }
  return statement;
}

/** Parses MT940/MT942 text. Throws {@link IntegrationError} (field `file:line`) on anything it cannot read. */
export function parseMt940(text: string, file: string, options: Mt940Options = {}): Statement[] {
  const statements: Statement[] = [];
  splitStatements(text, file, (raw) => statements.push(buildStatement(raw, file, options)));
  if (statements.length === 0) fail(file, 1, 'no MT940/MT942 statement found (expected a :20: field)');
  return statements;
}

/** Decodes UTF-8, or ISO-8859-1 when the bytes are not valid UTF-8, then parses. */
export function parseMt940Buffer(buf: Buffer, file: string, options: Mt940Options = {}): Statement[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    text = buf.toString('latin1');
  }
  return parseMt940(text, file, options);
}
