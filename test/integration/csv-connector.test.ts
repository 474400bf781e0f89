import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { type CsvConnector, createCsvConnector } from '../../connectors/csv/connector';
import { outboxFileName, scrub } from '../../connectors/csv/transformers';
import { IntegrationError } from '../../src/domain/errors';
import type { WriteBackCommand } from '../../src/domain/write-back';
import { compileMapping, loadMappingFile } from '../../src/mapping';
import type { RawBatch, RawRecord } from '../../src/sync/connector';

let root: string;
let inbound: string;
let outbound: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'clearhub-csv-'));
  inbound = join(root, 'in');
  outbound = join(root, 'out');
  mkdirSync(inbound);
  mkdirSync(outbound);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function connector(options: Record<string, unknown> = {}): CsvConnector {
  return createCsvConnector({ kind: 'csv', inbound, outbound, ...options });
}

async function pullAll(c: CsvConnector, since?: string): Promise<RawBatch[]> {
  const batches: RawBatch[] = [];
  for await (const b of c.pull({ since, signal: new AbortController().signal })) batches.push(b);
  return batches;
}

function records(batches: RawBatch[]): RawRecord[] {
  return batches.flatMap((b) => b.records);
}

describe('CSV connector pull', () => {
  it('reads a CRLF file with BOM, counting physical lines (header is line 1)', async () => {
    const text = [
      'id,name,amount', // 1
      '1,"Müller, Anna",10.00', // 2
      '', // 3
      '2,"two', // 4
      'lines",20.00', // 5
      '   ', // 6: white space only
      '3,"say ""hi""",30.00', // 7
    ].join('\r\n');
    writeFileSync(join(inbound, 'items.csv'), `\uFEFF${text}\r\n`);
    const recs = records(await pullAll(connector()));
    expect(recs).toEqual([
      { record: { id: '1', name: 'Müller, Anna', amount: '10.00' }, file: 'items.csv', line: 2 },
      { record: { id: '2', name: 'two\r\nlines', amount: '20.00' }, file: 'items.csv', line: 4 },
      { record: { id: '3', name: 'say "hi"', amount: '30.00' }, file: 'items.csv', line: 7 },
    ]);
  });

  it('reads LF files and a last line without line break', async () => {
    writeFileSync(join(inbound, 'a.csv'), 'id,name\n1,a\n\n\n2,b');
    expect(records(await pullAll(connector())).map((r) => [r.record.id, r.line])).toEqual([
      ['1', 2],
      ['2', 5],
    ]);
  });

  it('reads latin1 files with another delimiter', async () => {
    writeFileSync(join(inbound, 'legacy.csv'), Buffer.from('kdnr;name;betrag\r\n4711;Jörg Weiß;12,50\r\n', 'latin1'));
    const recs = records(await pullAll(connector({ encoding: 'latin1', delimiter: ';' })));
    expect(recs).toEqual([
      { record: { kdnr: '4711', name: 'Jörg Weiß', betrag: '12,50' }, file: 'legacy.csv', line: 2 },
    ]);
  });

  it('reports a row with the wrong field count with its line and reads on', async () => {
    writeFileSync(join(inbound, 'a.csv'), 'id,name,amount\r\n1,a,1.00\r\n2,b\r\n3,c,3.00,extra\r\n4,d,4.00\r\n');
    const recs = records(await pullAll(connector()));
    expect(recs).toEqual([
      { record: { id: '1', name: 'a', amount: '1.00' }, file: 'a.csv', line: 2 },
      { record: { id: '2', name: 'b' }, file: 'a.csv', line: 3, error: 'expected 3 fields as in the header, found 2' },
      {
        record: { id: '3', name: 'c', amount: '3.00', '#4': 'extra' },
        file: 'a.csv',
        line: 4,
        error: 'expected 3 fields as in the header, found 4',
      },
      { record: { id: '4', name: 'd', amount: '4.00' }, file: 'a.csv', line: 5 },
    ]);
  });

  it('reports an unclosed quote at the line it starts on', async () => {
    writeFileSync(join(inbound, 'a.csv'), 'id,name\n1,a\n2,"open\n3,c\n');
    const recs = records(await pullAll(connector()));
    expect(recs.map((r) => [r.line, r.error])).toEqual([
      [2, undefined],
      [3, 'a quoted field is not closed; the rest of the file from here could not be read'],
    ]);
  });

  it('reports a file with an unusable header once and goes on with the next file', async () => {
    writeFileSync(join(inbound, 'a.csv'), 'id,name,id\n1,a,1\n');
    writeFileSync(join(inbound, 'b.csv'), 'id\n7\n');
    const recs = records(await pullAll(connector()));
    expect(recs).toEqual([
      { record: {}, file: 'a.csv', line: 1, error: 'header: column "id" appears twice; the file was not read' },
      { record: { id: '7' }, file: 'b.csv', line: 2 },
    ]);
  });

  it('keeps line numbers right across read chunks and multi-byte characters', async () => {
    const rows = ['id,text'];
    for (let i = 0; i < 30_000; i++) rows.push(i % 1000 === 0 ? `${i},"ä\r\nö"` : `${i},€ ${'x'.repeat(i % 13)}`);
    writeFileSync(join(inbound, 'big.csv'), `\uFEFF${rows.join('\r\n')}\r\n`);
    const recs = records(await pullAll(connector({ batchSize: 5000 })));
    expect(recs).toHaveLength(30_000);
    const expected: string[] = [];
    let line = 2;
    for (let i = 0; i < 30_000; i++) {
      expected.push(`${i}@${line}:${i % 1000 === 0 ? 'ä\r\nö' : `€ ${'x'.repeat(i % 13)}`}`);
      line += i % 1000 === 0 ? 2 : 1;
    }
    expect(recs.map((r) => `${r.record.id}@${r.line}:${r.record.text}`)).toEqual(expected);
  });

  it('reads matching files in name order, ignoring other and hidden files', async () => {
    for (const name of ['b.csv', 'a.CSV', 'c.txt', '.d.csv', 'a.csv.part'])
      writeFileSync(join(inbound, name), 'id\n1\n');
    mkdirSync(join(inbound, 'sub.csv'));
    expect([...new Set(records(await pullAll(connector())).map((r) => r.file))]).toEqual(['a.CSV', 'b.csv']);
    writeFileSync(join(inbound, 'export-2024.csv'), 'id\n1\n');
    const globbed = records(await pullAll(connector({ pattern: 'export-*.csv' })));
    expect(globbed.map((r) => r.file)).toEqual(['export-2024.csv']);
  });

  it('cuts batches of batchSize with checkpoints, and resumes after the last stored batch', async () => {
    writeFileSync(join(inbound, 'a.csv'), 'id\n1\n2\n3\n');
    writeFileSync(join(inbound, 'b.csv'), 'id\n4\n5\n');
    const c = connector({ batchSize: 2 });
    const batches = await pullAll(c);
    expect(batches.map((b) => b.records.map((r) => r.record.id))).toEqual([['1', '2'], ['3', '4'], ['5']]);

    // Crash after the first batch was stored: the next pull starts after it.
    const resumed = await pullAll(c, batches[0]!.checkpoint);
    expect(records(resumed).map((r) => r.record.id)).toEqual(['3', '4', '5']);

    // After a complete pull nothing unchanged is read again...
    const last = batches[batches.length - 1]!.checkpoint;
    const again = await pullAll(c, last);
    expect(records(again)).toEqual([]);
    // ...but a changed file is read in full, and without `since` everything is read.
    writeFileSync(join(inbound, 'b.csv'), 'id\n4\n5\n6\n');
    expect(records(await pullAll(c, last)).map((r) => r.record.id)).toEqual(['4', '5', '6']);
    expect(records(await pullAll(c)).map((r) => r.record.id)).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('sees a rewrite with the same size through the modification time', async () => {
    const file = join(inbound, 'a.csv');
    writeFileSync(file, 'id\n1\n');
    utimesSync(file, new Date('2024-01-01T00:00:00Z'), new Date('2024-01-01T00:00:00Z'));
    const c = connector();
    const cp = (await pullAll(c)).pop()!.checkpoint;
    writeFileSync(file, 'id\n2\n');
    utimesSync(file, new Date('2024-01-01T00:00:01Z'), new Date('2024-01-01T00:00:01Z'));
    expect(records(await pullAll(c, cp)).map((r) => r.record.id)).toEqual(['2']);
  });

  it('reads everything again when the checkpoint is not one of its own', async () => {
    writeFileSync(join(inbound, 'a.csv'), 'id\n1\n');
    expect(records(await pullAll(connector(), '$skip=500'))).toHaveLength(1);
  });

  it('stops when the signal aborts', async () => {
    const rows = ['id'];
    for (let i = 0; i < 10_000; i++) rows.push(String(i));
    writeFileSync(join(inbound, 'a.csv'), rows.join('\n'));
    const ac = new AbortController();
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const b of connector({ batchSize: 100 }).pull({ signal: ac.signal })) {
          seen.push(b.records.length);
          if (seen.length === 2) ac.abort(new Error('stop'));
        }
      })(),
    ).rejects.toThrow('stop');
    expect(seen).toEqual([100, 100]);
  });

  it('fails with an IntegrationError when inbound does not exist', async () => {
    rmSync(inbound, { recursive: true });
    await expect(pullAll(connector())).rejects.toThrow(IntegrationError);
  });

  it('feeds the generic CSV mapping', async () => {
    const header =
      'customer_no,customer_name,customer_type,email,phone,language,country,document_no,contract_no,document_date,due_date,currency,amount,open_amount,dunning_level,dunning_block';
    writeFileSync(
      join(inbound, 'billing.csv'),
      `${header}\r\nC1,Anna Beispiel,B2C,anna@example.com,,de,DE,INV-1,SIM-1,2024-01-01,2024-01-31,EUR,1190.00,,0,\r\nC2,Beta GmbH,B2B,,,,DE,INV-2,,2024-01-01,2024-02-30,EUR,10.00,,,\r\n`,
    );
    const map = compileMapping(loadMappingFile(join(__dirname, '../../mappings/csv-generic.v1.yaml')));
    const results = records(await pullAll(connector())).map((r) => map(r.record, { line: r.line }));
    expect(results[0]).toMatchObject({
      ok: true,
      item: { sourceKey: 'INV-1', amountMinor: 119000, dueDate: '2024-01-31' },
    });
    expect(results[1]).toEqual({
      ok: false,
      field: 'dueDate',
      line: 3,
      reason: 'dueDate: "2024-02-30" is not a date (expected YYYY-MM-DD)',
    });
  });
});

const PAYMENT: WriteBackCommand = {
  kind: 'payment',
  itemId: 'item-1',
  sourceKey: 'INV-1',
  externalId: 'C1',
  documentNumber: 'INV-1',
  paymentId: 'pay-9',
  amountMinor: 119000,
  currency: 'EUR',
  cleared: true,
  valueDate: '2024-03-01',
};

function readOutbox(name: string): Record<string, string>[] {
  return parse(readFileSync(join(outbound, name)), { columns: true }) as Record<string, string>[];
}

describe('CSV connector writeBack', () => {
  it('writes one confirmation file with header and one row', async () => {
    const r = await connector().writeBack(PAYMENT, { idempotencyKey: 'outbox:42' });
    expect(r).toEqual({ status: 'delivered', sourceReference: 'outbox-outbox_3a42.csv' });
    expect(readdirSync(outbound)).toEqual(['outbox-outbox_3a42.csv']);
    expect(readFileSync(join(outbound, 'outbox-outbox_3a42.csv'), 'utf8')).toBe(
      'kind,idempotency_key,source_key,document_no,customer_no,payment_id,amount,currency,value_date,cleared,dunning_level,notice_id,reason\r\n' +
        'payment,outbox:42,INV-1,INV-1,C1,pay-9,1190.00,EUR,2024-03-01,X,,,\r\n',
    );
  });

  it('is idempotent under concurrent calls with one key: exactly one file, one delivery', async () => {
    const c = connector();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? connector() : c).writeBack({ ...PAYMENT, amountMinor: 100 + i }, { idempotencyKey: 'outbox:7' }),
      ),
    );
    expect(results.filter((r) => r.status === 'delivered')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'duplicate')).toHaveLength(49);
    expect(readdirSync(outbound)).toEqual(['outbox-outbox_3a7.csv']);
    expect(readOutbox('outbox-outbox_3a7.csv')).toHaveLength(1);
    // A later retry does not rewrite it either.
    const before = readFileSync(join(outbound, 'outbox-outbox_3a7.csv'));
    expect(await c.writeBack({ ...PAYMENT, amountMinor: 1 }, { idempotencyKey: 'outbox:7' })).toMatchObject({
      status: 'duplicate',
    });
    expect(readFileSync(join(outbound, 'outbox-outbox_3a7.csv'))).toEqual(before);
  });

  it('writes one file per key, and keys that look alike stay apart', async () => {
    const c = connector();
    const keys = ['outbox:1', 'outbox_1', 'outbox/1', 'OUTBOX:1', '../../etc/passwd'];
    for (const k of keys) expect((await c.writeBack(PAYMENT, { idempotencyKey: k })).status).toBe('delivered');
    const files = readdirSync(outbound).sort();
    expect(files).toHaveLength(keys.length);
    expect(files.every((f) => /^outbox-[a-z0-9._-]+\.csv$/.test(f))).toBe(true);
    expect(new Set(keys.map(outboxFileName)).size).toBe(keys.length);
    expect(readOutbox(outboxFileName('../../etc/passwd'))[0]!.idempotency_key).toBe('../../etc/passwd');
  });

  it('writes reversals and dunning levels, quoting what needs it', async () => {
    const c = connector({ delimiter: ';' });
    await c.writeBack(
      {
        kind: 'reversal',
        itemId: 'i',
        sourceKey: 'K',
        externalId: 'C1',
        documentNumber: 'D;1',
        paymentId: 'p',
        amountMinor: -5,
        currency: 'JPY',
        reason: 'SEPA "MD06"',
      },
      { idempotencyKey: 'r1' },
    );
    await c.writeBack(
      {
        kind: 'dunning_level',
        itemId: 'i',
        sourceKey: 'K',
        externalId: 'C1',
        documentNumber: 'D2',
        level: 2,
        noticeId: 'n-1',
        dunnedOn: '2024-04-02',
      },
      { idempotencyKey: 'd1' },
    );
    const rev = parse(readFileSync(join(outbound, 'outbox-r1.csv')), { columns: true, delimiter: ';' })[0];
    expect(rev).toMatchObject({
      kind: 'reversal',
      document_no: 'D;1',
      amount: '-5',
      currency: 'JPY',
      reason: 'SEPA "MD06"',
    });
    const dun = parse(readFileSync(join(outbound, 'outbox-d1.csv')), { columns: true, delimiter: ';' })[0];
    expect(dun).toMatchObject({
      kind: 'dunning_level',
      dunning_level: '2',
      notice_id: 'n-1',
      value_date: '2024-04-02',
      amount: '',
    });
  });

  it('refuses commands it cannot express, leaving nothing behind', async () => {
    const c = connector();
    await expect(c.writeBack({ ...PAYMENT, currency: 'XXX' }, { idempotencyKey: 'k1' })).rejects.toThrow(
      IntegrationError,
    );
    await expect(c.writeBack({ ...PAYMENT, amountMinor: 1.5 }, { idempotencyKey: 'k2' })).rejects.toThrow(
      IntegrationError,
    );
    await expect(c.writeBack(PAYMENT, { idempotencyKey: '' })).rejects.toThrow(IntegrationError);
    expect(readdirSync(outbound)).toEqual([]);
  });
});

describe('CSV connector check and config', () => {
  it('reports readable inbound and writable outbound with counts', async () => {
    writeFileSync(join(inbound, 'a.csv'), 'id\n1\n');
    const c = connector();
    await c.writeBack(PAYMENT, { idempotencyKey: 'x' });
    const report = await c.check();
    expect(report.ok).toBe(true);
    expect(report.checks.map((k) => [k.name, k.ok])).toEqual([
      ['inbound', true],
      ['outbound', true],
    ]);
    expect(report.checks[0]!.detail).toContain('1 file(s)');
    expect(report.checks[1]!.detail).toContain('1 confirmation file(s)');
  });

  it('reports what is missing', async () => {
    rmSync(outbound, { recursive: true });
    const report = await connector().check();
    expect(report.ok).toBe(false);
    expect(report.checks[1]).toMatchObject({ name: 'outbound', ok: false });
    expect(report.checks[1]!.detail).toContain('does not exist');
  });

  it('validates its options', () => {
    expect(() => createCsvConnector({ inbound, outbound: inbound })).toThrow('outbound: must differ from inbound');
    expect(() => createCsvConnector({ inbound, outbound, delimiter: ';;' })).toThrow(IntegrationError);
    expect(() => createCsvConnector({ inbound, outbound, encodng: 'latin1' })).toThrow(IntegrationError);
    expect(createCsvConnector({ inbound: 'in', outbound: 'out' }, root).config).toMatchObject({
      kind: 'csv',
      inbound,
      outbound,
      delimiter: ',',
      encoding: 'utf8',
      pattern: '.csv',
      batchSize: 5000,
    });
  });

  it('scrubs IBANs, card numbers and e-mail addresses', () => {
    expect(scrub('C1;DE89 3704 0044 0532 0130 00;4111 1111 1111 1111;anna@example.com;1190.00')).toBe(
      'C1;[IBAN];[CARD];[EMAIL];1190.00',
    );
  });
});
