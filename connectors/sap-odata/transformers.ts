/**
 * Wire types of the sap-odata connector and pure functions between them and ours: OData V2 query options, item and
 * business-partner rows → flat records for the mapping, checkpoints, the dunning PATCH body, log scrubbing. No I/O.
 */

import { isCalendarDate } from '../../src/domain/dates';
import { IntegrationError } from '../../src/domain/errors';
import type { WriteBackCommand } from '../../src/domain/write-back';

export const ITEM_SET = 'A_OperationalAcctgDocItemCube';
export const PARTNER_SET = 'A_BusinessPartner';
export const DUNNING_SET = 'A_CustomerDunning';

/** Key of A_OperationalAcctgDocItemCube, in sourceKey order. */
export const ITEM_KEY = ['CompanyCode', 'FiscalYear', 'AccountingDocument', 'AccountingDocumentItem'] as const;

/** Item properties read for open items: what mappings/sap-fi-ar-odata.v1.yaml uses, plus the change dates. */
export const ITEM_FIELDS = [
  ...ITEM_KEY,
  'FinancialAccountType',
  'Customer',
  'CustomerName',
  'AccountingDocumentType',
  'DocumentReferenceID',
  'DocumentDate',
  'PostingDate',
  'NetDueDate',
  'TransactionCurrency',
  'AmountInTransactionCurrency',
  'DebitCreditCode',
  'DunningLevel',
  'DunningBlockingReason',
  'DunningArea',
  'LastDunningDate',
  'IsCleared',
  'AccountingDocumentCreationDate',
  'LastChangeDate',
] as const;

/** Item properties read for cleared items. */
export const CLEARED_FIELDS = [
  ...ITEM_KEY,
  'Customer',
  'ClearingAccountingDocument',
  'ClearingDocFiscalYear',
  'ClearingDate',
  'ClearingCreationDate',
] as const;

/** Business-partner properties joined to items (the navigation paths are flattened, see {@link partnerFields}). */
export const PARTNER_SELECT = [
  'BusinessPartner',
  'BusinessPartnerCategory',
  'BusinessPartnerFullName',
  'CorrespondenceLanguage',
  'to_BusinessPartnerAddress/StreetName',
  'to_BusinessPartnerAddress/HouseNumber',
  'to_BusinessPartnerAddress/PostalCode',
  'to_BusinessPartnerAddress/CityName',
  'to_BusinessPartnerAddress/Country',
  'to_BusinessPartnerAddress/to_EmailAddress/EmailAddress',
  'to_BusinessPartnerAddress/to_EmailAddress/IsDefaultEmailAddress',
  'to_BusinessPartnerAddress/to_PhoneNumber/InternationalPhoneNumber',
  'to_BusinessPartnerAddress/to_PhoneNumber/IsDefaultPhoneNumber',
] as const;
export const PARTNER_EXPAND = ['to_BusinessPartnerAddress/to_EmailAddress', 'to_BusinessPartnerAddress/to_PhoneNumber'];

/** Fields a record gets from the business partner; empty when SAP has no partner for the customer. */
export const PARTNER_RECORD_FIELDS = [
  'BusinessPartnerCategory',
  'BusinessPartnerFullName',
  'CorrespondenceLanguage',
  'StreetName',
  'HouseNumber',
  'PostalCode',
  'CityName',
  'Country',
  'EmailAddress',
  'InternationalPhoneNumber',
] as const;

/** A V2 JSON collection response `{ d: { results, __count?, __next? } }`. */
export interface V2Collection<T> {
  d: { results: T[]; __count?: string | number; __next?: string };
}

/** One row of A_OperationalAcctgDocItemCube as V2 JSON sends it (strings, booleans, `/Date(ms)/`, null). */
export type ItemRow = Record<string, string | number | boolean | null | object | undefined>;

interface Results<T> {
  results?: T[];
}
export interface PartnerRow {
  BusinessPartner: string;
  BusinessPartnerCategory?: string | null;
  BusinessPartnerFullName?: string | null;
  CorrespondenceLanguage?: string | null;
  to_BusinessPartnerAddress?: Results<{
    StreetName?: string | null;
    HouseNumber?: string | null;
    PostalCode?: string | null;
    CityName?: string | null;
    Country?: string | null;
    to_EmailAddress?: Results<{ EmailAddress?: string | null; IsDefaultEmailAddress?: boolean | null }>;
    to_PhoneNumber?: Results<{ InternationalPhoneNumber?: string | null; IsDefaultPhoneNumber?: boolean | null }>;
  }>;
}

/** An OData V2 string literal: `'O''Brien'`. */
export function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** An OData V2 DateTime literal for a day: `datetime'2024-04-15T00:00:00'`. */
export function dateLiteral(isoDay: string): string {
  if (!isCalendarDate(isoDay)) throw new IntegrationError(`${isoDay} is not a date`, 'checkpoint');
  return `datetime'${isoDay}T00:00:00'`;
}

/** `/Date(ms)/` (optionally with `+hhmm`) → `YYYY-MM-DD` (UTC day), or undefined for null, empty and `/Date(0)/`. */
export function v2DateToDay(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(v);
  if (!m) return undefined;
  const ms = Number(m[1]);
  if (!Number.isSafeInteger(ms) || ms <= 0) return undefined;
  return new Date(ms).toISOString().slice(0, 10);
}

/** `YYYY-MM-DD` → `/Date(ms)/` at UTC midnight, as Gateway wants Edm.DateTime in JSON. */
export function dayToV2Date(isoDay: string): string {
  if (!isCalendarDate(isoDay)) throw new IntegrationError(`${isoDay} is not a date (expected YYYY-MM-DD)`, 'dunnedOn');
  return `/Date(${Date.parse(`${isoDay}T00:00:00Z`)})/`;
}

/** Query options of one request, in the order we send them. */
export interface QueryOptions {
  filter: string;
  select: readonly string[];
  orderby?: readonly string[];
  expand?: readonly string[];
  top?: number;
  skip?: number;
  inlinecount?: boolean;
}

/** `$filter=…&$select=…` with OData-safe encoding (spaces as %20, quotes kept readable). */
export function queryString(q: QueryOptions, sapClient?: string): string {
  const parts: string[] = [];
  const enc = (s: string) => encodeURIComponent(s).replace(/%2C/g, ',').replace(/%2F/g, '/').replace(/'/g, '%27');
  parts.push(`$filter=${enc(q.filter)}`);
  parts.push(`$select=${enc(q.select.join(','))}`);
  if (q.expand?.length) parts.push(`$expand=${enc(q.expand.join(','))}`);
  if (q.orderby?.length) parts.push(`$orderby=${enc(q.orderby.join(','))}`);
  if (q.top !== undefined) parts.push(`$top=${q.top}`);
  if (q.skip !== undefined) parts.push(`$skip=${q.skip}`);
  if (q.inlinecount) parts.push('$inlinecount=allpages');
  parts.push('$format=json');
  if (sapClient) parts.push(`sap-client=${sapClient}`);
  return parts.join('&');
}

/** The base filter of open customer items of one company code, optionally changed on or after `since`. */
export function openItemsFilter(companyCode: string, since?: string): string {
  const base = `CompanyCode eq ${literal(companyCode)} and FinancialAccountType eq 'D' and IsCleared eq false`;
  if (!since) return base;
  // A never-changed document has no LastChangeDate: its entry date makes it new.
  const d = dateLiteral(since);
  return `${base} and (LastChangeDate ge ${d} or AccountingDocumentCreationDate ge ${d})`;
}

/** Customer items of one company code cleared on or after `since` (by the clearing's entry date, never back-dated). */
export function clearedItemsFilter(companyCode: string, since?: string): string {
  const base = `CompanyCode eq ${literal(companyCode)} and FinancialAccountType eq 'D' and IsCleared eq true`;
  return since ? `${base} and ClearingCreationDate ge ${dateLiteral(since)}` : base;
}

/**
 * Keyset condition "key after `after`" over FiscalYear, AccountingDocument, AccountingDocumentItem (the company
 * code is fixed by the base filter). Used to resume a pull after its last stored record: positions by key do not
 * shift when rows before them are cleared, `$skip` positions would.
 */
export function afterKeyFilter(after: readonly [string, string, string]): string {
  const [fy, doc, item] = after.map(literal) as [string, string, string];
  return `(FiscalYear gt ${fy} or (FiscalYear eq ${fy} and (AccountingDocument gt ${doc} or (AccountingDocument eq ${doc} and AccountingDocumentItem gt ${item}))))`;
}

/** V2 JSON value → the text a mapping reads: strings as is, booleans `true`/`false`, numbers as decimals, null empty. */
export function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  return '';
}

/** The flat customer fields a record gets from its business partner. */
export type PartnerFields = Record<(typeof PARTNER_RECORD_FIELDS)[number], string>;

/** The flat customer fields of a business partner: the default (else first) address, e-mail and phone. */
export function partnerFields(p: PartnerRow | undefined): PartnerFields {
  const addr = p?.to_BusinessPartnerAddress?.results?.[0];
  const emails = addr?.to_EmailAddress?.results ?? [];
  const phones = addr?.to_PhoneNumber?.results ?? [];
  const email = emails.find((e) => e.IsDefaultEmailAddress) ?? emails[0];
  const phone = phones.find((e) => e.IsDefaultPhoneNumber) ?? phones[0];
  return {
    BusinessPartnerCategory: text(p?.BusinessPartnerCategory),
    BusinessPartnerFullName: text(p?.BusinessPartnerFullName),
    CorrespondenceLanguage: text(p?.CorrespondenceLanguage),
    StreetName: text(addr?.StreetName),
    HouseNumber: text(addr?.HouseNumber),
    PostalCode: text(addr?.PostalCode),
    CityName: text(addr?.CityName),
    Country: text(addr?.Country),
    EmailAddress: text(email?.EmailAddress),
    InternationalPhoneNumber: text(phone?.InternationalPhoneNumber),
  };
}

/** An item row joined with its customer → the record the mapping sees (item fields, then customer fields). */
export function fromWire(row: ItemRow, partner: PartnerRow | undefined): Record<string, string> {
  return recordOf(row, partnerFields(partner));
}

/**
 * {@link fromWire} with the customer already flattened (once per customer, not per item). One object literal in a
 * fixed shape: a pull builds one per item, so this is on the hot path.
 */
export function recordOf(row: ItemRow, p: PartnerFields): Record<string, string> {
  return {
    CompanyCode: text(row.CompanyCode),
    FiscalYear: text(row.FiscalYear),
    AccountingDocument: text(row.AccountingDocument),
    AccountingDocumentItem: text(row.AccountingDocumentItem),
    FinancialAccountType: text(row.FinancialAccountType),
    Customer: text(row.Customer),
    CustomerName: text(row.CustomerName),
    AccountingDocumentType: text(row.AccountingDocumentType),
    DocumentReferenceID: text(row.DocumentReferenceID),
    DocumentDate: text(row.DocumentDate),
    PostingDate: text(row.PostingDate),
    NetDueDate: text(row.NetDueDate),
    TransactionCurrency: text(row.TransactionCurrency),
    AmountInTransactionCurrency: text(row.AmountInTransactionCurrency),
    DebitCreditCode: text(row.DebitCreditCode),
    DunningLevel: text(row.DunningLevel),
    DunningBlockingReason: text(row.DunningBlockingReason),
    DunningArea: text(row.DunningArea),
    LastDunningDate: text(row.LastDunningDate),
    IsCleared: text(row.IsCleared),
    AccountingDocumentCreationDate: text(row.AccountingDocumentCreationDate),
    LastChangeDate: text(row.LastChangeDate),
    BusinessPartnerCategory: p.BusinessPartnerCategory,
    BusinessPartnerFullName: p.BusinessPartnerFullName,
    CorrespondenceLanguage: p.CorrespondenceLanguage,
    StreetName: p.StreetName,
    HouseNumber: p.HouseNumber,
    PostalCode: p.PostalCode,
    CityName: p.CityName,
    Country: p.Country,
    EmailAddress: p.EmailAddress,
    InternationalPhoneNumber: p.InternationalPhoneNumber,
  } satisfies Record<(typeof ITEM_FIELDS)[number], string> & PartnerFields;
}

/** `CompanyCode|FiscalYear|AccountingDocument|AccountingDocumentItem`, the sourceKey of the mapping. */
export function itemKey(row: ItemRow): string {
  return ITEM_KEY.map((k) => text(row[k])).join('|');
}

/** A customer item SAP has cleared: what sync needs to close it. */
export interface ClearedItem {
  /** Same as the open item's sourceKey. */
  sourceKey: string;
  customer: string;
  clearingDocument: string;
  clearingFiscalYear: string;
  /** Posting date of the clearing (YYYY-MM-DD). */
  clearingDate?: string;
  /** Entry date of the clearing (YYYY-MM-DD); what the checkpoint follows. */
  clearedOn?: string;
}

export function clearedFromWire(row: ItemRow): ClearedItem {
  const item: ClearedItem = {
    sourceKey: itemKey(row),
    customer: text(row.Customer),
    clearingDocument: text(row.ClearingAccountingDocument),
    clearingFiscalYear: text(row.ClearingDocFiscalYear),
  };
  const cd = v2DateToDay(row.ClearingDate);
  const co = v2DateToDay(row.ClearingCreationDate);
  if (cd) item.clearingDate = cd;
  if (co) item.clearedOn = co;
  return item;
}

/**
 * What the connector remembers between pulls (open items and cleared items keep separate checkpoints).
 *
 * - `hw`: the high-water day of the last complete pull: the latest LastChangeDate / entry date seen. The next pull
 *   reads items changed on or after it (`ge`: the same day again, since dates have no time).
 * - `run`: set while a pull is under way: its lower bound (`from`, none = full read), the high water so far, the
 *   company code being read (index into the configured list, with its code to detect a changed list) and the key of
 *   the last record handed over. Resuming reads that company code after that key, so nothing is read twice and
 *   nothing is skipped even if rows before it were cleared in between.
 */
export interface OdataCheckpoint {
  v: 1;
  kind: 'open' | 'cleared';
  hw?: string;
  run?: { from?: string; hw?: string; cc: number; code: string; after?: [string, string, string] };
}

export function encodeCheckpoint(cp: OdataCheckpoint): string {
  return JSON.stringify(cp);
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Reads a checkpoint of `kind`; anything else (another connector's, a hand edit) gives undefined = full read. */
export function decodeCheckpoint(s: string | undefined, kind: OdataCheckpoint['kind']): OdataCheckpoint | undefined {
  if (!s) return undefined;
  try {
    const v = JSON.parse(s) as Partial<OdataCheckpoint> | null;
    if (v?.v !== 1 || v.kind !== kind) return undefined;
    const out: OdataCheckpoint = { v: 1, kind };
    if (typeof v.hw === 'string' && DAY.test(v.hw)) out.hw = v.hw;
    const r = v.run;
    if (r && Number.isSafeInteger(r.cc) && r.cc >= 0 && typeof r.code === 'string') {
      out.run = { cc: r.cc, code: r.code };
      if (typeof r.from === 'string' && DAY.test(r.from)) out.run.from = r.from;
      if (typeof r.hw === 'string' && DAY.test(r.hw)) out.run.hw = r.hw;
      if (Array.isArray(r.after) && r.after.length === 3 && r.after.every((x) => typeof x === 'string')) {
        out.run.after = [r.after[0]!, r.after[1]!, r.after[2]!];
      }
    }
    return out;
  } catch {
    return undefined;
  }
}

/** The later of two days (either may be missing). */
export function maxDay(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return a > b ? a : b;
}

/** Key of A_CustomerDunning addressed by a dunning_level command. */
export interface DunningKey {
  Customer: string;
  CompanyCode: string;
  DunningArea: string;
}

/** The PATCH body for A_CustomerDunning. */
export interface DunningPatch {
  DunningLevel: string;
  LastDunnedOn: string;
  DunningBlock?: string;
}

/**
 * A dunning_level command → the entity key and PATCH body. The company code is the first part of the item's
 * sourceKey, the customer its externalId; the dunning area comes from the config. `dunningBlock` (one character or
 * blank) is written only when the command carries it.
 */
export function toWire(
  command: Extract<WriteBackCommand, { kind: 'dunning_level' }>,
  dunningArea: string,
  dunningBlock?: string,
): { key: DunningKey; body: DunningPatch } {
  if (!Number.isSafeInteger(command.level) || command.level < 0 || command.level > 9) {
    throw new IntegrationError(`${command.level} is not a dunning level SAP can hold (0–9)`, 'level');
  }
  const companyCode = command.sourceKey.split('|')[0] ?? '';
  if (!/^[A-Z0-9]{1,4}$/.test(companyCode)) {
    throw new IntegrationError(
      `${command.sourceKey} does not start with a company code (expected CompanyCode|FiscalYear|Document|Item)`,
      'sourceKey',
    );
  }
  if (!command.externalId || command.externalId.length > 10) {
    throw new IntegrationError(`${command.externalId} is not an SAP customer number`, 'externalId');
  }
  const body: DunningPatch = { DunningLevel: String(command.level), LastDunnedOn: dayToV2Date(command.dunnedOn) };
  if (dunningBlock !== undefined) {
    if (dunningBlock.length > 1) throw new IntegrationError(`${dunningBlock} is not a dunning block`, 'dunningBlock');
    body.DunningBlock = dunningBlock;
  }
  return { key: { Customer: command.externalId, CompanyCode: companyCode, DunningArea: dunningArea }, body };
}

/** `A_CustomerDunning(Customer='…',CompanyCode='…',DunningArea='…')`. */
export function dunningPath(k: DunningKey): string {
  return `${DUNNING_SET}(Customer=${encodeURIComponent(literal(k.Customer))},CompanyCode=${encodeURIComponent(literal(k.CompanyCode))},DunningArea=${encodeURIComponent(literal(k.DunningArea))})`;
}

/**
 * Whether SAP already holds what the PATCH would write, or more: the same last-dunned date at this level or a higher
 * one (the write is then a duplicate). A_CustomerDunning is the customer's highest level, but a notice sends one
 * command per item, in whatever order the queue delivers them: of one notice's items, the highest level must stay.
 * A later notice's date replaces both, lower or not.
 */
export function dunningUpToDate(current: Record<string, unknown>, body: DunningPatch): boolean {
  if (v2DateToDay(current.LastDunnedOn) !== v2DateToDay(body.LastDunnedOn)) return false;
  if (!(Number(text(current.DunningLevel)) >= Number(body.DunningLevel))) return false;
  return body.DunningBlock === undefined || text(current.DunningBlock) === body.DunningBlock;
}

const SECRET_HEADER =
  /\b(authorization|proxy-authorization|x-csrf-token|cookie|set-cookie)(["']?\s*[:=]\s*["']?)[^"'\r\n,}]+/gi;
const SECRET_FIELD =
  /\b(password|passwd|client_secret|clientSecret|access_token|refresh_token|secret)(["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi;
const BASIC_OR_BEARER = /\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/g;
const URL_CREDENTIALS = /(\/\/)[^/@\s:]+:[^/@\s]+@/g;
const EMAIL = /\b[^\s@,;"']+@[^\s@,;"']+\.[A-Za-z]{2,}\b/g;

/**
 * Masks what must not reach a log from OData traffic: Authorization / cookie / CSRF headers, Basic and Bearer
 * credentials, passwords, client secrets and tokens in bodies or query strings, user:password in URLs, e-mail
 * addresses.
 * @example scrub('Authorization: Basic dXNlcjpwYXNz') // 'Authorization: [REDACTED]'
 */
export function scrub(s: string): string {
  return s
    .replace(SECRET_HEADER, '$1$2[REDACTED]')
    .replace(SECRET_FIELD, '$1$2[REDACTED]')
    .replace(BASIC_OR_BEARER, '$1 [REDACTED]')
    .replace(URL_CREDENTIALS, '$1[REDACTED]@')
    .replace(EMAIL, '[EMAIL]');
}
