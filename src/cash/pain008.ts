/**
 * ISO 20022 pain.008 SEPA direct debit files (creditor → its bank): pain.008.001.08 (ISO 2019, the EPC's current
 * version) and pain.008.001.02 (2009, what German banks validate with the DK schema of DFÜ-Abkommen Anlage 3).
 * Conventions (character set, identifiers, amounts, XML) are those of `pain001.ts`.
 */
import { IntegrationError } from '../domain/errors';
import { formatMinor, sumMinor } from '../domain/money';
import { mod97 } from '../gateway/providers/bank-transfer/transformers';
import {
  agent,
  checkIsoDate,
  checkSepaAmount,
  checkSepaIdentifier,
  checkUniqueEndToEndIds,
  el,
  fileSummary,
  groupBy,
  groupHeader,
  normaliseParty,
  type Remittance,
  remittanceNode,
  type SepaFileSummary,
  type SepaParty,
  writeXmlDocument,
} from './pain001';

export type Pain008Version = 'pain.008.001.08' | 'pain.008.001.02';

/**
 * `FRST` first collection of a recurring mandate, `RCUR` the ones after, `OOFF` a one-off mandate, `FNAL` the last of a
 * recurring mandate.
 */
export type SequenceType = 'FRST' | 'RCUR' | 'OOFF' | 'FNAL';
const SEQUENCE_ORDER: readonly SequenceType[] = ['FRST', 'RCUR', 'OOFF', 'FNAL'];

/** Length of a creditor identifier per country where it is fixed (EPC262-08); DE: `DE` + 2 + `ZZZ` + 11. */
const CREDITOR_ID_LENGTH: Readonly<Record<string, number>> = { DE: 18, AT: 18, NL: 19, FR: 13 };

/**
 * Checks a SEPA creditor identifier (EPC262-08): country, 2 check digits, a 3-character business code that the check
 * ignores (`ZZZ` by default), and the national identifier. The check digits are ISO 7064 MOD 97-10 over the national
 * identifier followed by the country and `00`, letters as 10..35 — the IBAN check with the business code left out.
 * Returns the identifier upper case without spaces.
 *
 * @example creditorIdentifier('DE98ZZZ09999999999') // 'DE98ZZZ09999999999' (the Bundesbank's sample id)
 * @throws IntegrationError naming `field` when the format or the check digits are wrong.
 */
export function creditorIdentifier(id: string, field = 'creditorId'): string {
  const ci = id.replace(/\s/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{3}[A-Z0-9]{1,28}$/.test(ci)) {
    throw new IntegrationError(`"${id}" is not a SEPA creditor identifier (e.g. DE98ZZZ09999999999)`, field);
  }
  const country = ci.slice(0, 2);
  const length = CREDITOR_ID_LENGTH[country];
  if (length !== undefined && ci.length !== length) {
    throw new IntegrationError(
      `"${id}" has ${ci.length} characters; a ${country} creditor identifier has ${length}`,
      field,
    );
  }
  if (mod97(`${ci.slice(7)}${country}${ci.slice(2, 4)}`) !== 1) {
    throw new IntegrationError(`"${id}": check digits ${ci.slice(2, 4)} do not match (ISO 7064 MOD 97-10)`, field);
  }
  return ci;
}

export interface DirectDebit {
  /** Ours, comes back unchanged in the debtor's statement and in returns: the collection's id. */
  endToEndId: string;
  amountMinor: number;
  /** SEPA: `EUR` only. */
  currency: string;
  sequenceType: SequenceType;
  /** `ReqdColltnDt` (YYYY-MM-DD): the due date that was pre-notified, a TARGET2 business day. */
  collectionDate: string;
  mandate: {
    /** Mandate reference (`MndtId`), unique per creditor, up to 35 characters of the SEPA set. */
    reference: string;
    /** `DtOfSgntr`. */
    signedOn: string;
  };
  debtor: SepaParty;
  remittance?: Remittance;
}

export interface DirectDebitFile {
  version: Pain008Version;
  /** Unique per file for the bank (duplicate check), 1 to 30 characters; `PmtInfId`s are `<messageId>-<n>`. */
  messageId: string;
  createdAt: Date;
  /** `InitgPty/Nm`; defaults to the creditor's name. */
  initiatingParty?: string;
  /** We: the account that receives, and our creditor identifier. */
  creditor: SepaParty & { creditorId: string };
  /** `CORE` (consumers) or `B2B`; one per file (the DK rules forbid mixing). @defaultValue 'CORE' */
  localInstrument?: 'CORE' | 'B2B';
  /** @defaultValue true */
  batchBooking?: boolean;
  collections: DirectDebit[];
}

/**
 * Writes a SEPA direct debit file: one `PmtInf` per (collection date, sequence type), dates ascending and FRST before
 * RCUR, with `NbOfTxs` and `CtrlSum` at file and block level (sums of integer minor units written as decimals), the
 * creditor scheme id at block level, mandate related information (`MndtId`, `DtOfSgntr`, `AmdmntInd` false) and the
 * remittance (an RF reference structured, otherwise `Ustrd` of at most 140 characters).
 *
 * @throws IntegrationError naming the field (`collections[1].debtor.iban`, `creditor.creditorId`, …).
 */
export function writePain008(f: DirectDebitFile): { xml: string; summary: SepaFileSummary } {
  const v08 = f.version === 'pain.008.001.08';
  checkSepaIdentifier(f.messageId, 'messageId', 30);
  if (f.collections.length === 0) throw new IntegrationError('a file needs at least one collection', 'collections');
  const creditor = normaliseParty(f.creditor, 'creditor');
  const creditorId = creditorIdentifier(f.creditor.creditorId, 'creditor.creditorId');
  const txs = f.collections.map((c, i) => {
    const field = `collections[${i}]`;
    checkSepaIdentifier(c.endToEndId, `${field}.endToEndId`);
    checkSepaAmount(c.amountMinor, c.currency, field);
    if (!SEQUENCE_ORDER.includes(c.sequenceType)) {
      throw new IntegrationError('must be FRST, RCUR, OOFF or FNAL', `${field}.sequenceType`);
    }
    return {
      ...c,
      collectionDate: checkIsoDate(c.collectionDate, `${field}.collectionDate`),
      mandate: {
        reference: checkSepaIdentifier(c.mandate.reference, `${field}.mandate.reference`),
        signedOn: checkIsoDate(c.mandate.signedOn, `${field}.mandate.signedOn`),
      },
      debtor: normaliseParty(c.debtor, `${field}.debtor`),
      rmtInf: remittanceNode(c.remittance, `${field}.remittance`),
    };
  });
  for (const [i, c] of txs.entries()) {
    if (c.mandate.signedOn > c.collectionDate) {
      throw new IntegrationError(
        'the mandate is signed after the collection date',
        `collections[${i}].mandate.signedOn`,
      );
    }
  }
  checkUniqueEndToEndIds(
    txs.map((t) => t.endToEndId),
    'collections',
  );
  const bicEl = v08 ? 'BICFI' : 'BIC';
  const blocks = [
    ...groupBy(txs, (t) => `${t.collectionDate} ${SEQUENCE_ORDER.indexOf(t.sequenceType)}`).entries(),
  ].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const summary = fileSummary(
    f.messageId,
    txs.map((t) => t.amountMinor),
  );
  const schemeId = el('CdtrSchmeId', [
    el('Id', [el('PrvtId', [el('Othr', [el('Id', creditorId), el('SchmeNm', [el('Prtry', 'SEPA')])])])]),
  ]);
  const pmtInfs = blocks.map(([, group], n) => {
    const first = group[0]!;
    const id = `${f.messageId}-${n + 1}`;
    const sum = sumMinor(group.map((t) => t.amountMinor));
    summary.paymentInformation.push({
      id,
      date: first.collectionDate,
      sequenceType: first.sequenceType,
      numberOfTransactions: group.length,
      controlSumMinor: sum,
    });
    return el('PmtInf', [
      el('PmtInfId', id),
      el('PmtMtd', 'DD'),
      el('BtchBookg', String(f.batchBooking ?? true)),
      el('NbOfTxs', String(group.length)),
      el('CtrlSum', formatMinor(sum, 'EUR')),
      el('PmtTpInf', [
        el('SvcLvl', [el('Cd', 'SEPA')]),
        el('LclInstrm', [el('Cd', f.localInstrument ?? 'CORE')]),
        el('SeqTp', first.sequenceType),
      ]),
      el('ReqdColltnDt', first.collectionDate),
      el('Cdtr', [el('Nm', creditor.name)]),
      el('CdtrAcct', [el('Id', [el('IBAN', creditor.iban)])]),
      el('CdtrAgt', [agent(creditor.bic, bicEl)]),
      el('ChrgBr', 'SLEV'),
      schemeId,
      ...group.map((t) =>
        el('DrctDbtTxInf', [
          el('PmtId', [el('EndToEndId', t.endToEndId)]),
          el('InstdAmt', formatMinor(t.amountMinor, 'EUR'), { Ccy: 'EUR' }),
          el('DrctDbtTx', [
            el('MndtRltdInf', [
              el('MndtId', t.mandate.reference),
              el('DtOfSgntr', t.mandate.signedOn),
              el('AmdmntInd', 'false'),
            ]),
          ]),
          el('DbtrAgt', [agent(t.debtor.bic, bicEl)]),
          el('Dbtr', [el('Nm', t.debtor.name)]),
          el('DbtrAcct', [el('Id', [el('IBAN', t.debtor.iban)])]),
          t.rmtInf,
        ]),
      ),
    ]);
  });
  const xml = writeXmlDocument(
    f.version,
    el('CstmrDrctDbtInitn', [groupHeader(f, summary, creditor.name), ...pmtInfs]),
  );
  return { xml, summary };
}
