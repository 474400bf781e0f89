import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BIN = resolve(__dirname, '../../bin/clearhub.js');
const CONTRACTS = process.env.CLEARHUB_CONTRACTS ?? resolve(__dirname, '../../../shared/contracts');
const MULTI = join(CONTRACTS, 'banking/camt/genkgo-camt/camt053/camt053.v2.multi.statement.xml');
const WRONG = join(CONTRACTS, 'banking/camt/genkgo-camt/camt053/camt053.v2.wrong.xml');

function clearhub(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const OWN = `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>CLI-1</MsgId><CreDtTm>2025-03-04T06:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>CLI-STMT-1</Id>
   <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
   <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Dt><Dt>2025-03-02</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">109.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-03-03</Dt></Dt></Bal>
   <Ntry>
    <Amt Ccy="EUR">119.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2025-03-03</Dt></BookgDt><ValDt><Dt>2025-03-04</Dt></ValDt><AcctSvcrRef>BANK-REF-1</AcctSvcrRef>
    <NtryDtls><TxDtls>
     <RltdPties><Dbtr><Nm>Beispiel AG</Nm></Dbtr><DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties>
     <RltdAgts><DbtrAgt><FinInstnId><BIC>BYLADEM1001</BIC></FinInstnId></DbtrAgt></RltdAgts>
     <RmtInf><Ustrd>RE 2025-0042</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
`;

describe('clearhub statement parse', () => {
  const dir = mkdtempSync(join(tmpdir(), 'clearhub-stmt-'));

  test('prints our own camt.053 as signed minor units', () => {
    const file = join(dir, 'own.xml');
    writeFileSync(file, OWN);
    const r = clearhub('statement', 'parse', file, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      statements: [
        expect.objectContaining({
          account: 'DE89370400440532013000',
          currency: 'EUR',
          openingBalance: { amountMinor: -1000, date: '2025-03-02' },
          closingBalance: { amountMinor: 10900, date: '2025-03-03' },
          entries: [
            expect.objectContaining({
              amountMinor: 11900,
              bookingDate: '2025-03-03',
              valueDate: '2025-03-04',
              reference: 'BANK-REF-1',
              remittance: 'RE 2025-0042',
              counterparty: { name: 'Beispiel AG', iban: 'DE02120300000000202051', bic: 'BYLADEM1001' },
            }),
          ],
        }),
      ],
    });
  });

  test('refuses a statement that does not bridge, naming it', () => {
    const file = join(dir, 'unbalanced.xml');
    writeFileSync(file, OWN.replace('109.00', '110.00'));
    const r = clearhub('statement', 'parse', file, '--json');
    expect(r.code).not.toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/statement CLI-STMT-1: entries do not bridge/);
  });

  test('a missing file exits non-zero with its name', () => {
    const r = clearhub('statement', 'parse', join(dir, 'nope.xml'), '--json');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('nope.xml');
  });

  const contract = existsSync(MULTI) ? test : test.skip;
  contract('reads a contract file with two statements (skipped without ../shared/contracts)', () => {
    const r = clearhub('statement', 'parse', MULTI, '--json');
    expect(r.code).toBe(0);
    const { statements } = JSON.parse(r.out);
    expect(statements.map((s: { entries: { amountMinor: number }[] }) => s.entries[0]?.amountMinor)).toEqual([
      885, -700,
    ]);
  });

  contract('an unreadable contract file exits non-zero with a clear message', () => {
    const r = clearhub('statement', 'parse', WRONG, '--json');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/camt053\.v2\.wrong\.xml: no camt statement found/);
  });
});
