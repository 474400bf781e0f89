/**
 * Wire types of the CSV connector and pure functions between them and ours: header and row → record, write-back
 * command → confirmation row, checkpoint ↔ string, idempotency key → file name. No I/O here.
 */
import { IntegrationError } from '../../src/domain/errors';
import { formatMinor } from '../../src/domain/money';
import type { WriteBackCommand } from '../../src/domain/write-back';

/** A checked header: column names in file order. */
export type CsvHeader = readonly string[];

/**
 * Checks the header row: names are trimmed; an empty or duplicate name, or `__proto__`, makes the file unreadable
 * (the records could not be keyed). Returns the names or the reason.
 */
export function checkHeader(fields: readonly string[]): { header: CsvHeader } | { error: string } {
  const header = fields.map((f) => f.trim());
  const seen = new Set<string>();
  for (let i = 0; i < header.length; i++) {
    const name = header[i]!;
    if (name === '') return { error: `header: column ${i + 1} has no name` };
    if (name === '__proto__') return { error: `header: column ${i + 1} may not be called __proto__` };
    if (seen.has(name)) return { error: `header: column "${name}" appears twice` };
    seen.add(name);
  }
  return { header };
}

/**
 * A data row → a record keyed by the header. A row with another number of fields than the header is still returned
 * (so the quarantine shows what was there) with `error` set; fields beyond the header are keyed `#<column>`.
 */
export function fromWire(
  header: CsvHeader,
  fields: readonly string[],
): { record: Record<string, string>; error?: string } {
  const record: Record<string, string> = {};
  const n = Math.min(header.length, fields.length);
  for (let i = 0; i < n; i++) record[header[i]!] = fields[i]!;
  if (fields.length === header.length) return { record };
  for (let i = header.length; i < fields.length; i++) record[`#${i + 1}`] = fields[i]!;
  return {
    record,
    error: `expected ${header.length} fields as in the header, found ${fields.length}`,
  };
}

/** Whether a row is blank (a line of white space only): skipped like an empty line. */
export function isBlankRow(fields: readonly string[]): boolean {
  return fields.length === 1 && fields[0]!.trim() === '';
}

/** Physical line breaks inside a text: CRLF, LF and a lone CR each count once. */
export function countLineBreaks(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13) {
      n++;
      if (s.charCodeAt(i + 1) === 10) i++;
    }
  }
  return n;
}

/** Line breaks inside the fields of one record (only possible in quoted fields). */
export function lineBreaksInFields(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) if (f.includes('\n') || f.includes('\r')) n += countLineBreaks(f);
  return n;
}

/**
 * A file-name matcher for the `pattern` option: with `*` or `?` a glob on the whole name, otherwise a suffix.
 * Case-insensitive.
 */
export function fileMatcher(pattern: string): (name: string) => boolean {
  const p = pattern.toLowerCase();
  if (!/[*?]/.test(p)) return (name) => name.toLowerCase().endsWith(p);
  const re = new RegExp(
    `^${p
      .split('')
      .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.+()[\]{}|/]/g, '\\$&')))
      .join('')}$`,
  );
  return (name) => re.test(name.toLowerCase());
}

/** What the CSV connector remembers between pulls. */
export interface CsvCheckpoint {
  v: 1;
  /** Files read to the end: name → signature (size and modification time in ns). */
  files: Record<string, string>;
  /** The file being read when the batch was cut, and the last line handed over. */
  current?: { file: string; sig: string; line: number };
}

export function encodeCheckpoint(cp: CsvCheckpoint): string {
  return JSON.stringify(cp);
}

/**
 * Reads a checkpoint; anything unreadable (another connector's, a hand-edited one) gives `undefined`, which means a
 * full read: always safe, since re-importing is idempotent.
 */
export function decodeCheckpoint(s: string | undefined): CsvCheckpoint | undefined {
  if (!s) return undefined;
  try {
    const v = JSON.parse(s) as Partial<CsvCheckpoint> | null;
    if (typeof v !== 'object' || v === null || v.v !== 1 || typeof v.files !== 'object' || v.files === null) {
      return undefined;
    }
    const files: Record<string, string> = {};
    for (const [k, sig] of Object.entries(v.files)) if (typeof sig === 'string') files[k] = sig;
    const c = v.current;
    const current =
      c && typeof c.file === 'string' && typeof c.sig === 'string' && Number.isSafeInteger(c.line) ? c : undefined;
    return current ? { v: 1, files, current } : { v: 1, files };
  } catch {
    return undefined;
  }
}

/** Columns of a confirmation file, the same for every command kind (cells that do not apply are empty). */
export const OUTBOX_HEADER = [
  'kind',
  'idempotency_key',
  'source_key',
  'document_no',
  'customer_no',
  'payment_id',
  'amount',
  'currency',
  'value_date',
  'cleared',
  'dunning_level',
  'notice_id',
  'reason',
] as const;

export type OutboxRow = Record<(typeof OUTBOX_HEADER)[number], string>;

/** A write-back command → the confirmation row. Amounts as plain decimals ("1190.00") from minor units. */
export function toWire(command: WriteBackCommand, idempotencyKey: string): OutboxRow {
  const row: OutboxRow = {
    kind: command.kind,
    idempotency_key: idempotencyKey,
    source_key: command.sourceKey,
    document_no: command.documentNumber,
    customer_no: command.externalId,
    payment_id: '',
    amount: '',
    currency: '',
    value_date: '',
    cleared: '',
    dunning_level: '',
    notice_id: '',
    reason: '',
  };
  switch (command.kind) {
    case 'payment':
      row.payment_id = command.paymentId;
      row.amount = formatMinor(command.amountMinor, command.currency);
      row.currency = command.currency;
      row.value_date = command.valueDate;
      row.cleared = command.cleared ? 'X' : '';
      return row;
    case 'reversal':
      row.payment_id = command.paymentId;
      row.amount = formatMinor(command.amountMinor, command.currency);
      row.currency = command.currency;
      row.reason = command.reason;
      return row;
    case 'dunning_level':
      if (!Number.isSafeInteger(command.level) || command.level < 0) {
        throw new IntegrationError(`${command.level} is not a dunning level`, 'level');
      }
      row.dunning_level = String(command.level);
      row.notice_id = command.noticeId;
      row.value_date = command.dunnedOn;
      return row;
    default: {
      const never: never = command;
      throw new IntegrationError(`unknown write-back command ${JSON.stringify(never)}`, 'kind');
    }
  }
}

/** One CSV line (RFC 4180 quoting: a field with the delimiter, a quote, CR or LF is quoted, quotes doubled). */
export function encodeCsvLine(fields: readonly string[], delimiter: string): string {
  return fields
    .map((f) =>
      f.includes(delimiter) || f.includes('"') || f.includes('\n') || f.includes('\r')
        ? `"${f.replace(/"/g, '""')}"`
        : f,
    )
    .join(delimiter);
}

/** The whole confirmation file: header and one row, CRLF line ends (RFC 4180). */
export function encodeOutboxFile(row: OutboxRow, delimiter: string): string {
  return `${encodeCsvLine(OUTBOX_HEADER, delimiter)}\r\n${encodeCsvLine(
    OUTBOX_HEADER.map((k) => row[k]),
    delimiter,
  )}\r\n`;
}

const MAX_KEY_IN_NAME = 180;

/**
 * The confirmation file name for an idempotency key: `outbox-<key>.csv` with every byte outside `[a-z0-9.-]` written
 * as `_` plus its UTF-8 value in hex (`outbox:42` → `outbox-outbox_3a42.csv`, `A` → `_41`). The encoding is
 * one-to-one even on case-insensitive file systems, so two keys never share a file, and no key can leave the directory.
 */
export function outboxFileName(idempotencyKey: string): string {
  if (idempotencyKey === '') throw new IntegrationError('must not be empty', 'idempotencyKey');
  let out = '';
  for (const byte of Buffer.from(idempotencyKey, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += /[a-z0-9.-]/.test(ch) ? ch : `_${byte.toString(16).padStart(2, '0')}`;
  }
  if (out.length > MAX_KEY_IN_NAME) {
    throw new IntegrationError(`is too long for a file name (${idempotencyKey.length} characters)`, 'idempotencyKey');
  }
  return `outbox-${out}.csv`;
}

const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const CARD = /\b(?:\d[ -]?){13,19}\b/g;
const EMAIL = /\b[^\s@,;"]+@[^\s@,;"]+\.[A-Za-z]{2,}\b/g;

/**
 * Masks what must not reach a log from CSV traffic: IBANs, card-like digit runs and e-mail addresses.
 * @example scrub('DE89370400440532013000;a@b.de') // '[IBAN];[EMAIL]'
 */
export function scrub(text: string): string {
  return text.replace(IBAN, '[IBAN]').replace(CARD, '[CARD]').replace(EMAIL, '[EMAIL]');
}
