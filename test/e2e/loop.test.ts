import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { type SmtpSink, startSmtpSink } from '../../src/channels/smtp-sink';
import { recordPayment } from '../../src/gateway/payments';
import { countOutbox } from '../../src/routing/outbox';
import { relayAll, startWriteBackWorker } from '../../src/routing/relay';
import { Runtime } from '../../src/runtime';
import { listQuarantine } from '../../src/sync/sync';
import { freshPostgres } from '../helpers/stores';
import { HEADER, makeHome } from '../helpers/tenant';

const AS_OF = '2026-11-20';

/** Three customers: Anna owes three invoices, Ben one, Clara's only invoice is not due yet. Plus four broken rows. */
const CSV = [
  HEADER,
  'C100,Anna Müller,B2C,anna@example.org,,de,DE,INV-1,SIM-1,2026-09-01,2026-10-01,EUR,119.00,119.00,0,',
  'C100,Anna Müller,B2C,anna@example.org,,de,DE,INV-2,SIM-1,2026-10-01,2026-11-01,EUR,59.90,59.90,0,',
  'C100,Anna Müller,B2C,anna@example.org,,de,DE,INV-3,SIM-2,2026-10-15,2026-11-10,EUR,20.00,20.00,0,',
  'C200,Ben Weber,B2C,ben@example.org,,en,DE,INV-4,SIM-3,2026-10-01,2026-11-01,EUR,45.50,45.50,0,',
  'C300,Clara Koch,B2C,clara@example.org,,de,DE,INV-5,SIM-4,2026-11-01,2026-12-01,EUR,30.00,30.00,0,',
  'C400,Bad Date,B2C,x@example.org,,de,DE,INV-6,SIM-5,2026-10-01,2026-13-01,EUR,10.00,10.00,0,',
  'C400,Bad Amount,B2C,x@example.org,,de,DE,INV-7,SIM-5,2026-10-01,2026-11-01,EUR,12.3.4,12.3.4,0,',
  'C400,No Key,B2C,x@example.org,,de,DE,,SIM-5,2026-10-01,2026-11-01,EUR,10.00,10.00,0,',
  'C400,Odd Currency,B2C,x@example.org,,de,DE,INV-8,SIM-5,2026-10-01,2026-11-01,EUX,10.00,10.00,0,',
].join('\n');

describe.each([
  { name: 'embedded (PGlite, in-process queue)', pg: false, redis: false },
  { name: 'PostgreSQL + Redis (BullMQ)', pg: true, redis: true },
])('the loop on $name', ({ pg, redis }) => {
  let sink: SmtpSink;
  let rt: Runtime;
  let env: ReturnType<typeof makeHome>;
  let drop: (() => Promise<void>) | undefined;
  const mailDir = mkdtempSync(join(tmpdir(), 'clearhub-mail-'));

  beforeAll(async () => {
    sink = await startSmtpSink({ dir: mailDir });
    env = makeHome({ smtpPort: sink.port });
    writeFileSync(join(env.inbound, 'export-1.csv'), CSV);
    let databaseUrl = `pglite:${join(env.home, 'db')}`;
    if (pg) {
      const db = await freshPostgres();
      databaseUrl = db.url;
      drop = db.drop;
    }
    rt = await Runtime.open({
      home: env.home,
      databaseUrl,
      redisUrl: redis ? 'redis://127.0.0.1:6379' : '',
      queuePrefix: `clearhub-test-${Math.random().toString(36).slice(2)}`,
    });
  });
  afterAll(async () => {
    await rt?.close();
    await sink?.close();
    await drop?.();
  });

  test('sync imports the good rows and quarantines each bad one with its line and reason', async () => {
    const res = await rt.sync(env.tenant);
    expect(res.billing).toMatchObject({ records: 9, inserted: 5, quarantined: 4 });
    const q = await listQuarantine(rt.store, env.tenant);
    const byLine = Object.fromEntries(q.map((r) => [r.line, r]));
    expect(
      Object.keys(byLine)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual([7, 8, 9, 10]);
    expect(byLine[7]!.reason).toMatch(/2026-13-01/);
    expect(byLine[8]!.reason).toMatch(/12\.3\.4/);
    expect(byLine[9]!.reason).toMatch(/document_no|sourceKey|key/i);
    expect(byLine[10]!.reason).toMatch(/EUX/);
    expect(q.every((r) => r.file?.endsWith('export-1.csv'))).toBe(true);
  });

  test('a second sync of the same file changes nothing', async () => {
    const before = await rt.store.db
      .selectFrom('items')
      .select(['item_id', 'version', 'updated_at'])
      .orderBy('item_id')
      .execute();
    const res = await rt.sync(env.tenant);
    expect(res.billing).toMatchObject({ inserted: 0, updated: 0, quarantined: 0 });
    const after = await rt.store.db
      .selectFrom('items')
      .select(['item_id', 'version', 'updated_at'])
      .orderBy('item_id')
      .execute();
    expect(after).toEqual(before);
    expect(await listQuarantine(rt.store, env.tenant)).toHaveLength(4);
  });

  test('the dunning run sends one e-mail per debtor listing all their due items, and a re-run sends nothing', async () => {
    const run = await rt.dunningRun({ tenantId: env.tenant, asOf: AS_OF, send: true });
    expect(run.created.noticesCreated).toBe(2); // Anna and Ben; Clara is not due
    expect(run.sent).toMatchObject({ sent: 2, failed: 0 });
    const files = readdirSync(mailDir).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(2);
    const mails = await Promise.all(files.map(async (f) => simpleParser(readFileSync(join(mailDir, f)))));
    const anna = mails.find((m) => (m.to as { text: string }).text.includes('anna@example.org'))!;
    expect(anna.text).toContain('INV-1');
    expect(anna.text).toContain('INV-2');
    expect(anna.text).toContain('INV-3');
    expect(anna.text).toMatch(/198,90/); // 119.00 + 59.90 + 20.00, in German notation
    const ben = mails.find((m) => (m.to as { text: string }).text.includes('ben@example.org'))!;
    expect(ben.text).toContain('INV-4');
    expect(ben.text).toMatch(/45\.50/); // English notation for an English-speaking debtor

    const again = await rt.dunningRun({ tenantId: env.tenant, asOf: AS_OF, send: true });
    expect(again.created.noticesCreated).toBe(0);
    expect(readdirSync(mailDir).filter((f) => f.endsWith('.eml'))).toHaveLength(2);
  });

  test('a counter payment is allocated oldest first and each touched item gets exactly one confirmation in the source', async () => {
    const anna = await rt.store.db
      .selectFrom('debtor_links')
      .select('debtor_id')
      .where('external_id', '=', 'C100')
      .executeTakeFirstOrThrow();
    // Drain the dunning-level write-backs first, so only the payment's write-backs are counted below.
    const consumer = await startWriteBackWorker(rt.store, rt.queue, rt.resolveTarget, { concurrency: 2 });
    const deliverAll = async () => {
      await relayAll(rt.store, rt.queue, rt.retryPolicy(rt.tenant(env.tenant)));
      for (let i = 0; i < 400; i++) {
        const c = await countOutbox(rt.store.db, env.tenant);
        if (c.pending === 0 && c.enqueued === 0) return c;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('write-backs not delivered in time');
    };
    await deliverAll();
    const before = new Set(readdirSync(env.outbound));

    const res = await recordPayment(rt.store, {
      tenantId: env.tenant,
      idempotencyKey: 'till-7-receipt-1',
      debtorId: anna.debtor_id,
      amountMinor: 150_00,
      currency: 'EUR',
      method: 'cash',
    });
    expect(res.allocations.map((a) => [a.documentNumber, a.amountMinor, a.cleared])).toEqual([
      ['INV-1', 119_00, true],
      ['INV-2', 31_00, false],
    ]);
    const replay = await recordPayment(rt.store, {
      tenantId: env.tenant,
      idempotencyKey: 'till-7-receipt-1',
      debtorId: anna.debtor_id,
      amountMinor: 150_00,
      currency: 'EUR',
      method: 'cash',
    });
    expect(replay.replayed).toBe(true);
    await expect(
      recordPayment(rt.store, {
        tenantId: env.tenant,
        idempotencyKey: 'till-7-receipt-1',
        debtorId: anna.debtor_id,
        amountMinor: 151_00,
        currency: 'EUR',
        method: 'cash',
      }),
    ).rejects.toThrow(/different payment/);

    const counts = await deliverAll();
    await consumer.close();
    expect(counts.dead).toBe(0);
    const fresh = readdirSync(env.outbound).filter((f) => !before.has(f));
    expect(fresh).toHaveLength(2);
    const bodies = fresh.map((f) => readFileSync(join(env.outbound, f), 'utf8')).join('\n');
    expect(bodies).toMatch(/INV-1/);
    expect(bodies).toMatch(/119\.00/);
    expect(bodies).toMatch(/INV-2/);
    expect(bodies).toMatch(/31\.00/);

    const inv2 = await rt.store.db
      .selectFrom('items')
      .selectAll()
      .where('source_key', '=', 'INV-2')
      .executeTakeFirstOrThrow();
    expect(inv2.open_minor).toBe(28_90);
    expect(inv2.status).toBe('open');
  });

  test('doctor finds the SMTP server answering and every enabled source reachable', async () => {
    const rows = await rt.doctor();
    expect(rows.find((r) => r.source === 'channel:email')).toMatchObject({
      check: 'smtp',
      ok: 'ok',
      detail: `127.0.0.1:${sink.port} answered`,
    });
    expect(rows.filter((r) => r.ok === 'FAIL')).toEqual([]);
  });
});
