/**
 * Wire types of the sap-rfc connector (the BAPI structures as node-rfc returns them: ABAP field names, every value
 * a string with `bcd: 'string'`) and pure functions between them and ours. No I/O here.
 *
 * Field names follow shared/contracts/sap/rfc/bapi-interfaces.json; a unit test checks them against it.
 */
import { createHash } from 'node:crypto';
import { IntegrationError } from '../../src/domain/errors';
import { formatMinor } from '../../src/domain/money';
import type { WriteBackCommand } from '../../src/domain/write-back';
import type { RfcParams, RfcStructure } from './transport';

/** BAPI3007_2: one FI-AR line item of `BAPI_AR_ACC_GETOPENITEMS` / `GETBALANCEDITEMS` (the fields we read). */
export interface Bapi3007_2 {
  COMP_CODE: string;
  CUSTOMER: string;
  SP_GL_IND?: string;
  CLEAR_DATE?: string;
  CLR_DOC_NO?: string;
  ALLOC_NMBR?: string;
  FISC_YEAR: string;
  DOC_NO: string;
  ITEM_NUM: string;
  PSTNG_DATE?: string;
  DOC_DATE?: string;
  CURRENCY: string;
  LOC_CURRCY?: string;
  REF_DOC_NO?: string;
  DOC_TYPE?: string;
  DB_CR_IND: string;
  LC_AMOUNT?: string;
  AMT_DOCCUR: string;
  ITEM_TEXT?: string;
  BLINE_DATE?: string;
  PMNTTRMS?: string;
  DSCT_DAYS1?: string;
  DSCT_DAYS2?: string;
  NETTERMS?: string;
  INV_REF?: string;
  DUNN_BLOCK?: string;
  DUNN_KEY?: string;
  LAST_DUNN?: string;
  DUNN_LEVEL?: string;
  NAME?: string;
  NAME_2?: string;
  COUNTRY?: string;
  LANGU?: string;
  [field: string]: string | undefined;
}

/** BAPIDFKKCL: one FI-CA open item of `BAPI_CTRACCONTRACTACCOUNT_GOI1` (the fields we read). AMOUNT is signed. */
export interface Bapidfkkcl {
  DOC_NO: string;
  REP_ITEM: string;
  ITEM: string;
  SUB_ITEM: string;
  COMP_CODE?: string;
  BUSPARTNER: string;
  CONT_ACCT: string;
  CONTRACT?: string;
  MAIN_TRANS?: string;
  SUB_TRANS?: string;
  DOC_DATE?: string;
  PSTNG_DATE?: string;
  NET_DATE: string;
  CURRENCY: string;
  AMOUNT: string;
  AMOUNT_CLEAR?: string;
  NO_DUNNING?: string;
  [field: string]: string | undefined;
}

/** Computed fields the connector adds to every record for the mapping (not in any SAP structure). */
export const COMPUTED = {
  /** FI-AR: net due date, YYYYMMDD (BAPI3007_2 has none). */
  netDueDate: 'NET_DUE_DATE',
  /** A name for the debtor: NAME + NAME_2 (filled for one-time customers), else the customer / partner number. */
  debtorName: 'DEBTOR_NAME',
  /** `X` when the item is a payment Clearhub posted itself (its REF_DOC_NO is one of our references). */
  ownPosting: 'CLEARHUB_POSTING',
} as const;

/** SAP's ALPHA conversion for the key fields: a purely numeric value is zero-padded, anything else kept. */
export function alphaIn(value: string, length: number): string {
  const v = value.trim().toUpperCase();
  return /^\d+$/.test(v) ? v.padStart(length, '0') : v;
}

/** The external form: leading zeros of a numeric value removed. */
export function alphaOut(value: string): string {
  const v = value.trim();
  return /^\d+$/.test(v) ? v.replace(/^0+(?=\d)/, '') : v;
}

const INITIAL_DATE = /^0{8}$/;

/** A DATS (YYYYMMDD) as epoch days, or undefined when initial, empty or not a calendar date. */
function datsToDays(dats: string | undefined): number | undefined {
  const s = (dats ?? '').trim();
  if (!/^\d{8}$/.test(s) || INITIAL_DATE.test(s)) return undefined;
  const y = +s.slice(0, 4);
  const m = +s.slice(4, 6) - 1;
  const d = +s.slice(6, 8);
  const t = Date.UTC(y, m, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== m || back.getUTCDate() !== d) return undefined;
  return t / 86_400_000;
}

function daysToDats(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
}

/** A DEC3 day count ("30", "30.000", " 0") as an integer; empty or unreadable is 0. */
function dayCount(v: string | undefined): number {
  const m = /^\s*(\d+)(?:\.0*)?\s*$/.exec(v ?? '');
  return m ? Number(m[1]) : 0;
}

/**
 * The net due date of an FI-AR line item, YYYYMMDD, as SAP derives it (function NET_DUE_DATE_GET, simplified):
 * - a credit memo (DB_CR_IND `H`) without invoice reference (INV_REF empty) is due at the baseline date;
 * - otherwise baseline date BLINE_DATE + NETTERMS days; when NETTERMS is 0, + DSCT_DAYS2, else + DSCT_DAYS1
 *   (terms with discount periods only), else the baseline date itself.
 * An item without a usable baseline date gets '' (the mapping's required due date then quarantines it).
 *
 * @example netDueDate({ BLINE_DATE: '20240115', NETTERMS: '30', DB_CR_IND: 'S' }) // '20240214'
 */
export function netDueDate(
  item: Pick<Bapi3007_2, 'BLINE_DATE' | 'NETTERMS' | 'DSCT_DAYS1' | 'DSCT_DAYS2' | 'DB_CR_IND' | 'INV_REF'>,
): string {
  const base = datsToDays(item.BLINE_DATE);
  if (base === undefined) return '';
  if (item.DB_CR_IND?.trim() === 'H' && (item.INV_REF ?? '').trim() === '') return daysToDats(base);
  const net = dayCount(item.NETTERMS);
  const days = net > 0 ? net : dayCount(item.DSCT_DAYS2) || dayCount(item.DSCT_DAYS1);
  return daysToDats(base + days);
}

/** Every value as text (node-rfc gives numbers for INT fields and, without `bcd: 'string'`, for BCD). */
function textRecord(row: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === null || v === undefined || typeof v === 'object') continue;
    out[k] = String(v);
  }
  return out;
}

/** Our payment references look like this: prefix + 13 base32 characters (16, the length of REF_DOC_NO / XBLNR). */
export const REFERENCE_PREFIX = 'CLH';
const REFERENCE = /^CLH[A-Z2-7]{13}$/;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * The short form of an idempotency key that fits SAP's 16-character reference (REF_DOC_NO / XBLNR): `CLH` plus the
 * first 65 bits of the key's SHA-256 in base32. Deterministic, so a retried delivery carries the same reference and
 * the duplicate check finds the first one.
 *
 * @example referenceFor('outbox:42') // 'CLH' + 13 characters of [A-Z2-7]
 */
export function referenceFor(idempotencyKey: string): string {
  if (idempotencyKey === '') throw new IntegrationError('must not be empty', 'idempotencyKey');
  const hash = createHash('sha256').update(idempotencyKey, 'utf8').digest();
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 13) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
    if (out.length === 13) break;
  }
  return `${REFERENCE_PREFIX}${out}`;
}

/** An FI-AR line item → the record the mapping sees: SAP's fields as text plus {@link COMPUTED} ones. */
export function fromWireArItem(row: Record<string, unknown>): Record<string, string> {
  const rec = textRecord(row);
  rec[COMPUTED.netDueDate] = netDueDate(rec as Bapi3007_2);
  const name = [rec.NAME, rec.NAME_2]
    .map((s) => (s ?? '').trim())
    .filter(Boolean)
    .join(' ');
  rec[COMPUTED.debtorName] = name || alphaOut(rec.CUSTOMER ?? '');
  rec[COMPUTED.ownPosting] = REFERENCE.test((rec.REF_DOC_NO ?? '').trim()) ? 'X' : '';
  return rec;
}

/** An FI-CA open item → the record the mapping sees. */
export function fromWireCaItem(row: Record<string, unknown>): Record<string, string> {
  const rec = textRecord(row);
  rec[COMPUTED.debtorName] = alphaOut(rec.BUSPARTNER ?? '');
  return rec;
}

/** `yyyy-mm-dd` or `yyyymmdd` → DATS. */
export function toDats(date: string, field: string): string {
  const s = date.replace(/-/g, '');
  if (!/^\d{8}$/.test(s)) throw new IntegrationError(`"${date}" is not a date (expected YYYY-MM-DD)`, field);
  return s;
}

/** DATS arithmetic for the duplicate check's window. */
export function addDays(dats: string, days: number): string {
  const d = datsToDays(dats);
  if (d === undefined) throw new IntegrationError(`"${dats}" is not a date`, 'date');
  return daysToDats(d + days);
}

/** The parts of an FI-AR sourceKey `COMP_CODE|FISC_YEAR|DOC_NO|ITEM_NUM`. */
export function parseArSourceKey(sourceKey: string): {
  companyCode: string;
  fiscalYear: string;
  docNo: string;
  item: string;
} {
  const p = sourceKey.split('|');
  if (p.length !== 4 || p.some((x) => x.trim() === '')) {
    throw new IntegrationError(`"${sourceKey}" is not an FI-AR key COMP_CODE|FISC_YEAR|DOC_NO|ITEM_NUM`, 'sourceKey');
  }
  return { companyCode: p[0]!, fiscalYear: p[1]!, docNo: p[2]!, item: p[3]! };
}

/** The parts of an FI-CA sourceKey `DOC_NO|REP_ITEM|ITEM|SUB_ITEM`. */
export function parseCaSourceKey(sourceKey: string): { docNo: string; repItem: string; item: string; subItem: string } {
  const p = sourceKey.split('|');
  if (p.length !== 4 || p.some((x) => x.trim() === '')) {
    throw new IntegrationError(`"${sourceKey}" is not an FI-CA key DOC_NO|REP_ITEM|ITEM|SUB_ITEM`, 'sourceKey');
  }
  return { docNo: p[0]!, repItem: p[1]!, item: p[2]!, subItem: p[3]! };
}

export type PaymentCommand = Extract<WriteBackCommand, { kind: 'payment' }>;

function checkPayment(cmd: PaymentCommand): void {
  if (!Number.isSafeInteger(cmd.amountMinor) || cmd.amountMinor <= 0) {
    throw new IntegrationError(`${cmd.amountMinor} must be a positive amount of minor units`, 'amountMinor');
  }
}

const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);
const itemNo = (n: number) => String(n).padStart(10, '0');

/**
 * A payment → the parameters of `BAPI_ACC_DOCUMENT_POST`: a customer credit line carrying the invoice reference in
 * ALLOC_NMBR (so SAP's automatic clearing can match it) and a bank clearing debit line; the amounts sum to zero.
 * The header's REF_DOC_NO is our reference (see {@link referenceFor}).
 */
export function toWirePayment(
  cmd: PaymentCommand,
  o: {
    companyCode: string;
    customer: string;
    reference: string;
    postingDate: string;
    glAccount: string;
    docType: string;
    username: string;
  },
): RfcParams {
  checkPayment(cmd);
  const text = cut(`Clearhub ${cmd.paymentId} ${cmd.documentNumber}`, 50);
  const header: RfcStructure = {
    OBJ_TYPE: 'BKPFF',
    BUS_ACT: 'RFBU',
    USERNAME: o.username,
    COMP_CODE: o.companyCode,
    DOC_DATE: toDats(cmd.valueDate, 'valueDate'),
    PSTNG_DATE: o.postingDate,
    DOC_TYPE: o.docType,
    REF_DOC_NO: o.reference,
    HEADER_TXT: cut(`Clearhub ${cmd.paymentId}`, 25),
  };
  return {
    DOCUMENTHEADER: header,
    ACCOUNTRECEIVABLE: [
      {
        ITEMNO_ACC: itemNo(1),
        CUSTOMER: o.customer,
        COMP_CODE: o.companyCode,
        ALLOC_NMBR: cut(cmd.documentNumber, 18),
        ITEM_TEXT: text,
      },
    ],
    ACCOUNTGL: [
      {
        ITEMNO_ACC: itemNo(2),
        GL_ACCOUNT: alphaIn(o.glAccount, 10),
        COMP_CODE: o.companyCode,
        ALLOC_NMBR: cut(cmd.documentNumber, 18),
        ITEM_TEXT: text,
        VALUE_DATE: toDats(cmd.valueDate, 'valueDate'),
      },
    ],
    CURRENCYAMOUNT: [
      {
        ITEMNO_ACC: itemNo(1),
        CURR_TYPE: '00',
        CURRENCY: cmd.currency,
        AMT_DOCCUR: formatMinor(-cmd.amountMinor, cmd.currency),
      },
      {
        ITEMNO_ACC: itemNo(2),
        CURR_TYPE: '00',
        CURRENCY: cmd.currency,
        AMT_DOCCUR: formatMinor(cmd.amountMinor, cmd.currency),
      },
    ],
  };
}

/**
 * A payment → the parameters of `BAPI_CTRACCONTRACTACCOUNT_CLOI` (clear open items of one contract account): the
 * item to clear with its clearing amount, our reference, the clearing date. Parameter names beyond those of GOI1
 * are to be verified on a system (RFC_GET_FUNCTION_INTERFACE); see README.
 */
export function toWireClearing(
  cmd: PaymentCommand,
  o: { item: Bapidfkkcl; reference: string; clearingDate: string },
): RfcParams {
  checkPayment(cmd);
  return {
    CONTRACTACCOUNT: o.item.CONT_ACCT,
    CLEARINGDATE: o.clearingDate,
    CLEARINGCURRENCY: cmd.currency,
    REF_DOC_NO: o.reference,
    OPENITEMS: [
      {
        DOC_NO: o.item.DOC_NO,
        REP_ITEM: o.item.REP_ITEM,
        ITEM: o.item.ITEM,
        SUB_ITEM: o.item.SUB_ITEM,
        CONT_ACCT: o.item.CONT_ACCT,
        CURRENCY: cmd.currency,
        AMOUNT_CLEAR: formatMinor(cmd.amountMinor, cmd.currency),
      },
    ],
  };
}

/** What the connector remembers between pulls: where an interrupted pull resumes. */
export interface RfcCheckpoint {
  v: 1;
  /** The key date of the run; a resume continues it only on the same key date. */
  keyDate: string;
  /** Fingerprint of the unit list (company codes × customers, or contract accounts): a changed list starts over. */
  units: string;
  /** Index of the first unit not completely stored; `done` when the pull ended. */
  next: number | 'done';
}

export function encodeCheckpoint(cp: RfcCheckpoint): string {
  return JSON.stringify(cp);
}

/** Reads a checkpoint; anything unreadable (another connector's, a hand edit) gives `undefined` (a full read). */
export function decodeCheckpoint(s: string | undefined): RfcCheckpoint | undefined {
  if (!s) return undefined;
  try {
    const v = JSON.parse(s) as Partial<RfcCheckpoint> | null;
    if (v?.v !== 1 || typeof v.keyDate !== 'string' || typeof v.units !== 'string') return undefined;
    if (v.next !== 'done' && !(Number.isSafeInteger(v.next) && (v.next as number) >= 0)) return undefined;
    return { v: 1, keyDate: v.keyDate, units: v.units, next: v.next as number | 'done' };
  } catch {
    return undefined;
  }
}

/** A short fingerprint of the unit list (the checkpoint only needs to notice a changed configuration). */
export function unitsFingerprint(units: readonly string[]): string {
  return createHash('sha256').update(units.join('\n')).digest('hex').slice(0, 16);
}

/** Today as YYYYMMDD in the process's local time (the default key date and posting date). */
export function todayDats(now = new Date()): string {
  const y = now.getFullYear();
  const m = String(now.getMonth() + 1).padStart(2, '0');
  const d = String(now.getDate()).padStart(2, '0');
  return `${y}${m}${d}`;
}

const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const PASSWD = /("?passwd"?\s*[:=]\s*)("[^"]*"|'[^']*'|\S+)/gi;

/**
 * Masks what must not reach a log from RFC traffic: passwords in connection parameters and IBANs (BAPI3007_2 has
 * bank fields for one-time customers).
 * @example scrub('{"passwd":"secret"} DE89370400440532013000') // '{"passwd":"***"} [IBAN]'
 */
export function scrub(text: string): string {
  return text.replace(PASSWD, (_m, k: string) => `${k}"***"`).replace(IBAN, '[IBAN]');
}
