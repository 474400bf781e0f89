/**
 * A fake SAP system behind the RfcTransport interface: an in-memory FI-AR and FI-CA ledger that answers the BAPIs
 * the sap-rfc connector calls with their structures (BAPI3007_2 line items, BAPIRET2 / BAPIRETURN messages,
 * BAPIDFKKCL open items, OBJ_KEY of a posting), with SAP's LUW semantics: a posting BAPI only buffers, the
 * `BAPI_TRANSACTION_COMMIT` of the same session writes, a rollback or the end of the session discards.
 *
 * Values come back as node-rfc gives them with `bcd: 'string'`: every field a string, amounts DEC 23,4 ("1190.0000"),
 * dates DATS ("20240115", initial "00000000"). Field names follow shared/contracts/sap/rfc/bapi-interfaces.json.
 *
 * Fault injection: a communication failure on the nth read, a commit that applies and then loses the connection,
 * a posting answered with an error RETURN.
 */

import type {
  RfcParams,
  RfcResult,
  RfcSession,
  RfcStructure,
  RfcTransport,
} from '../../../connectors/sap-rfc/transport';
import { formatMinor, parseDecimalToMinor } from '../../domain/money';

/** The BAPI3007_2 fields this fake fills (a subset of the 111, in the structure's order). */
export const BAPI3007_2_FIELDS = [
  'COMP_CODE',
  'CUSTOMER',
  'SP_GL_IND',
  'CLEAR_DATE',
  'CLR_DOC_NO',
  'ALLOC_NMBR',
  'FISC_YEAR',
  'DOC_NO',
  'ITEM_NUM',
  'PSTNG_DATE',
  'DOC_DATE',
  'ENTRY_DATE',
  'CURRENCY',
  'LOC_CURRCY',
  'REF_DOC_NO',
  'DOC_TYPE',
  'FIS_PERIOD',
  'POST_KEY',
  'DB_CR_IND',
  'LC_AMOUNT',
  'AMT_DOCCUR',
  'ITEM_TEXT',
  'BLINE_DATE',
  'PMNTTRMS',
  'DSCT_DAYS1',
  'DSCT_DAYS2',
  'NETTERMS',
  'DSCT_PCT1',
  'DSCT_PCT2',
  'PYMT_METH',
  'PMNT_BLOCK',
  'INV_REF',
  'INV_YEAR',
  'INV_ITEM',
  'DUNN_BLOCK',
  'DUNN_KEY',
  'LAST_DUNN',
  'DUNN_LEVEL',
  'DUNN_AREA',
  'NAME',
  'NAME_2',
  'COUNTRY',
  'LANGU',
  'OBJ_TYPE',
  'REF_DOC',
] as const;
/** The BAPIDFKKCL fields this fake fills. */
export const BAPIDFKKCL_FIELDS = [
  'DOC_NO',
  'REP_ITEM',
  'ITEM',
  'SUB_ITEM',
  'COMP_CODE',
  'BUSPARTNER',
  'CONT_ACCT',
  'CONTRACT',
  'APPL_AREA',
  'MAIN_TRANS',
  'SUB_TRANS',
  'DOC_DATE',
  'PSTNG_DATE',
  'NET_DATE',
  'DISC_DUE',
  'CURRENCY',
  'CURRENCY_ISO',
  'AMOUNT',
  'LC_AMOUNT',
  'AMOUNT_CLEAR',
  'NO_DUNNING',
] as const;

const DATS_FIELDS = new Set([
  'CLEAR_DATE',
  'PSTNG_DATE',
  'DOC_DATE',
  'ENTRY_DATE',
  'BLINE_DATE',
  'LAST_DUNN',
  'NET_DATE',
  'DISC_DUE',
]);
const INITIAL = '00000000';

export type ArRow = Record<(typeof BAPI3007_2_FIELDS)[number], string>;
export type CaRow = Record<(typeof BAPIDFKKCL_FIELDS)[number], string>;

/** One call the fake received. */
export interface FakeCall {
  session: string;
  fm: string;
  params: RfcParams;
}

/** A posting or clearing the fake has committed. */
export interface FakePosting {
  fm: 'BAPI_ACC_DOCUMENT_POST' | 'BAPI_CTRACCONTRACTACCOUNT_CLOI';
  session: string;
  /** Our reference (REF_DOC_NO / XBLNR). */
  reference: string;
  /** The invoice it pays: ALLOC_NMBR of the customer line (FI-AR), the cleared item's DOC_NO (FI-CA). */
  documentNumber: string;
  amountMinor: number;
  currency: string;
  /** OBJ_KEY (FI-AR) or clearing document number (FI-CA). */
  sapReference: string;
}

/** A node-rfc-shaped error (what node-rfc throws for a lost connection). */
export function rfcCommunicationFailure(message: string): Error {
  return Object.assign(new Error(message), {
    name: 'RfcLibError',
    group: 1,
    code: 1,
    codeString: 'RFC_COMMUNICATION_FAILURE',
    key: 'RFC_COMMUNICATION_FAILURE',
  });
}

const EMPTY_BAPIRET2: RfcStructure = {
  TYPE: '',
  ID: '',
  NUMBER: '000',
  MESSAGE: '',
  LOG_NO: '',
  LOG_MSG_NO: '000000',
  MESSAGE_V1: '',
  MESSAGE_V2: '',
  MESSAGE_V3: '',
  MESSAGE_V4: '',
  PARAMETER: '',
  ROW: 0,
  FIELD: '',
  SYSTEM: '',
};
const EMPTY_BAPIRETURN: RfcStructure = {
  TYPE: '',
  CODE: '',
  MESSAGE: '',
  LOG_NO: '',
  LOG_MSG_NO: '000000',
  MESSAGE_V1: '',
  MESSAGE_V2: '',
  MESSAGE_V3: '',
  MESSAGE_V4: '',
};
const ret2 = (type: string, id: string, number: string, message: string): RfcStructure => ({
  ...EMPTY_BAPIRET2,
  TYPE: type,
  ID: id,
  NUMBER: number,
  MESSAGE: message,
  SYSTEM: 'FAKCLNT100',
});

/** An amount in minor units as a DEC 23,4 BCD string ("1190.0000"), as node-rfc returns it. */
export function bcd(amountMinor: number, currency: string): string {
  const s = formatMinor(amountMinor, currency);
  const [int, frac = ''] = s.split('.');
  return `${int}.${frac.padEnd(4, '0')}`;
}

const READS = new Set(['BAPI_AR_ACC_GETOPENITEMS', 'BAPI_AR_ACC_GETBALANCEDITEMS', 'BAPI_CTRACCONTRACTACCOUNT_GOI1']);

export interface FakeSapOptions {
  /** SAP's automatic clearing (F.13): a posting whose ALLOC_NMBR and amount match an open invoice clears both. */
  autoClearing?: boolean;
}

export class FakeSapRfc implements RfcTransport {
  readonly name = 'fake';
  readonly calls: FakeCall[] = [];
  readonly committed: FakePosting[] = [];
  /** Sessions that ended with buffered, uncommitted work (SAP discards it). */
  readonly discarded: string[] = [];
  opened = false;
  private ar: ArRow[] = [];
  private ca: CaRow[] = [];
  /** FI-CA document headers (DFKKKO): document number and reference. */
  private caHeaders: { OPBEL: string; XBLNR: string }[] = [];
  private nextDoc = 1400000000;
  private nextCaDoc = 500000000000;
  private sessionNo = 0;
  private readsUntilFailure = 0;
  private timeoutAfterNextCommit = false;
  private nextPostReturn: RfcStructure[] | undefined;
  private deniedCompanyCodes = new Set<string>();

  constructor(readonly options: FakeSapOptions = {}) {}

  // --- RfcTransport -------------------------------------------------------------------------------------------

  async open(): Promise<void> {
    this.opened = true;
  }

  async close(): Promise<void> {
    this.opened = false;
  }

  async call(fm: string, params: RfcParams = {}): Promise<RfcResult> {
    return this.withSession((s) => s.call(fm, params));
  }

  async withSession<T>(fn: (session: RfcSession) => Promise<T>): Promise<T> {
    const id = `s${++this.sessionNo}`;
    const luw: (() => void)[] = [];
    try {
      return await fn({ call: async (fm, params = {}) => this.handle(id, luw, fm, params) });
    } finally {
      if (luw.length > 0) this.discarded.push(id);
    }
  }

  // --- seeding and inspection ---------------------------------------------------------------------------------

  /** Adds an FI-AR line item; unset fields get SAP's initial values. Amount given in minor units or as text. */
  seedAr(row: Partial<ArRow> & { DOC_NO: string; CUSTOMER: string; amountMinor?: number }): ArRow {
    const { amountMinor, ...fields } = row;
    const full = Object.fromEntries(BAPI3007_2_FIELDS.map((f) => [f, DATS_FIELDS.has(f) ? INITIAL : ''])) as ArRow;
    Object.assign(full, {
      COMP_CODE: '1010',
      FISC_YEAR: '2024',
      ITEM_NUM: '001',
      PSTNG_DATE: '20240115',
      DOC_DATE: '20240115',
      ENTRY_DATE: '20240115',
      CURRENCY: 'EUR',
      LOC_CURRCY: 'EUR',
      DOC_TYPE: 'DR',
      FIS_PERIOD: '01',
      POST_KEY: '01',
      DB_CR_IND: 'S',
      BLINE_DATE: '20240115',
      PMNTTRMS: '0001',
      DSCT_DAYS1: '0',
      DSCT_DAYS2: '0',
      NETTERMS: '30',
      DSCT_PCT1: '0.000',
      DSCT_PCT2: '0.000',
      DUNN_LEVEL: '0',
      OBJ_TYPE: 'BKPF',
      LANGU: 'D',
    });
    Object.assign(full, fields);
    full.CUSTOMER = /^\d+$/.test(full.CUSTOMER) ? full.CUSTOMER.padStart(10, '0') : full.CUSTOMER;
    if (amountMinor !== undefined) full.AMT_DOCCUR = bcd(amountMinor, full.CURRENCY);
    if (full.LC_AMOUNT === '') full.LC_AMOUNT = full.AMT_DOCCUR;
    this.ar.push(full);
    return full;
  }

  /** Adds an FI-CA open item (AMOUNT signed). */
  seedCa(row: Partial<CaRow> & { DOC_NO: string; BUSPARTNER: string; CONT_ACCT: string; amountMinor?: number }): CaRow {
    const { amountMinor, ...fields } = row;
    const full = Object.fromEntries(BAPIDFKKCL_FIELDS.map((f) => [f, DATS_FIELDS.has(f) ? INITIAL : ''])) as CaRow;
    Object.assign(full, {
      REP_ITEM: '001',
      ITEM: '0001',
      SUB_ITEM: '000',
      COMP_CODE: '1010',
      APPL_AREA: 'P',
      MAIN_TRANS: '0100',
      SUB_TRANS: '0002',
      DOC_DATE: '20240201',
      PSTNG_DATE: '20240201',
      NET_DATE: '20240215',
      CURRENCY: 'EUR',
      CURRENCY_ISO: 'EUR',
      AMOUNT_CLEAR: '0.0000',
    });
    Object.assign(full, fields);
    full.BUSPARTNER = /^\d+$/.test(full.BUSPARTNER) ? full.BUSPARTNER.padStart(10, '0') : full.BUSPARTNER;
    full.CONT_ACCT = /^\d+$/.test(full.CONT_ACCT) ? full.CONT_ACCT.padStart(12, '0') : full.CONT_ACCT;
    if (amountMinor !== undefined) full.AMOUNT = bcd(amountMinor, full.CURRENCY);
    if (full.LC_AMOUNT === '') full.LC_AMOUNT = full.AMOUNT;
    this.ca.push(full);
    return full;
  }

  /** Changes the amount of an item (FI-AR or FI-CA, by document number): a pull must see the new value. */
  touch(docNo: string, deltaMinor = -100): void {
    const a = this.ar.find((r) => r.DOC_NO === docNo);
    if (a) {
      a.AMT_DOCCUR = bcd(parseDecimalToMinor(a.AMT_DOCCUR, a.CURRENCY) + deltaMinor, a.CURRENCY);
      a.LC_AMOUNT = a.AMT_DOCCUR;
      return;
    }
    const c = this.ca.find((r) => r.DOC_NO === docNo);
    if (!c) throw new Error(`fake SAP: no item ${docNo}`);
    c.AMOUNT = bcd(parseDecimalToMinor(c.AMOUNT, c.CURRENCY) + deltaMinor, c.CURRENCY);
  }

  /** The nth read from now on (1 = the next one) fails once with RFC_COMMUNICATION_FAILURE. */
  failOnRead(nth: number): void {
    this.readsUntilFailure = nth;
  }

  /** The next commit writes, then the connection breaks before the answer arrives. */
  timeoutAfterApplyingNextWrite(): void {
    this.timeoutAfterNextCommit = true;
  }

  /** The next posting (POST or CLOI) answers with these RETURN messages and buffers nothing. */
  rejectNextPost(messages: { type: string; id: string; number: string; message: string }[]): void {
    this.nextPostReturn = messages.map((m) => ret2(m.type, m.id, m.number, m.message));
  }

  /** Reads in this company code answer with an authorization error. */
  denyCompanyCode(companyCode: string): void {
    this.deniedCompanyCodes.add(companyCode);
  }

  arItems(): ArRow[] {
    return this.ar.map((r) => ({ ...r }));
  }

  caItems(): CaRow[] {
    return this.ca.map((r) => ({ ...r }));
  }

  /** Calls of one function module, in order. */
  callsOf(fm: string): FakeCall[] {
    return this.calls.filter((c) => c.fm === fm);
  }

  // --- the function modules -----------------------------------------------------------------------------------

  private async handle(session: string, luw: (() => void)[], fm: string, params: RfcParams): Promise<RfcResult> {
    this.calls.push({ session, fm, params: structuredClone(params) });
    await Promise.resolve(); // answers arrive asynchronously, as over a network
    if (READS.has(fm) && this.readsUntilFailure > 0 && --this.readsUntilFailure === 0) {
      throw rfcCommunicationFailure(`partner 'fake-sap:3300' not reached (${fm})`);
    }
    switch (fm) {
      case 'RFC_PING':
        return {};
      case 'BAPI_AR_ACC_GETOPENITEMS':
        return this.arRead(
          params,
          (r, keyDate) => r.PSTNG_DATE <= keyDate && (r.CLEAR_DATE === INITIAL || r.CLEAR_DATE > keyDate),
          'KEYDATE',
        );
      case 'BAPI_AR_ACC_GETBALANCEDITEMS':
        return this.arRead(
          params,
          (r) =>
            r.CLEAR_DATE !== INITIAL &&
            r.CLEAR_DATE >= String(params.DATE_FROM) &&
            r.CLEAR_DATE <= String(params.DATE_TO),
          'DATE_TO',
        );
      case 'BAPI_ACC_DOCUMENT_POST':
        return this.post(session, luw, params);
      case 'BAPI_CTRACCONTRACTACCOUNT_GOI1':
        return this.caRead(params);
      case 'BAPI_CTRACCONTRACTACCOUNT_CLOI':
        return this.clear(session, luw, params);
      case 'RFC_READ_TABLE':
        return this.readTable(params);
      case 'BAPI_TRANSACTION_COMMIT': {
        const work = luw.splice(0);
        for (const apply of work) apply();
        if (this.timeoutAfterNextCommit && work.length > 0) {
          this.timeoutAfterNextCommit = false;
          throw rfcCommunicationFailure('connection to partner broken after the commit');
        }
        return { RETURN: { ...EMPTY_BAPIRET2 } };
      }
      case 'BAPI_TRANSACTION_ROLLBACK':
        luw.splice(0);
        return { RETURN: { ...EMPTY_BAPIRET2 } };
      default:
        throw Object.assign(new Error(`Function module "${fm}" not found`), {
          name: 'ABAPError',
          codeString: 'RFC_ABAP_EXCEPTION',
          key: 'FU_NOT_FOUND',
        });
    }
  }

  private arRead(params: RfcParams, open: (r: ArRow, date: string) => boolean, dateParam: string): RfcResult {
    const cc = String(params.COMPANYCODE ?? '');
    const customer = String(params.CUSTOMER ?? '');
    const date = String(params[dateParam] ?? '');
    if (!/^\d{8}$/.test(date)) {
      return {
        RETURN: { ...EMPTY_BAPIRETURN, TYPE: 'E', CODE: 'FN001', MESSAGE: `Enter a valid date (${dateParam})` },
        LINEITEMS: [],
      };
    }
    if (this.deniedCompanyCodes.has(cc)) {
      // Illustrative class/number: the fake's authorization message; the connector relies on TYPE E only.
      return {
        RETURN: { ...EMPTY_BAPIRETURN, TYPE: 'E', CODE: 'F5155', MESSAGE: `No authorization for company code ${cc}` },
        LINEITEMS: [],
      };
    }
    const rows = this.ar.filter((r) => r.COMP_CODE === cc && r.CUSTOMER === customer && open(r, date));
    return { RETURN: { ...EMPTY_BAPIRETURN }, LINEITEMS: rows.map((r) => ({ ...r })) };
  }

  private caRead(params: RfcParams): RfcResult {
    const sel = (params.MAINSELECTIONS as RfcStructure[] | undefined) ?? [];
    const rows = this.ca.filter(
      (r) =>
        parseDecimalToMinor(r.AMOUNT, r.CURRENCY) !== 0 &&
        sel.some(
          (s) =>
            (s.CONT_ACCT === undefined || s.CONT_ACCT === r.CONT_ACCT) &&
            (s.BUSPARTNER === undefined || s.BUSPARTNER === r.BUSPARTNER),
        ),
    );
    return { RETURN: { ...EMPTY_BAPIRET2 }, OPENITEMS: rows.map((r) => ({ ...r })) };
  }

  private post(session: string, luw: (() => void)[], params: RfcParams): RfcResult {
    const fail = (number: string, message: string) => ({
      OBJ_TYPE: '',
      OBJ_KEY: '$',
      OBJ_SYS: '',
      RETURN: [ret2('E', 'RW', '609', 'Error in document: BKPFF $ FAKCLNT100'), ret2('E', 'RW', number, message)],
    });
    if (this.nextPostReturn) {
      const ret = this.nextPostReturn;
      this.nextPostReturn = undefined;
      return { OBJ_TYPE: '', OBJ_KEY: '$', OBJ_SYS: '', RETURN: ret };
    }
    const h = params.DOCUMENTHEADER as RfcStructure | undefined;
    const ar = (params.ACCOUNTRECEIVABLE as RfcStructure[] | undefined) ?? [];
    const amounts = (params.CURRENCYAMOUNT as RfcStructure[] | undefined) ?? [];
    if (h?.BUS_ACT !== 'RFBU') return fail('010', 'Business transaction RFBU expected in DOCUMENTHEADER');
    let sum = 0;
    for (const a of amounts) sum += parseDecimalToMinor(String(a.AMT_DOCCUR), String(a.CURRENCY));
    if (sum !== 0) return fail('033', 'Balance in transaction currency');
    const customerLine = ar[0];
    const customerAmount = amounts.find((a) => a.ITEMNO_ACC === customerLine?.ITEMNO_ACC);
    if (!customerLine || !customerAmount) return fail('011', 'No customer line');
    const cc = String(h.COMP_CODE);
    const year = String(h.PSTNG_DATE).slice(0, 4);
    const docNo = String(this.nextDoc++);
    const objKey = `${docNo}${cc}${year}`;
    const currency = String(customerAmount.CURRENCY);
    const amount = parseDecimalToMinor(String(customerAmount.AMT_DOCCUR), currency);
    luw.push(() => {
      const line = this.seedAr({
        COMP_CODE: cc,
        CUSTOMER: String(customerLine.CUSTOMER),
        FISC_YEAR: year,
        DOC_NO: docNo,
        ITEM_NUM: '001',
        PSTNG_DATE: String(h.PSTNG_DATE),
        DOC_DATE: String(h.DOC_DATE),
        ENTRY_DATE: String(h.PSTNG_DATE),
        BLINE_DATE: String(h.PSTNG_DATE),
        NETTERMS: '0',
        PMNTTRMS: '',
        CURRENCY: currency,
        LOC_CURRCY: currency,
        DOC_TYPE: String(h.DOC_TYPE),
        POST_KEY: amount < 0 ? '15' : '01',
        DB_CR_IND: amount < 0 ? 'H' : 'S',
        amountMinor: Math.abs(amount),
        REF_DOC_NO: String(h.REF_DOC_NO),
        ALLOC_NMBR: String(customerLine.ALLOC_NMBR ?? ''),
        ITEM_TEXT: String(customerLine.ITEM_TEXT ?? ''),
      });
      this.committed.push({
        fm: 'BAPI_ACC_DOCUMENT_POST',
        session,
        reference: line.REF_DOC_NO,
        documentNumber: line.ALLOC_NMBR,
        amountMinor: -amount,
        currency,
        sapReference: objKey,
      });
      if (this.options.autoClearing) this.autoClear(line);
    });
    return {
      OBJ_TYPE: 'BKPFF',
      OBJ_KEY: objKey,
      OBJ_SYS: 'FAKCLNT100',
      RETURN: [ret2('S', 'RW', '605', `Document posted successfully: BKPFF ${objKey} FAKCLNT100`)],
    };
  }

  private autoClear(payment: ArRow): void {
    const paid = parseDecimalToMinor(payment.AMT_DOCCUR, payment.CURRENCY);
    const invoice = this.ar.find(
      (r) =>
        r !== payment &&
        r.CLEAR_DATE === INITIAL &&
        r.DB_CR_IND === 'S' &&
        r.CUSTOMER === payment.CUSTOMER &&
        r.DOC_NO === payment.ALLOC_NMBR &&
        parseDecimalToMinor(r.AMT_DOCCUR, r.CURRENCY) === paid,
    );
    if (!invoice) return;
    const clearing = String(this.nextDoc++);
    for (const r of [invoice, payment]) {
      r.CLEAR_DATE = payment.PSTNG_DATE;
      r.CLR_DOC_NO = clearing;
    }
  }

  private clear(session: string, luw: (() => void)[], params: RfcParams): RfcResult {
    if (this.nextPostReturn) {
      const ret = this.nextPostReturn;
      this.nextPostReturn = undefined;
      return { DOCUMENTNUMBER: '', RETURN: ret };
    }
    const wanted = (params.OPENITEMS as RfcStructure[] | undefined) ?? [];
    const docNo = String(this.nextCaDoc++);
    const work: (() => void)[] = [];
    for (const w of wanted) {
      const item = this.ca.find(
        (r) => r.DOC_NO === w.DOC_NO && r.REP_ITEM === w.REP_ITEM && r.ITEM === w.ITEM && r.SUB_ITEM === w.SUB_ITEM,
      );
      if (!item) return { DOCUMENTNUMBER: '', RETURN: ret2('E', '>3', '208', `Item ${String(w.DOC_NO)} is not open`) };
      const amount = parseDecimalToMinor(String(w.AMOUNT_CLEAR), item.CURRENCY);
      const open = parseDecimalToMinor(item.AMOUNT, item.CURRENCY);
      if (amount <= 0 || amount > open) {
        return {
          DOCUMENTNUMBER: '',
          RETURN: ret2('E', '>3', '209', `Clearing amount exceeds the open amount of ${item.DOC_NO}`),
        };
      }
      work.push(() => {
        item.AMOUNT = bcd(open - amount, item.CURRENCY);
        this.committed.push({
          fm: 'BAPI_CTRACCONTRACTACCOUNT_CLOI',
          session,
          reference: String(params.REF_DOC_NO),
          documentNumber: item.DOC_NO,
          amountMinor: amount,
          currency: item.CURRENCY,
          sapReference: docNo,
        });
      });
    }
    luw.push(() => {
      this.caHeaders.push({ OPBEL: docNo, XBLNR: String(params.REF_DOC_NO ?? '') });
      for (const w of work) w();
    });
    return { DOCUMENTNUMBER: docNo, RETURN: ret2('S', '>3', '000', `Document ${docNo} posted`) };
  }

  private readTable(params: RfcParams): RfcResult {
    if (params.QUERY_TABLE !== 'DFKKKO') {
      throw Object.assign(new Error('TABLE_NOT_AVAILABLE'), {
        name: 'ABAPError',
        codeString: 'RFC_ABAP_EXCEPTION',
        key: 'TABLE_NOT_AVAILABLE',
      });
    }
    const text = ((params.OPTIONS as RfcStructure[] | undefined) ?? []).map((o) => String(o.TEXT)).join(' ');
    const m = /^XBLNR EQ '([^']*)'$/.exec(text.trim());
    if (!m)
      throw Object.assign(new Error('OPTION_NOT_VALID'), {
        name: 'ABAPError',
        codeString: 'RFC_ABAP_EXCEPTION',
        key: 'OPTION_NOT_VALID',
      });
    const rows = this.caHeaders.filter((h) => h.XBLNR === m[1]);
    return {
      FIELDS: [{ FIELDNAME: 'OPBEL', OFFSET: '000000', LENGTH: '000012', TYPE: 'C', FIELDTEXT: '' }],
      DATA: rows.map((r) => ({ WA: r.OPBEL })),
    };
  }
}
