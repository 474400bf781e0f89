import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseCamt } from '../../src/cash/camt';
import { readStatements } from '../../src/cash/read';
import type { Statement } from '../../src/cash/statement';
import { IntegrationError } from '../../src/domain/errors';

const CONTRACTS = process.env.CLEARHUB_CONTRACTS ?? resolve(__dirname, '../../../shared/contracts');
const CAMT = join(CONTRACTS, 'banking/camt/genkgo-camt');
const files = existsSync(CAMT)
  ? ['camt052', 'camt053'].flatMap((d) =>
      readdirSync(join(CAMT, d))
        .filter((f) => f.endsWith('.xml'))
        .map((f) => join(CAMT, d, f)),
    )
  : [];

/** The normalised fields of one entry, as both readers should agree on them. */
interface Norm {
  statementId: string | undefined;
  amountMinor: number;
  bookingDate: string | undefined;
  valueDate: string | undefined;
  reference: string | undefined;
  endToEndId: string | undefined;
  creditorReference: string | undefined;
  remittance: string | undefined;
  counterpartyName: string | undefined;
  counterpartyIban: string | undefined;
}

// genkgo's serialised DTOs, read loosely: the test checks the values it takes from them.
// biome-ignore lint/suspicious/noExplicitAny: untyped third-party JSON
type J = any;

const nz = (v: unknown) => (v === null || v === undefined || v === '' ? undefined : String(v));
/** genkgo writes Dt as midnight UTC; DtTm is turned to UTC, so only Dt-dated entries are compared on the date. */
const day = (d: J | null) => (d ? String(d['0']).slice(0, 10) : undefined);

/** Reads genkgo/camt's serialised Message (Entry getters) into the normalised shape. */
function normaliseGenkgo(json: J): { entries: Norm[]; bridges: Map<string, boolean> } {
  const bridges = new Map<string, boolean>();
  const entries = (json.getEntries ?? []).map((e: J): Norm => {
    const tx = e.getTransactionDetail;
    const credit = e.getCreditDebitIndicator === 'CRDT';
    const party = (tx?.getRelatedParties ?? []).find((p: J) =>
      p.getRelatedPartyType?.__CLASS__?.endsWith(credit ? '\\Debtor' : '\\Creditor'),
    );
    const rmt = tx?.getRemittanceInformation;
    // The serialiser writes a repeated object as "__RECURSIVITY__"; the singular getter then holds the first block.
    const blocks = (rmt?.getUnstructuredBlocks ?? []).filter((b: J) => typeof b === 'object');
    const ustrd = (blocks.length ? blocks : [rmt?.getUnstructuredBlock].filter(Boolean))
      .map((b: J) => String(b.getMessage).trim())
      .filter(Boolean);
    const record = e.getRecord;
    return {
      statementId: nz(record?.getId),
      amountMinor: Number(e.getAmount.getAmount),
      bookingDate: day(e.getBookingDate),
      valueDate: day(e.getValueDate),
      reference: nz(e.getAccountServicerReference) ?? nz(tx?.getReference?.getAccountServicerReference),
      endToEndId: nz(tx?.getReference?.getEndToEndId),
      creditorReference: nz(rmt?.getCreditorReferenceInformation?.getRef),
      remittance: nz(ustrd.join(' ')),
      counterpartyName: nz(party?.getRelatedPartyType?.getName),
      counterpartyIban: nz(party?.getAccount?.getIban?.getIban),
    };
  });
  // Whether each statement's own balances bridge, computed from genkgo's reading alone (an independent oracle).
  for (const e of json.getEntries ?? []) {
    const rec = e.getRecord;
    if (!rec?.getId || bridges.has(rec.getId)) continue;
    const bal = (type: string) => (rec.getBalances ?? []).find((b: J) => b.getType === type);
    const open = bal('opening');
    const close = bal('closing');
    if (!open || !close) continue;
    const ccy = (b: J) => b.getAmount.getCurrency.getCode;
    const own = entries.filter((n: Norm) => n.statementId === rec.getId);
    const sum = own.reduce((s: number, n: Norm) => s + n.amountMinor, Number(open.getAmount.getAmount));
    const sameCcy = [open, close, e].every((b) => ccy(b) === rec.getAccount?.getCurrency?.getCode || ccy(b) === ccy(e));
    bridges.set(rec.getId, sameCcy && sum === Number(close.getAmount.getAmount));
  }
  return { entries, bridges };
}

function normaliseOurs(statements: Statement[]): Norm[] {
  return statements.flatMap((s) =>
    s.entries.map((e) => ({
      statementId: s.id,
      amountMinor: e.amountMinor,
      bookingDate: e.bookingDate,
      valueDate: e.valueDate,
      reference: e.reference,
      endToEndId: e.endToEndId,
      creditorReference: e.creditorReference,
      remittance: e.remittance,
      counterpartyName: e.counterparty?.name,
      counterpartyIban: e.counterparty?.iban,
      // genkgo keeps the entry's own currency; ours is the account's (strict mode rejects a difference).
    })),
  );
}

const read = (f: string) => readFileSync(f, 'utf8');
const name = (f: string) => f.slice(CAMT.length + 1);

if (files.length === 0) {
  test.skip(`camt contract files not found under ${CAMT}; set CLEARHUB_CONTRACTS`, () => {});
} else {
  describe('camt contract files (genkgo/camt)', () => {
    const withReading = files.filter((f) => existsSync(f.replace(/\.xml$/, '.json')));

    test('every file is read: a statement list or an IntegrationError naming the file', () => {
      for (const f of files) {
        let result: Statement[] | IntegrationError;
        try {
          result = parseCamt(read(f), name(f));
        } catch (err) {
          expect(err).toBeInstanceOf(IntegrationError);
          result = err as IntegrationError;
        }
        if (result instanceof IntegrationError) expect(result.message).toContain(name(f));
        else expect(result.length).toBeGreaterThan(0);
      }
    });

    test.each(withReading.map((f) => [name(f), f]))(
      '%s: normalised entries agree with the expected reading',
      (_n, f) => {
        const xml = read(f);
        const theirs = normaliseGenkgo(JSON.parse(read(f.replace(/\.xml$/, '.json'))));
        // Look at the content even where strict import refuses the file (the test files' balances are invented).
        // genkgo's serialised Message lists the entries of the statements it could expand; compare those.
        if (theirs.entries.some((t) => !t.bookingDate && !t.valueDate)) {
          // Our model needs a date per entry: an entry with neither BookgDt nor ValDt is refused by name.
          expect(() => parseCamt(xml, name(f), { strict: false })).toThrow(/entry \d+: no booking date/);
          return;
        }
        const listed = new Set(theirs.entries.map((t) => t.statementId));
        const ours = normaliseOurs(parseCamt(xml, name(f), { strict: false })).filter((o) => listed.has(o.statementId));
        expect(ours).toHaveLength(theirs.entries.length);
        ours.forEach((o, i) => {
          const t = theirs.entries[i]!;
          const usesDtTm = /<(BookgDt|ValDt)>\s*<DtTm>/.test(xml);
          expect({
            ...o,
            bookingDate: usesDtTm ? t.bookingDate : o.bookingDate,
            valueDate: usesDtTm ? t.valueDate : o.valueDate,
          }).toEqual(t.bookingDate === undefined ? { ...t, bookingDate: o.bookingDate } : t);
        });
      },
    );

    test.each(withReading.map((f) => [name(f), f]))(
      '%s: strict import accepts it exactly when its balances bridge',
      (_n, f) => {
        const { bridges } = normaliseGenkgo(JSON.parse(read(f.replace(/\.xml$/, '.json'))));
        for (const [id, ok] of bridges) {
          let error: Error | undefined;
          try {
            const statements = parseCamt(read(f), name(f));
            for (const s of statements.filter((x) => x.openingBalance && x.closingBalance)) {
              const sum = s.entries.reduce((a, e) => a + e.amountMinor, s.openingBalance!.amountMinor);
              expect(sum).toBe(s.closingBalance!.amountMinor);
            }
          } catch (err) {
            error = err as Error;
          }
          if (ok) expect(error).toBeUndefined();
          else {
            expect(error).toBeInstanceOf(IntegrationError);
            expect(error!.message).toContain(id);
          }
        }
      },
    );

    test('five decimals with trailing zeros are read exactly (18.150 EUR is 1815 cents)', () => {
      const f = files.find((x) => x.endsWith('camt053.v2.five.decimals.xml'));
      if (!f) return;
      const [s] = parseCamt(read(f), name(f), { strict: false });
      expect(s!.openingBalance).toEqual({ amountMinor: 1815, date: '2014-12-30' });
      expect(s!.entries[0]!.amountMinor).toBe(885);
    });

    test('the broken file (no statement) gives a clear error', () => {
      const f = files.find((x) => x.endsWith('camt053.v2.wrong.xml'));
      if (!f) return;
      expect(() => parseCamt(read(f), name(f))).toThrow(/camt053\.v2\.wrong\.xml: no camt statement found/);
    });
  });
}

/** A camt.053.001.08 statement of our own: one SEPA credit with an RF reference, one returned direct debit. */
const OWN_CAMT053 = `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>CH-TEST-1</MsgId><CreDtTm>2025-03-04T06:00:00+01:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>CH-STMT-2025-03-03</Id>
   <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-03-02</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1119.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-03-03</Dt></Dt></Bal>
   <Ntry>
    <Amt Ccy="EUR">238.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2025-03-03</Dt></BookgDt><ValDt><DtTm>2025-03-03T10:15:00+01:00</DtTm></ValDt>
    <AcctSvcrRef>2025030300017</AcctSvcrRef>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>INV-4711</EndToEndId></Refs>
     <RltdPties><Dbtr><Pty><Nm>Müller &amp; Söhne GmbH</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties>
     <RltdAgts><DbtrAgt><FinInstnId><BICFI>BYLADEM1001</BICFI></FinInstnId></DbtrAgt></RltdAgts>
     <RmtInf><Ustrd>Rechnung 4711</Ustrd><Ustrd>und 4712</Ustrd><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">118.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2025-03-03</Dt></BookgDt><ValDt><Dt>2025-03-03</Dt></ValDt>
    <AcctSvcrRef>2025030300018</AcctSvcrRef>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>DD-2025-02-0815</EndToEndId><MndtId>CH-MANDATE-42</MndtId></Refs>
     <RltdPties><Dbtr><Pty><Nm>Erika Mustermann</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>DE75512108001245126199</IBAN></Id></DbtrAcct></RltdPties>
     <RltdAgts><DbtrAgt><FinInstnId><BICFI>SOGEDEFFXXX</BICFI></FinInstnId></DbtrAgt></RltdAgts>
     <RmtInf><Ustrd>Lastschrift Rechnung 4650</Ustrd></RmtInf>
     <RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf>
    </TxDtls></NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
`;

describe('a camt.053 of our own', () => {
  test('reads balances, a credit with an RF reference and a returned direct debit', () => {
    const [s, ...rest] = parseCamt(OWN_CAMT053, 'own.xml');
    expect(rest).toHaveLength(0);
    expect(s).toMatchObject({
      id: 'CH-STMT-2025-03-03',
      account: 'DE89370400440532013000',
      currency: 'EUR',
      openingBalance: { amountMinor: 100000, date: '2025-03-02' },
      closingBalance: { amountMinor: 111950, date: '2025-03-03' },
    });
    expect(s!.entries).toEqual([
      {
        amountMinor: 23800,
        bookingDate: '2025-03-03',
        valueDate: '2025-03-03',
        reference: '2025030300017',
        endToEndId: 'INV-4711',
        creditorReference: 'RF18539007547034',
        remittance: 'Rechnung 4711 und 4712',
        counterparty: { name: 'Müller & Söhne GmbH', iban: 'DE02120300000000202051', bic: 'BYLADEM1001' },
      },
      {
        amountMinor: -11850,
        bookingDate: '2025-03-03',
        valueDate: '2025-03-03',
        reference: '2025030300018',
        endToEndId: 'DD-2025-02-0815',
        mandateId: 'CH-MANDATE-42',
        remittance: 'Lastschrift Rechnung 4650',
        returnReason: 'AC04',
      },
    ]);
  });

  test('an ISO-8859-1 file (as its XML declaration says) keeps its umlauts', () => {
    const latin1 = Buffer.from(OWN_CAMT053.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"'), 'latin1');
    expect(latin1.includes(Buffer.from('Müller', 'utf8'))).toBe(false); // one byte per umlaut: not UTF-8
    const { statements } = readStatements(latin1, 'latin1.xml');
    expect(statements[0]!.entries[0]!.counterparty?.name).toBe('Müller & Söhne GmbH');
  });

  test('a statement whose entries do not bridge is refused, naming the statement', () => {
    const broken = OWN_CAMT053.replace('1119.50', '1119.51');
    expect(() => parseCamt(broken, 'own.xml')).toThrow(IntegrationError);
    expect(() => parseCamt(broken, 'own.xml')).toThrow(/own\.xml: statement CH-STMT-2025-03-03: entries do not bridge/);
  });

  test('more decimals than EUR has are refused unless they are zeros', () => {
    expect(parseCamt(OWN_CAMT053.replace('238.00', '238.000'), 'own.xml')[0]!.entries[0]!.amountMinor).toBe(23800);
    expect(() => parseCamt(OWN_CAMT053.replace('238.00', '238.005'), 'own.xml')).toThrow(/more decimals than EUR/);
  });

  test('malformed XML names the file', () => {
    expect(() => parseCamt(OWN_CAMT053.replace('</Stmt>', ''), 'own.xml')).toThrow(/own\.xml: not well-formed XML/);
  });
});
