/**
 * ISO 20022 pain.001 SEPA credit transfer files (customer → bank): pain.001.001.09 (ISO 2019, the EPC's current
 * version) and pain.001.001.03 (2009, what German banks validate with the DK schema of DFÜ-Abkommen Anlage 3). We write
 * them for payouts: refunds of SEPA direct debits, of bank transfers and of over-payments.
 *
 * The first half of this file holds the SEPA file primitives that `pain008.ts` shares: the SEPA character set and its
 * transliteration, identifiers, amounts, the group header and a small XML writer.
 */
import { electronicFormatIBAN, isSEPACountry, isValidBIC, isValidIBAN } from 'ibantools';
import { checkCalendarDate } from '../domain/dates';
import { IntegrationError } from '../domain/errors';
import { formatMinor, sumMinor } from '../domain/money';
import { isCreditorReference } from '../gateway/providers/bank-transfer/transformers';

// ---------------------------------------------------------------------------------------------------------------------
// SEPA file primitives (shared with pain008.ts)
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The SEPA basic Latin character set (EPC rulebooks; DK Anlage 3 chapter 2.1): letters, digits and `/ - ? : ( ) . , ' +`
 * and space. Banks may reject a file with anything else in it.
 */
const SEPA_CHAR = /^[A-Za-z0-9/\-?:().,'+ ]$/;

/** Replacements before the generic accent stripping: the German DK rules (Anlage 3, 2.1) and the EPC conversion table. */
const TRANSLITERATION: Readonly<Record<string, string>> = {
  ä: 'ae',
  ö: 'oe',
  ü: 'ue',
  ß: 'ss',
  ẞ: 'SS',
  '&': '+',
  Æ: 'AE',
  æ: 'ae',
  Œ: 'OE',
  œ: 'oe',
  Ø: 'O',
  ø: 'o',
  Ł: 'L',
  ł: 'l',
  Đ: 'D',
  đ: 'd',
  Þ: 'TH',
  þ: 'th',
  ı: 'i',
  '\u2018': "'",
  '\u2019': "'",
  '\u201a': "'",
  '`': "'",
  '´': "'",
  '\u2013': '-',
  '\u2014': '-',
  _: '-',
  '\t': ' ',
  '\r': ' ',
  '\n': ' ',
  '\u00a0': ' ',
};
const CAPITAL_UMLAUT: Readonly<Record<string, string>> = { Ä: 'A', Ö: 'O', Ü: 'U' };
const isUpper = (ch: string | undefined) => ch !== undefined && /[A-ZÄÖÜ]/.test(ch);

/**
 * Turns any text into the SEPA character set: umlauts become `ae oe ue` (capitals `Ae`, or `AE` inside a word in capitals,
 * `MÜLLER` → `MUELLER`), `ß` → `ss`, `&` → `+`, other accented letters lose their accent (`é` → `e`, `ł` → `l`), line
 * breaks and tabs become spaces, and whatever is left outside the set becomes `.` as the EPC conversion table says.
 * Runs of spaces collapse and the ends are trimmed.
 *
 * @example toSepaCharset('Müller & Söhne GmbH') // 'Mueller + Soehne GmbH'
 */
export function toSepaCharset(text: string): string {
  const chars = [...text.normalize('NFC')];
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (SEPA_CHAR.test(ch)) {
      out += ch;
      continue;
    }
    const base = CAPITAL_UMLAUT[ch];
    if (base) {
      out +=
        base + (isUpper(chars[i + 1]) || (isUpper(chars[i - 1]) && !/[a-zäöüß]/.test(chars[i + 1] ?? '')) ? 'E' : 'e');
      continue;
    }
    const mapped = TRANSLITERATION[ch];
    if (mapped !== undefined) {
      out += mapped;
      continue;
    }
    const stripped = ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    out += [...stripped].every((c) => SEPA_CHAR.test(c)) && stripped.length > 0 ? stripped : '.';
  }
  return out.replace(/ {2,}/g, ' ').trim();
}

/** A text field (name, remittance): transliterated, then cut to `max` characters; empty is an error naming `field`. */
export function sepaText(text: string, max: number, field: string): string {
  const t = toSepaCharset(text).slice(0, max).trimEnd();
  if (t.length === 0) throw new IntegrationError('must contain letters or digits', field);
  return t;
}

/**
 * An identifier (MsgId, PmtInfId, EndToEndId, mandate reference): 1 to 35 characters of the SEPA set, not starting or
 * ending with `/` and without `//` (EPC implementation guidelines). Never transliterated: an identifier that changed
 * on the way would no longer find its payment.
 */
export function checkSepaIdentifier(id: string, field: string, max = 35): string {
  if (id.length === 0 || id.length > max) throw new IntegrationError(`must be 1 to ${max} characters`, field);
  if (![...id].every((c) => SEPA_CHAR.test(c))) {
    throw new IntegrationError("may contain only A-Z a-z 0-9 / - ? : ( ) . , ' + and space", field);
  }
  if (id.startsWith('/') || id.endsWith('/') || id.includes('//')) {
    throw new IntegrationError('must not start or end with "/" or contain "//"', field);
  }
  return id;
}

/** IBAN in electronic form, valid (country format and check digits, via ibantools) and of a SEPA country. */
export function sepaIban(iban: string, field: string): string {
  const e = electronicFormatIBAN(iban) ?? '';
  // The error does not echo the IBAN: it is personal data and errors end up in logs.
  if (!isValidIBAN(e)) throw new IntegrationError('is not a valid IBAN (length or check digits wrong)', field);
  if (!isSEPACountry(e.slice(0, 2))) {
    throw new IntegrationError(`IBANs of ${e.slice(0, 2)} cannot take part in SEPA payments`, field);
  }
  return e;
}

/** BIC, upper case without spaces, 8 or 11 characters (ISO 9362). */
export function sepaBic(bic: string, field: string): string {
  const b = bic.replace(/\s/g, '').toUpperCase();
  if (!isValidBIC(b)) throw new IntegrationError(`"${bic}" is not a BIC (8 or 11 letters and digits)`, field);
  return b;
}

/** Largest amount a SEPA scheme transaction can carry: 999,999,999.99 EUR. */
export const SEPA_MAX_AMOUNT_MINOR = 99_999_999_999;

export function checkSepaAmount(amountMinor: number, currency: string, field: string): void {
  if (currency !== 'EUR') throw new IntegrationError(`SEPA payments are in EUR, not ${currency}`, `${field}.currency`);
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 1 || amountMinor > SEPA_MAX_AMOUNT_MINOR) {
    throw new IntegrationError('must be 0.01 to 999999999.99 EUR in minor units', `${field}.amountMinor`);
  }
}

export const checkIsoDate = checkCalendarDate;

/** Remittance information: an ISO 11649 creditor reference (structured, `SCOR`) or up to 140 characters of text. */
export type Remittance = { reference: string } | { text: string };

/** An account of a party to a SEPA payment. The BIC is optional within the EEA (IBAN-only). */
export interface SepaParty {
  /** Up to 70 characters; transliterated into the SEPA character set. */
  name: string;
  iban: string;
  bic?: string;
}

/** What a written file adds up to: the numbers a bank's upload screen shows before you sign the file. */
export interface SepaFileSummary {
  messageId: string;
  numberOfTransactions: number;
  controlSumMinor: number;
  /** `CtrlSum` as written, e.g. `1234.56`. */
  controlSum: string;
  paymentInformation: {
    id: string;
    /** `ReqdExctnDt` / `ReqdColltnDt`. */
    date: string;
    sequenceType?: string;
    numberOfTransactions: number;
    controlSumMinor: number;
  }[];
}

/** A node of the XML tree; `undefined` children are left out, which keeps optional elements readable. */
export interface XmlNode {
  name: string;
  attrs?: Record<string, string>;
  text?: string;
  children?: (XmlNode | undefined)[];
}

/** `el('Nm', 'Name')` or `el('Cdtr', [el('Nm', 'Name')])`. */
export function el(name: string, content?: string | (XmlNode | undefined)[], attrs?: Record<string, string>): XmlNode {
  return typeof content === 'string' ? { name, text: content, attrs } : { name, children: content ?? [], attrs };
}

function escapeXml(s: string, attribute: boolean): string {
  const out = s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return attribute ? out.replace(/"/g, '&quot;').replace(/'/g, '&apos;') : out;
}

function render(node: XmlNode, depth: number, lines: string[]): void {
  const pad = '  '.repeat(depth);
  const attrs = Object.entries(node.attrs ?? {})
    .map(([k, v]) => ` ${k}="${escapeXml(v, true)}"`)
    .join('');
  if (node.text !== undefined) {
    lines.push(`${pad}<${node.name}${attrs}>${escapeXml(node.text, false)}</${node.name}>`);
    return;
  }
  const children = (node.children ?? []).filter((c): c is XmlNode => c !== undefined);
  if (children.length === 0) {
    lines.push(`${pad}<${node.name}${attrs}/>`);
    return;
  }
  lines.push(`${pad}<${node.name}${attrs}>`);
  for (const c of children) render(c, depth + 1, lines);
  lines.push(`${pad}</${node.name}>`);
}

/** Serialises a `Document` in the namespace of `message` (e.g. `pain.001.001.09`), UTF-8, two-space indents. */
export function writeXmlDocument(message: string, body: XmlNode): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  render(
    el('Document', [body], {
      xmlns: `urn:iso:std:iso:20022:tech:xsd:${message}`,
      'xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
    }),
    0,
    lines,
  );
  return `${lines.join('\n')}\n`;
}

/** `CreDtTm`: UTC, to the second. */
export function isoDateTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** What a file adds up to before its blocks are written; each `PmtInf` adds itself to `paymentInformation`. */
export function fileSummary(messageId: string, amountsMinor: readonly number[]): SepaFileSummary {
  const controlSumMinor = sumMinor(amountsMinor);
  return {
    messageId,
    numberOfTransactions: amountsMinor.length,
    controlSumMinor,
    controlSum: formatMinor(controlSumMinor, 'EUR'),
    paymentInformation: [],
  };
}

/** `GrpHdr` of a pain.001 or pain.008 file; `InitgPty/Nm` falls back to `ownName`, the holder of our account. */
export function groupHeader(
  f: { messageId: string; createdAt: Date; initiatingParty?: string },
  summary: SepaFileSummary,
  ownName: string,
): XmlNode {
  return el('GrpHdr', [
    el('MsgId', f.messageId),
    el('CreDtTm', isoDateTime(f.createdAt)),
    el('NbOfTxs', String(summary.numberOfTransactions)),
    el('CtrlSum', summary.controlSum),
    el('InitgPty', [el('Nm', f.initiatingParty ? sepaText(f.initiatingParty, 70, 'initiatingParty') : ownName)]),
  ]);
}

/**
 * Financial institution: `BIC` (2009 messages) or `BICFI` (2019 messages); without a BIC, `Othr/Id NOTPROVIDED`, as
 * both the EPC guidelines and the DK schema ask for IBAN-only payments.
 */
export function agent(bic: string | undefined, bicElement: 'BIC' | 'BICFI'): XmlNode {
  return el('FinInstnId', [bic ? el(bicElement, bic) : el('Othr', [el('Id', 'NOTPROVIDED')])]);
}

/** `RmtInf`: `Strd/CdtrRefInf` with type `SCOR` for an RF reference, `Ustrd` for text. */
export function remittanceNode(r: Remittance | undefined, field: string): XmlNode | undefined {
  if (!r) return undefined;
  if ('reference' in r) {
    const ref = r.reference.replace(/\s/g, '').toUpperCase();
    if (!isCreditorReference(ref))
      throw new IntegrationError('is not an ISO 11649 (RF) reference', `${field}.reference`);
    return el('RmtInf', [
      el('Strd', [el('CdtrRefInf', [el('Tp', [el('CdOrPrtry', [el('Cd', 'SCOR')])]), el('Ref', ref)])]),
    ]);
  }
  return el('RmtInf', [el('Ustrd', sepaText(r.text, 140, `${field}.text`))]);
}

export interface NormalisedParty {
  name: string;
  iban: string;
  bic?: string;
}

export function normaliseParty(p: SepaParty, field: string): NormalisedParty {
  return {
    name: sepaText(p.name, 70, `${field}.name`),
    iban: sepaIban(p.iban, `${field}.iban`),
    ...(p.bic ? { bic: sepaBic(p.bic, `${field}.bic`) } : {}),
  };
}

/** Groups in first-seen order by a key; the order of a file follows its input. */
export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const g = groups.get(k);
    if (g) g.push(t);
    else groups.set(k, [t]);
  }
  return groups;
}

/** Refuses a second transaction with the same EndToEndId in a file: that is how one pays twice. */
export function checkUniqueEndToEndIds(ids: readonly string[], field: string): void {
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (seen.has(id))
      throw new IntegrationError(`EndToEndId "${id}" appears twice in the file`, `${field}[${i}].endToEndId`);
    seen.add(id);
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// pain.001: credit transfers
// ---------------------------------------------------------------------------------------------------------------------

export type Pain001Version = 'pain.001.001.09' | 'pain.001.001.03';

export interface CreditTransfer {
  /** Ours, travels to the payee's statement unchanged: the refund or payout id. */
  endToEndId: string;
  amountMinor: number;
  /** SEPA: `EUR` only. */
  currency: string;
  /** The payee. */
  creditor: SepaParty;
  remittance?: Remittance;
  /** `ReqdExctnDt` when it differs from the file's. */
  executionDate?: string;
}

export interface CreditTransferFile {
  version: Pain001Version;
  /** Unique per file for the bank (duplicate check), 1 to 30 characters; `PmtInfId`s are `<messageId>-<n>`. */
  messageId: string;
  createdAt: Date;
  /** `InitgPty/Nm`; defaults to the debtor's name. */
  initiatingParty?: string;
  /** Our account, which pays. */
  debtor: SepaParty;
  /** Requested execution date (YYYY-MM-DD), a TARGET2 business day. */
  executionDate: string;
  /** Book the transfers of a payment-information block as one debit. @defaultValue true */
  batchBooking?: boolean;
  transfers: CreditTransfer[];
}

/**
 * Writes a SEPA credit transfer file: one `PmtInf` per execution date, `NbOfTxs` and `CtrlSum` at file and block
 * level (sums of integer minor units, written as decimals), charge bearer `SLEV`, service level `SEPA`.
 *
 * @throws IntegrationError naming the field (`transfers[2].creditor.iban`) for an invalid IBAN or BIC, a non-EUR or
 *   out-of-range amount, a bad identifier or RF reference, a duplicate EndToEndId or an empty file.
 */
export function writePain001(f: CreditTransferFile): { xml: string; summary: SepaFileSummary } {
  const v09 = f.version === 'pain.001.001.09';
  checkSepaIdentifier(f.messageId, 'messageId', 30);
  if (f.transfers.length === 0) throw new IntegrationError('a file needs at least one transfer', 'transfers');
  checkIsoDate(f.executionDate, 'executionDate');
  const debtor = normaliseParty(f.debtor, 'debtor');
  const txs = f.transfers.map((t, i) => {
    const field = `transfers[${i}]`;
    checkSepaIdentifier(t.endToEndId, `${field}.endToEndId`);
    checkSepaAmount(t.amountMinor, t.currency, field);
    return {
      ...t,
      executionDate: checkIsoDate(t.executionDate ?? f.executionDate, `${field}.executionDate`),
      creditor: normaliseParty(t.creditor, `${field}.creditor`),
      rmtInf: remittanceNode(t.remittance, `${field}.remittance`),
    };
  });
  checkUniqueEndToEndIds(
    txs.map((t) => t.endToEndId),
    'transfers',
  );
  const bicEl = v09 ? 'BICFI' : 'BIC';
  const blocks = [...groupBy(txs, (t) => t.executionDate).entries()];
  const summary = fileSummary(
    f.messageId,
    txs.map((t) => t.amountMinor),
  );
  const pmtInfs = blocks.map(([date, group], n) => {
    const id = `${f.messageId}-${n + 1}`;
    const sum = sumMinor(group.map((t) => t.amountMinor));
    summary.paymentInformation.push({ id, date, numberOfTransactions: group.length, controlSumMinor: sum });
    return el('PmtInf', [
      el('PmtInfId', id),
      el('PmtMtd', 'TRF'),
      el('BtchBookg', String(f.batchBooking ?? true)),
      el('NbOfTxs', String(group.length)),
      el('CtrlSum', formatMinor(sum, 'EUR')),
      el('PmtTpInf', [el('SvcLvl', [el('Cd', 'SEPA')])]),
      v09 ? el('ReqdExctnDt', [el('Dt', date)]) : el('ReqdExctnDt', date),
      el('Dbtr', [el('Nm', debtor.name)]),
      el('DbtrAcct', [el('Id', [el('IBAN', debtor.iban)])]),
      el('DbtrAgt', [agent(debtor.bic, bicEl)]),
      el('ChrgBr', 'SLEV'),
      ...group.map((t) =>
        el('CdtTrfTxInf', [
          el('PmtId', [el('EndToEndId', t.endToEndId)]),
          el('Amt', [el('InstdAmt', formatMinor(t.amountMinor, 'EUR'), { Ccy: 'EUR' })]),
          t.creditor.bic ? el('CdtrAgt', [el('FinInstnId', [el(bicEl, t.creditor.bic)])]) : undefined,
          el('Cdtr', [el('Nm', t.creditor.name)]),
          el('CdtrAcct', [el('Id', [el('IBAN', t.creditor.iban)])]),
          t.rmtInf,
        ]),
      ),
    ]);
  });
  const xml = writeXmlDocument(f.version, el('CstmrCdtTrfInitn', [groupHeader(f, summary, debtor.name), ...pmtInfs]));
  return { xml, summary };
}
