import * as sax from 'sax';
import { IntegrationError } from '../domain/errors';
import { parseDecimalToMinor } from '../domain/money';
import type { Balance, Counterparty, Statement, StatementEntry, StatementFormat } from './statement';

/**
 * camt.052 (account report), camt.053 (statement) and camt.054 (debit/credit notification), any version: elements are
 * matched by local name, so the namespace (camt.053.001.02 … .08) does not matter.
 *
 * The file is read as a stream of SAX events; only the statement being read is held as a tree, so memory grows with
 * the largest statement, not the file. Amounts go through {@link parseDecimalToMinor}: more decimals than the
 * currency has are accepted only when the extra digits are zeros ("18.150" EUR is 1815), anything else is an error.
 */

interface Node {
  name: string;
  attrs: Record<string, string>;
  children: Node[];
  text: string;
}

const RECORDS: Record<string, StatementFormat> = {
  Stmt: 'camt.053',
  Rpt: 'camt.052',
  Ntfctn: 'camt.054',
};
// camt.052.001.01 and friends suffix the root with the version (BkToCstmrAcctRptV01).
const isRoot = (name: string) => /^BkToCstmr(Stmt|AcctRpt|DbtCdtNtfctn)(V\d+)?$/.test(name);

const local = (name: string) => name.slice(name.indexOf(':') + 1);

function child(node: Node | undefined, ...path: string[]): Node | undefined {
  let n = node;
  for (const p of path) {
    n = n?.children.find((c) => c.name === p);
    if (!n) return undefined;
  }
  return n;
}

function all(node: Node | undefined, name: string): Node[] {
  return node ? node.children.filter((c) => c.name === name) : [];
}

function text(node: Node | undefined, ...path: string[]): string | undefined {
  const t = child(node, ...path)?.text.trim();
  return t ? t : undefined;
}

/** `<Dt>2014-12-31</Dt>` or `<DtTm>2014-12-31T10:00:00+01:00</DtTm>`: the calendar date as the bank wrote it. */
function dateOf(node: Node | undefined): string | undefined {
  const raw = text(node, 'Dt') ?? text(node, 'DtTm');
  return raw?.slice(0, 10);
}

export interface ParseCamtOptions {
  /** Name of the file, for error messages. */
  file: string;
  /**
   * Checks that make a statement safe to import: (camt.053) entries bridge opening and closing balance, and every
   * amount is in the account currency. Turn off only to look at a broken file, never to import it.
   * @defaultValue true
   */
  strict?: boolean;
}

/** The result of one file: its format and its statements (reports, notifications) in file order. */
export interface CamtFile {
  format: StatementFormat;
  statements: Statement[];
}

class Reader {
  private format: StatementFormat | undefined;
  private readonly stack: Node[] = [];
  private rootSeen = false;
  /** Open elements outside a statement (Document, the BkToCstmr… root, GrpHdr …). */
  private outside: string[] = [];
  readonly statements: Statement[] = [];

  constructor(
    private readonly file: string,
    private readonly strict: boolean,
  ) {}

  open(name: string, attrs: Record<string, string>): void {
    const n = local(name);
    if (this.stack.length === 0) {
      const format = RECORDS[n];
      if (!format || !isRoot(this.outside.at(-1) ?? '')) {
        if (isRoot(n)) this.rootSeen = true;
        this.outside.push(n);
        return;
      }
      this.format = format;
    }
    const node: Node = { name: n, attrs, children: [], text: '' };
    this.stack.at(-1)?.children.push(node);
    this.stack.push(node);
  }

  close(): void {
    const node = this.stack.pop();
    if (!node) {
      this.outside.pop();
      return;
    }
    if (this.stack.length === 0) {
      this.statements.push(this.toStatement(node, this.statements.length));
    }
  }

  text(t: string): void {
    const top = this.stack.at(-1);
    if (top) top.text += t;
  }

  result(): CamtFile {
    if (!this.rootSeen || !this.format) {
      throw new IntegrationError(
        `${this.file}: no camt statement found (expected BkToCstmrStmt/Stmt, BkToCstmrAcctRpt/Rpt or BkToCstmrDbtCdtNtfctn/Ntfctn)`,
        'Document',
      );
    }
    return { format: this.format, statements: this.statements };
  }

  private where(id: string | undefined, index: number): string {
    return `${this.file}: statement ${id ?? `#${index + 1}`}`;
  }

  private amount(amt: Node | undefined, fallbackCcy: string | undefined, field: string, where: string) {
    const currency = amt?.attrs.Ccy ?? fallbackCcy;
    const raw = amt?.text.trim();
    if (!raw || !currency) throw new IntegrationError(`${where}: missing amount or currency`, field);
    try {
      return { minor: parseDecimalToMinor(raw, currency, field), currency };
    } catch (err) {
      if (err instanceof IntegrationError) throw new IntegrationError(`${where}: ${err.message}`, field);
      throw err;
    }
  }

  private signed(minor: number, node: Node, field: string, where: string): number {
    const ind = text(node, 'CdtDbtInd');
    if (ind === 'CRDT') return minor;
    if (ind === 'DBIT') return minor === 0 ? 0 : -minor;
    throw new IntegrationError(`${where}: CdtDbtInd is "${ind ?? ''}", expected CRDT or DBIT`, field);
  }

  private toStatement(stmt: Node, index: number): Statement {
    const id = text(stmt, 'Id');
    const where = this.where(id, index);
    const acct = child(stmt, 'Acct');
    // Version 01 names a non-IBAN account PrtryAcct (or BBAN); later versions Othr.
    const account =
      text(acct, 'Id', 'IBAN') ??
      text(acct, 'Id', 'Othr', 'Id') ??
      text(acct, 'Id', 'PrtryAcct', 'Id') ??
      text(acct, 'Id', 'BBAN');
    if (!account) throw new IntegrationError(`${where}: no account (Acct/Id/IBAN or Acct/Id/Othr/Id)`, 'Acct.Id');
    const firstAmt = child(all(stmt, 'Bal')[0], 'Amt') ?? child(all(stmt, 'Ntry')[0], 'Amt');
    const currency = text(acct, 'Ccy') ?? firstAmt?.attrs.Ccy;
    if (!currency) throw new IntegrationError(`${where}: no currency (Acct/Ccy or Amt@Ccy)`, 'Acct.Ccy');

    const statement: Statement = { account, currency, entries: [] };
    if (id) statement.id = id;
    for (const bal of all(stmt, 'Bal')) {
      const code = text(bal, 'Tp', 'CdOrPrtry', 'Cd');
      const key =
        code === 'OPBD' || code === 'PRCD' ? 'openingBalance' : code === 'CLBD' ? 'closingBalance' : undefined;
      // OPBD wins over PRCD when a bank sends both.
      if (!key || (key === 'openingBalance' && statement.openingBalance && code === 'PRCD')) continue;
      const field = `Bal[${code}]`;
      const { minor, currency: ccy } = this.amount(child(bal, 'Amt'), currency, `${field}.Amt`, where);
      if (this.strict && ccy !== currency) {
        throw new IntegrationError(
          `${where}: balance ${code} in ${ccy}, the account is in ${currency}`,
          `${field}.Amt`,
        );
      }
      const date = dateOf(child(bal, 'Dt'));
      if (!date) throw new IntegrationError(`${where}: balance ${code} has no date`, `${field}.Dt`);
      const balance: Balance = { amountMinor: this.signed(minor, bal, `${field}.CdtDbtInd`, where), date };
      statement[key] = balance;
    }
    all(stmt, 'Ntry').forEach((ntry, i) => {
      statement.entries.push(this.toEntry(ntry, currency, `${where}, entry ${i + 1}`));
    });

    if (this.strict && this.format === 'camt.053' && statement.openingBalance && statement.closingBalance) {
      const sum = statement.entries.reduce((s, e) => s + e.amountMinor, statement.openingBalance.amountMinor);
      if (sum !== statement.closingBalance.amountMinor) {
        throw new IntegrationError(
          `${where}: entries do not bridge the balances: opening ${statement.openingBalance.amountMinor} + entries ${
            sum - statement.openingBalance.amountMinor
          } = ${sum}, closing is ${statement.closingBalance.amountMinor} (minor units of ${currency}); the statement is incomplete or wrong, ask the bank for a corrected file`,
          'Bal',
          { statementId: id, opening: statement.openingBalance, closing: statement.closingBalance, sum },
        );
      }
    }
    return statement;
  }

  private toEntry(ntry: Node, currency: string, where: string): StatementEntry {
    const { minor, currency: ccy } = this.amount(child(ntry, 'Amt'), currency, 'Ntry.Amt', where);
    if (this.strict && ccy !== currency) {
      throw new IntegrationError(`${where}: amount in ${ccy}, the account is in ${currency}`, 'Ntry.Amt');
    }
    const amountMinor = this.signed(minor, ntry, 'Ntry.CdtDbtInd', where);
    const valueDate = dateOf(child(ntry, 'ValDt'));
    // A pending entry of a camt.052 report may not be booked yet: its value date stands in.
    const bookingDate = dateOf(child(ntry, 'BookgDt')) ?? valueDate;
    if (!bookingDate)
      throw new IntegrationError(`${where}: no booking date (BookgDt) nor value date (ValDt)`, 'Ntry.BookgDt');
    const entry: StatementEntry = { amountMinor, bookingDate };
    if (valueDate) entry.valueDate = valueDate;

    const txs = all(child(ntry, 'NtryDtls'), 'TxDtls');
    const tx = txs[0];
    const reference = text(ntry, 'AcctSvcrRef') ?? text(tx, 'Refs', 'AcctSvcrRef');
    if (reference) entry.reference = reference;
    const endToEndId = text(tx, 'Refs', 'EndToEndId');
    if (endToEndId && endToEndId !== 'NOTPROVIDED') entry.endToEndId = endToEndId;
    const mandateId = text(tx, 'Refs', 'MndtId');
    if (mandateId) entry.mandateId = mandateId;
    const creditorReference = txs
      .flatMap((t) => all(child(t, 'RmtInf'), 'Strd'))
      .map((s) => text(s, 'CdtrRefInf', 'Ref'))
      .find((r) => r !== undefined);
    if (creditorReference) entry.creditorReference = creditorReference;
    // A batch entry carries one TxDtls per transaction: its remittance lines are kept together, in order.
    const lines = txs.flatMap((t) => all(child(t, 'RmtInf'), 'Ustrd')).map((u) => u.text.trim());
    const remittance = lines.filter(Boolean).join(' ');
    if (remittance) entry.remittance = remittance;
    const counterparty = this.counterparty(tx, amountMinor >= 0 ? 'Dbtr' : 'Cdtr');
    if (counterparty) entry.counterparty = counterparty;
    const returnReason = text(tx, 'RtrInf', 'Rsn', 'Cd');
    if (returnReason) entry.returnReason = returnReason;
    // Entry-level charges, else the transactions' (a bank that gives both repeats the same charges).
    const entryCharges = all(ntry, 'Chrgs');
    const charges = this.charges(
      entryCharges.length ? entryCharges : txs.flatMap((t) => all(t, 'Chrgs')),
      currency,
      where,
    );
    if (charges !== undefined) entry.chargesMinor = charges;
    const instructed = this.optionalAmount(child(tx, 'AmtDtls', 'InstdAmt', 'Amt'), currency, where);
    if (instructed !== undefined) entry.originalAmountMinor = instructed;
    if (txs.length > 1) {
      entry.transactions = txs.map((t) => {
        const one: NonNullable<StatementEntry['transactions']>[number] = {};
        const amount = this.optionalAmount(child(t, 'Amt') ?? child(t, 'AmtDtls', 'TxAmt', 'Amt'), currency, where);
        if (amount !== undefined) one.amountMinor = amount;
        const e2e = text(t, 'Refs', 'EndToEndId');
        if (e2e && e2e !== 'NOTPROVIDED') one.endToEndId = e2e;
        const mandate = text(t, 'Refs', 'MndtId');
        if (mandate) one.mandateId = mandate;
        return one;
      });
    }
    return entry;
  }

  /** An amount in the account currency, or undefined when absent or in another currency (nothing to add it to). */
  private optionalAmount(amt: Node | undefined, currency: string, where: string): number | undefined {
    if (!amt?.text.trim() || (amt.attrs.Ccy && amt.attrs.Ccy !== currency)) return undefined;
    return this.amount(amt, currency, 'Amt', where).minor;
  }

  /**
   * Charges of an entry: `Chrgs/TtlChrgsAndTaxAmt`, else the sum of `Chrgs/Rcrd/Amt` (camt.05x.001.03 and later),
   * else of `Chrgs/Amt` (001.02), in the account currency.
   */
  private charges(nodes: Node[], currency: string, where: string): number | undefined {
    let sum: number | undefined;
    for (const c of nodes) {
      const total = this.optionalAmount(child(c, 'TtlChrgsAndTaxAmt'), currency, where);
      const parts =
        total !== undefined
          ? [total]
          : [...all(c, 'Rcrd').map((r) => child(r, 'Amt')), child(c, 'Amt')].map((a) =>
              this.optionalAmount(a, currency, where),
            );
      for (const p of parts) if (p !== undefined) sum = (sum ?? 0) + p;
    }
    return sum;
  }

  /** The other side: the debtor of a credit, the creditor of a debit. camt.053.001.08 nests the party in `Pty`. */
  private counterparty(tx: Node | undefined, role: 'Dbtr' | 'Cdtr'): Counterparty | undefined {
    const parties = child(tx, 'RltdPties');
    const party = child(parties, role);
    const name = text(party, 'Nm') ?? text(party, 'Pty', 'Nm');
    const iban = text(parties, `${role}Acct`, 'Id', 'IBAN');
    const agent = child(tx, 'RltdAgts', `${role}Agt`, 'FinInstnId');
    const bic = text(agent, 'BIC') ?? text(agent, 'BICFI');
    const cp: Counterparty = {};
    if (name) cp.name = name;
    if (iban) cp.iban = iban;
    if (bic) cp.bic = bic;
    return name || iban || bic ? cp : undefined;
  }
}

/**
 * Streaming reader: feed chunks with `write`, then `end()` returns the statements. A malformed document, a statement
 * without account or currency, an amount that cannot be read exactly, or (camt.053) entries that do not bridge
 * opening and closing balance raise an {@link IntegrationError} naming the file and statement.
 */
export function createCamtReader(options: ParseCamtOptions): { write(chunk: string): void; end(): CamtFile } {
  const reader = new Reader(options.file, options.strict ?? true);
  const parser = sax.parser(true, { trim: false, normalize: false });
  let failure: Error | undefined;
  // Without the xmlns option, sax gives attributes as plain strings.
  parser.onopentag = (tag) => reader.open(tag.name, tag.attributes as Record<string, string>);
  parser.onclosetag = () => reader.close();
  const notWellFormed = (why: string) => {
    failure ??= new IntegrationError(
      `${options.file}: not well-formed XML (${why}) at line ${parser.line + 1}`,
      'Document',
    );
  };
  // sax lets a NUL through, which XML does not allow (and the store could not keep).
  const text = (t: string) => (t.includes('\0') ? notWellFormed('a NUL character') : reader.text(t));
  parser.ontext = text;
  parser.oncdata = text;
  parser.onerror = (err) => notWellFormed(err.message.split('\n')[0]!);
  const check = () => {
    if (failure) throw failure;
  };
  return {
    write(chunk) {
      parser.write(chunk);
      check();
    },
    end() {
      parser.close();
      check();
      return reader.result();
    },
  };
}

/** Parses a whole camt.052/053/054 document. */
export function parseCamt(xml: string, file: string, options: Omit<ParseCamtOptions, 'file'> = {}): Statement[] {
  const r = createCamtReader({ ...options, file });
  r.write(xml);
  return r.end().statements;
}
