/**
 * Wire types of SAP's `JournalEntryCreateRequestConfirmation_In` and pure functions between them and ours:
 * write-back command → `JournalEntryBulkCreateRequest` XML, parsed `JournalEntryBulkCreateConfirmation` → outcome,
 * idempotency key → message ids and document reference. No I/O here.
 */
import { createHash } from 'node:crypto';
import { isCalendarDate } from '../../src/domain/dates';
import { IntegrationError } from '../../src/domain/errors';
import { formatMinor } from '../../src/domain/money';
import type { WriteBackCommand } from '../../src/domain/write-back';

/** Namespace of the service (SAP's, unchanged). */
export const SFIN_NS = 'http://sap.com/xi/SAPSCORE/SFIN';
/** SOAPAction of the operation, as SAP's WSDL declares it. */
export const SOAP_ACTION =
  'http://sap.com/xi/SAPSCORE/SFIN/JournalEntryCreateRequestConfirmation_In/JournalEntryCreateRequestConfirmation_InRequest';
export const OPERATION = 'JournalEntryCreateRequestConfirmation_In';

/** What the connector needs besides the command to build a posting. */
export interface PostingSettings {
  clearingAccount: string;
  documentType: string;
  reversalDocumentType: string;
  createdByUser: string;
  referencePrefix: string;
  /** Fallback when the item's sourceKey carries none. */
  companyCode?: string;
  /** Calendar date (YYYY-MM-DD) in the configured time zone: posting date of reversals. */
  today: string;
  /** Message creation time, ISO 8601 UTC. */
  now: Date;
}

/** Ids derived from the idempotency key: the same on every retry of one outbox entry. */
export interface MessageIds {
  /** MessageHeader/UUID of the bulk message (36 characters). */
  uuid: string;
  /** MessageHeader/ID of the bulk message: the UUID's 32 hex digits, upper case (fits SAP's 35). */
  id: string;
  /** MessageHeader/UUID of the single JournalEntryCreateRequest inside. */
  itemUuid: string;
  /** JournalEntry/DocumentReferenceID (XBLNR): prefix + base-32 hash of the key, 16 characters. */
  documentReferenceId: string;
}

// A fixed namespace for name-based UUIDs of Clearhub write-backs (RFC 9562 version 5).
const UUID_NAMESPACE = Buffer.from('5d0c2f8e6b7a4c1d9e3f0a2b4c6d8e10', 'hex');

/** RFC 9562 version-5 UUID of `name` in Clearhub's namespace. */
export function nameBasedUuid(name: string): string {
  const h = createHash('sha1').update(UUID_NAMESPACE).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The message ids and the document reference of one write-back. Everything is derived from the idempotency key
 * (`outbox:<id>`, a business id), so a retried posting carries the same MessageHeader ID/UUID and the same
 * DocumentReferenceID as the first attempt.
 *
 * The reference is `prefix` + Crockford base-32 of SHA-256(key), cut to 16 characters: with the default prefix `CH`
 * that is 70 bits, so among n postings two share a reference with a probability of about n²/2⁷¹ (4e-10 for a
 * million postings).
 */
export function messageIds(idempotencyKey: string, referencePrefix: string): MessageIds {
  if (idempotencyKey === '') throw new IntegrationError('must not be empty', 'idempotencyKey');
  const uuid = nameBasedUuid(idempotencyKey);
  const digest = createHash('sha256').update(idempotencyKey, 'utf8').digest();
  let bits = 0n;
  for (const b of digest.subarray(0, 10)) bits = (bits << 8n) | BigInt(b);
  let hash = '';
  for (let i = 0; i < 16; i++) {
    hash = CROCKFORD[Number(bits & 31n)]! + hash;
    bits >>= 5n;
  }
  return {
    uuid,
    id: uuid.replace(/-/g, '').toUpperCase(),
    itemUuid: nameBasedUuid(`${idempotencyKey}#1`),
    documentReferenceId: (referencePrefix + hash).slice(0, 16),
  };
}

/** `companyCode|fiscalYear|document|item` (DESIGN §3, SAP identity) → company code; otherwise the fallback. */
export function companyCodeOf(sourceKey: string, fallback: string | undefined): string {
  const parts = sourceKey.split('|');
  if (parts.length === 4 && /^[A-Za-z0-9]{1,4}$/.test(parts[0]!)) return parts[0]!;
  if (fallback) return fallback;
  throw new IntegrationError(
    `"${sourceKey}" does not start with a company code (expected companyCode|fiscalYear|document|item); set companyCode in the sap-soap options`,
    'sourceKey',
  );
}

function check(value: string, max: number, field: string): string {
  if (value.trim() === '') throw new IntegrationError('must not be empty', field);
  if (value.length > max) {
    throw new IntegrationError(`"${value}" is longer than SAP allows here (${max} characters)`, field);
  }
  return value;
}

function checkDate(value: string, field: string): string {
  if (!isCalendarDate(value)) {
    throw new IntegrationError(`"${value}" is not a date (expected YYYY-MM-DD)`, field);
  }
  return value;
}

const cut = (s: string, max: number): string => (s.length > max ? s.slice(0, max) : s);

/** One line of the journal entry: G/L (`Item`) or customer (`DebtorItem`). Amounts signed: debit +, credit −. */
export interface PostingLine {
  amount: string;
  currency: string;
  debitCredit: 'S' | 'H';
  text: string;
  assignment: string;
}

/** The journal entry as we build it, before it becomes XML (also kept in the raw result). */
export interface JournalEntryWire {
  ids: MessageIds;
  creationDateTime: string;
  documentType: string;
  headerText: string;
  createdByUser: string;
  companyCode: string;
  documentDate: string;
  postingDate: string;
  glAccount: string;
  glItem: PostingLine & { valueDate?: string };
  debtor: string;
  debtorItem: PostingLine & { reference1: string };
}

/**
 * A `payment` or `reversal` command → the journal entry.
 *
 * - payment: G/L `clearingAccount` debit (S, +amount), customer credit (H, −amount), posted on the value date.
 * - reversal: the mirror posting (G/L credit, customer debit) on today's date: it re-opens the receivable with the
 *   same assignment and reference, so the invoice can be cleared again.
 *
 * The customer line carries AssignmentReference = the invoice's document number and Reference1IDByBusinessPartner =
 * the invoice reference, which is what SAP's automatic clearing (F.13 / clearing rules on assignment) matches on.
 */
export function toJournalEntry(
  command: WriteBackCommand,
  idempotencyKey: string,
  s: PostingSettings,
): JournalEntryWire {
  switch (command.kind) {
    case 'payment':
    case 'reversal': {
      if (!Number.isSafeInteger(command.amountMinor) || command.amountMinor <= 0) {
        throw new IntegrationError(
          `${command.amountMinor} is not a positive amount in minor units; SAP postings need one`,
          'amountMinor',
        );
      }
      const amount = formatMinor(command.amountMinor, command.currency);
      const payment = command.kind === 'payment';
      const date = payment ? checkDate(command.valueDate, 'valueDate') : s.today;
      const assignment = check(command.documentNumber, 18, 'documentNumber');
      const reference1 = check(command.documentNumber, 12, 'documentNumber');
      const debtor = check(command.externalId, 10, 'externalId');
      const paymentText = cut(`${payment ? 'Payment' : 'Reversal of payment'} ${command.paymentId}`, 50);
      const headerText = payment ? `Clearhub payment` : cut(`Reversal: ${command.reason}`, 25);
      return {
        ids: messageIds(idempotencyKey, s.referencePrefix),
        creationDateTime: s.now.toISOString(),
        documentType: payment ? s.documentType : s.reversalDocumentType,
        headerText,
        createdByUser: s.createdByUser,
        companyCode: companyCodeOf(command.sourceKey, s.companyCode),
        documentDate: date,
        postingDate: date,
        glAccount: s.clearingAccount,
        glItem: {
          amount: payment ? amount : `-${amount}`,
          currency: command.currency,
          debitCredit: payment ? 'S' : 'H',
          text: paymentText,
          assignment,
          ...(payment ? { valueDate: date } : {}),
        },
        debtor,
        debtorItem: {
          amount: payment ? `-${amount}` : amount,
          currency: command.currency,
          debitCredit: payment ? 'H' : 'S',
          text: paymentText,
          assignment,
          reference1,
        },
      };
    }
    case 'dunning_level':
      throw new IntegrationError(
        'sap-soap posts payments and reversals only; SAP takes dunning levels through A_CustomerDunning (sap-odata)',
        'kind',
      );
    default: {
      const never: never = command;
      throw new IntegrationError(`unknown write-back command ${JSON.stringify(never)}`, 'kind');
    }
  }
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
export const escapeXml = (s: string): string => s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);

const el = (name: string, value: string): string => `<${name}>${escapeXml(value)}</${name}>`;
const amountEl = (l: PostingLine): string =>
  `<AmountInTransactionCurrency currencyCode="${escapeXml(l.currency)}">${l.amount}</AmountInTransactionCurrency>`;

/**
 * The `JournalEntryBulkCreateRequest` element, in schema order. Child elements are unqualified, as SAP's schema
 * (no elementFormDefault) requires; only the root is in the SFIN namespace.
 */
export function toWire(je: JournalEntryWire): string {
  const header = (id: string | undefined, uuid: string) =>
    `<MessageHeader>${id ? el('ID', id) : ''}${el('UUID', uuid)}${el('CreationDateTime', je.creationDateTime)}</MessageHeader>`;
  return (
    `<n0:JournalEntryBulkCreateRequest xmlns:n0="${SFIN_NS}">` +
    header(je.ids.id, je.ids.uuid) +
    '<JournalEntryCreateRequest>' +
    header(undefined, je.ids.itemUuid) +
    '<JournalEntry>' +
    el('OriginalReferenceDocumentType', 'BKPFF') +
    el('BusinessTransactionType', 'RFBU') +
    el('AccountingDocumentType', je.documentType) +
    el('DocumentReferenceID', je.ids.documentReferenceId) +
    el('DocumentHeaderText', je.headerText) +
    el('CreatedByUser', je.createdByUser) +
    el('CompanyCode', je.companyCode) +
    el('DocumentDate', je.documentDate) +
    el('PostingDate', je.postingDate) +
    '<Item>' +
    el('ReferenceDocumentItem', '1') +
    el('GLAccount', je.glAccount) +
    amountEl(je.glItem) +
    el('DebitCreditCode', je.glItem.debitCredit) +
    el('DocumentItemText', je.glItem.text) +
    el('AssignmentReference', je.glItem.assignment) +
    (je.glItem.valueDate ? el('ValueDate', je.glItem.valueDate) : '') +
    '</Item>' +
    '<DebtorItem>' +
    el('ReferenceDocumentItem', '2') +
    el('Debtor', je.debtor) +
    amountEl(je.debtorItem) +
    el('DebitCreditCode', je.debtorItem.debitCredit) +
    el('DocumentItemText', je.debtorItem.text) +
    el('AssignmentReference', je.debtorItem.assignment) +
    el('Reference1IDByBusinessPartner', je.debtorItem.reference1) +
    '</DebtorItem>' +
    '</JournalEntry>' +
    '</JournalEntryCreateRequest>' +
    '</n0:JournalEntryBulkCreateRequest>'
  );
}

/** The SOAP 1.1 envelope around a body element. */
export function envelope(body: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${body}</soap:Body></soap:Envelope>`;
}

/** One Log item as we keep it. */
export interface LogItemWire {
  typeId?: string;
  severity: number;
  note: string;
}

/** The confirmation, normalised from the parsed XML (single elements and lists alike). */
export interface ConfirmationWire {
  accountingDocument?: string;
  companyCode?: string;
  fiscalYear?: string;
  /** The highest severity in the bulk and item Logs: 1 info, 2 warning, 3 error, 4 abort. 0 when none was sent. */
  maxSeverity: number;
  processingResultCode?: string;
  log: LogItemWire[];
}

type Parsed = Record<string, unknown> | undefined;

const asArray = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const obj = (v: unknown): Parsed => (v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined);
const text = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  const o = obj(v);
  return o && typeof o.$value === 'string' ? o.$value : undefined;
};
const severity = (v: unknown): number => {
  const n = Number(text(v));
  return Number.isInteger(n) && n >= 0 ? n : 0;
};

function logOf(v: unknown): { max: number; code?: string; items: LogItemWire[] } {
  const log = obj(v);
  if (!log) return { max: 0, items: [] };
  const items = asArray(log.Item).map((i) => {
    const o = obj(i) ?? {};
    const typeId = text(o.TypeID);
    return { ...(typeId ? { typeId } : {}), severity: severity(o.SeverityCode), note: text(o.Note) ?? '' };
  });
  const code = text(log.BusinessDocumentProcessingResultCode);
  const max = Math.max(severity(log.MaximumLogItemSeverityCode), ...items.map((i) => i.severity), 0);
  return { max, ...(code ? { code } : {}), items };
}

/** A parsed `JournalEntryBulkCreateConfirmation` (node-soap's object form) → the fields we use. */
export function fromWire(parsed: unknown): ConfirmationWire {
  const root = obj(parsed) ?? {};
  const bulk = logOf(root.Log);
  const conf = obj(asArray(root.JournalEntryCreateConfirmation)[0]) ?? {};
  const item = logOf(conf.Log);
  const je = obj(conf.JournalEntryCreateConfirmation) ?? {};
  const doc = text(je.AccountingDocument);
  const cc = text(je.CompanyCode);
  const fy = text(je.FiscalYear);
  const code = item.code ?? bulk.code;
  return {
    ...(doc ? { accountingDocument: doc } : {}),
    ...(cc ? { companyCode: cc } : {}),
    ...(fy ? { fiscalYear: fy } : {}),
    maxSeverity: Math.max(bulk.max, item.max),
    ...(code ? { processingResultCode: code } : {}),
    log: [...item.items, ...bulk.items],
  };
}

/** Whether SAP reported a real document (an all-zero number is SAP's "none"). */
export function hasDocument(c: ConfirmationWire): boolean {
  return !!c.accountingDocument && !/^0+$/.test(c.accountingDocument) && !!c.fiscalYear;
}

/** Our reference for a posted document: `companyCode|fiscalYear|accountingDocument`, the order of an SAP sourceKey. */
export const documentKey = (companyCode: string, fiscalYear: string, document: string): string =>
  `${companyCode}|${fiscalYear}|${document}`;

/** `Basic …` header values and `<Password>`-like XML content. */
const AUTH_HEADER = /(authorization\s*[:=]\s*"?)(basic|bearer)\s+[A-Za-z0-9+/=._-]+/gi;
const SECRET_XML = /(<(?:\w+:)?(?:Password|Passwd|Secret|Token)[^>]*>)[^<]*(<\/)/gi;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const CARD = /\b(?:\d[ -]?){13,19}\b/g;

/**
 * Masks what must not reach a log from sap-soap traffic: Authorization header values, password-like XML elements,
 * IBANs and card-like digit runs. Document numbers (10 digits) and amounts stay readable.
 * @example scrub('Authorization: Basic dXNlcjpwdw==') // 'Authorization: Basic [REDACTED]'
 */
export function scrub(textIn: string): string {
  return textIn
    .replace(AUTH_HEADER, (_m, head: string, scheme: string) => `${head}${scheme} [REDACTED]`)
    .replace(SECRET_XML, '$1[REDACTED]$2')
    .replace(IBAN, '[IBAN]')
    .replace(CARD, '[CARD]');
}
