/**
 * Writes statements of the common model as a camt.053.001.02 document — what a bank sends — for the demo, the bank
 * simulator in tests and benchmarks. `parseCamt` reads back what it writes (the fields the model has).
 */
import { formatMinor } from '../domain/money';
import type { Statement, StatementEntry } from './statement';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function amt(minor: number, currency: string): string {
  return `<Amt Ccy="${currency}">${formatMinor(Math.abs(minor), currency)}</Amt><CdtDbtInd>${minor < 0 ? 'DBIT' : 'CRDT'}</CdtDbtInd>`;
}

function balance(code: 'OPBD' | 'CLBD', b: { amountMinor: number; date: string }, currency: string): string {
  return `<Bal><Tp><CdOrPrtry><Cd>${code}</Cd></CdOrPrtry></Tp>${amt(b.amountMinor, currency)}<Dt><Dt>${b.date}</Dt></Dt></Bal>`;
}

function entryXml(e: StatementEntry, currency: string): string {
  const role = e.amountMinor >= 0 ? 'Dbtr' : 'Cdtr';
  const cp = e.counterparty;
  const refs =
    e.endToEndId || e.mandateId
      ? `<Refs>${e.endToEndId ? `<EndToEndId>${esc(e.endToEndId)}</EndToEndId>` : ''}${
          e.mandateId ? `<MndtId>${esc(e.mandateId)}</MndtId>` : ''
        }</Refs>`
      : '';
  const instructed =
    e.originalAmountMinor !== undefined
      ? `<AmtDtls><InstdAmt><Amt Ccy="${currency}">${formatMinor(e.originalAmountMinor, currency)}</Amt></InstdAmt></AmtDtls>`
      : '';
  const charges =
    e.chargesMinor !== undefined
      ? `<Chrgs><Amt Ccy="${currency}">${formatMinor(e.chargesMinor, currency)}</Amt><CdtDbtInd>DBIT</CdtDbtInd></Chrgs>`
      : '';
  const parties = cp
    ? `<RltdPties>${cp.name ? `<${role}><Nm>${esc(cp.name)}</Nm></${role}>` : ''}${
        cp.iban ? `<${role}Acct><Id><IBAN>${esc(cp.iban)}</IBAN></Id></${role}Acct>` : ''
      }</RltdPties>${cp.bic ? `<RltdAgts><${role}Agt><FinInstnId><BIC>${esc(cp.bic)}</BIC></FinInstnId></${role}Agt></RltdAgts>` : ''}`
    : '';
  const rmt =
    e.remittance || e.creditorReference
      ? `<RmtInf>${e.remittance ? `<Ustrd>${esc(e.remittance)}</Ustrd>` : ''}${
          e.creditorReference
            ? `<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>${esc(e.creditorReference)}</Ref></CdtrRefInf></Strd>`
            : ''
        }</RmtInf>`
      : '';
  const rtr = e.returnReason ? `<RtrInf><Rsn><Cd>${esc(e.returnReason)}</Cd></Rsn></RtrInf>` : '';
  return (
    `<Ntry>${amt(e.amountMinor, currency)}<Sts>BOOK</Sts><BookgDt><Dt>${e.bookingDate}</Dt></BookgDt>` +
    `<ValDt><Dt>${e.valueDate ?? e.bookingDate}</Dt></ValDt>${e.reference ? `<AcctSvcrRef>${esc(e.reference)}</AcctSvcrRef>` : ''}` +
    `<BkTxCd><Prtry><Cd>NTRF+166</Cd><Issr>DK</Issr></Prtry></BkTxCd>${charges}<NtryDtls><TxDtls>${refs}${instructed}${parties}${rmt}${rtr}</TxDtls></NtryDtls></Ntry>`
  );
}

/**
 * A camt.053.001.02 document with the given statements. Balances are written when the statement has them; the caller
 * makes them bridge (see {@link withBalances}).
 */
export function writeCamt053(statements: readonly Statement[], messageId = 'CLEARHUB-SIM'): string {
  const body = statements
    .map((s, i) => {
      const bals = [
        s.openingBalance ? balance('OPBD', s.openingBalance, s.currency) : '',
        s.closingBalance ? balance('CLBD', s.closingBalance, s.currency) : '',
      ].join('');
      return (
        `<Stmt><Id>${esc(s.id ?? `${messageId}-${i + 1}`)}</Id><CreDtTm>${
          s.closingBalance?.date ?? s.entries.at(-1)?.bookingDate ?? '2000-01-01'
        }T06:00:00</CreDtTm><Acct><Id><IBAN>${esc(s.account)}</IBAN></Id><Ccy>${s.currency}</Ccy></Acct>${bals}` +
        `${s.entries.map((e) => entryXml(e, s.currency)).join('\n')}</Stmt>`
      );
    })
    .join('\n');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">` +
    `<BkToCstmrStmt><GrpHdr><MsgId>${esc(messageId)}</MsgId><CreDtTm>2000-01-01T06:00:00</CreDtTm></GrpHdr>\n${body}\n` +
    `</BkToCstmrStmt></Document>\n`
  );
}

/** The statement with opening and closing balances that bridge its entries (opening given, default 0). */
export function withBalances(s: Statement, openingMinor = 0): Statement {
  const first = s.entries[0]?.bookingDate ?? '2000-01-01';
  const last = s.entries.at(-1)?.bookingDate ?? first;
  const closing = s.entries.reduce((n, e) => n + e.amountMinor, openingMinor);
  return {
    ...s,
    openingBalance: { amountMinor: openingMinor, date: first },
    closingBalance: { amountMinor: closing, date: last },
  };
}
