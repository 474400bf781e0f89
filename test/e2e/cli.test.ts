import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openStore } from '../../src/store/db';
import { HEADER } from '../helpers/tenant';

const BIN = resolve(__dirname, '../../bin/clearhub.js');

function clearhub(home: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--home', home, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', REDIS_URL: '' },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const json = (s: string) => JSON.parse(s.trim().split('\n').at(-1)!);

describe('the clearhub command on the embedded defaults', () => {
  const home = mkdtempSync(join(tmpdir(), 'clearhub-cli-'));
  const tenantFile = join(home, 'config', 'tenants', 'acme.yaml');
  const inbound = join(home, 'data', 'acme', 'billing', 'in');
  const outbound = join(home, 'data', 'acme', 'billing', 'out');

  test('init writes a complete tenant from the golden profile', () => {
    const r = clearhub(
      home,
      'init',
      '--profile',
      'telco-de',
      '--tenant',
      'acme',
      '--name',
      'ACME Mobile',
      '--country',
      'DE',
      '--currency',
      'EUR',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const text = readFileSync(tenantFile, 'utf8');
    expect(text).toMatch(/id: acme|id: 'acme'|id: "acme"/);
    expect(text).toContain('ACME Mobile');
    expect(clearhub(home, 'init', '--profile', 'telco-de', '--tenant', 'acme', '--name', 'X').code).not.toBe(0); // no silent overwrite
  });

  test('a usage mistake exits 2 with the usage on stderr, not 1 as a failed check does', () => {
    for (const args of [
      ['sync', '--bogus'],
      ['init', '--profile', 'telco-de'],
      ['outbox', 'list', '--status', 'lost'],
      ['frobnicate'],
    ]) {
      const r = clearhub(home, ...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^error: .*\n[\s\S]*Usage: clearhub/);
    }
    const help = clearhub(home, 'sync', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/Usage: clearhub sync/);
  });

  test('a mistake in the tenant YAML is reported with file, line, column and the allowed values', () => {
    const good = readFileSync(tenantFile, 'utf8');
    const lines = good.split('\n');
    const at = lines.findIndex((l) => /^\s+channel: email/.test(l));
    lines[at] = lines[at]!.replace('channel: email', 'channel: fax');
    writeFileSync(tenantFile, lines.join('\n'));
    const col = lines[at]!.indexOf('fax') + 1;
    const r = clearhub(home, 'sync');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(`acme.yaml:${at + 1}:${col}`);
    expect(r.err).toMatch(/email.*sms.*letter/);
    writeFileSync(tenantFile, good);
  });

  test('sync imports good rows, quarantines bad ones with their line, and a second sync changes nothing', () => {
    writeFileSync(
      join(inbound, 'export.csv'),
      [
        HEADER,
        'C1,Anna,B2C,anna@example.org,,de,DE,INV-1,SIM-1,2026-09-01,2026-10-01,EUR,119.00,119.00,0,',
        'C1,Anna,B2C,anna@example.org,,de,DE,INV-2,SIM-1,2026-09-01,2026-10-15,EUR,19.99,19.99,0,',
        'C2,Ben,B2B,ben@example.org,,en,DE,INV-3,SIM-2,2026-09-01,2026-10-20,EUR,300.00,300.00,0,',
        'C3,Broken,B2C,x@example.org,,de,DE,INV-4,SIM-3,2026-09-01,20.10.2026,EUR,10.00,10.00,0,',
        'C3,Broken,B2C,x@example.org,,de,DE,INV-5,SIM-3,2026-09-01,2026-10-20,EUR,ten,ten,0,',
      ].join('\r\n'),
    );
    const first = json(clearhub(home, 'sync', '--json').out);
    expect(first.billing).toMatchObject({ records: 5, inserted: 3, quarantined: 2 });
    const q = json(clearhub(home, 'quarantine', 'list', '--json').out) as { line: number; reason: string }[];
    expect(q.map((r) => r.line).sort()).toEqual([5, 6]);
    expect(q.find((r) => r.line === 5)!.reason).toContain('20.10.2026');
    expect(q.find((r) => r.line === 6)!.reason).toContain('ten');
    const second = json(clearhub(home, 'sync', '--json').out);
    expect(second.billing).toMatchObject({ records: 0, inserted: 0, updated: 0, quarantined: 0 }); // checkpoint: file unchanged
    const full = json(clearhub(home, 'sync', '--full', '--json').out);
    expect(full.billing).toMatchObject({ records: 5, inserted: 0, updated: 0, quarantined: 0, unchanged: 3 });
    expect(json(clearhub(home, 'quarantine', 'list', '--json').out)).toHaveLength(2);
  });

  test('a write-back that cannot be delivered waits as a dead letter and is delivered after replay', () => {
    const run = json(clearhub(home, 'dunning', 'run', '--as-of', '2026-11-01', '--no-send', '--json').out);
    expect(run.created.noticesCreated).toBe(2);
    // The source's outbound folder is gone and a file stands in its way: delivery cannot succeed.
    renameSync(outbound, `${outbound}.away`);
    writeFileSync(outbound, 'not a folder');
    const w1 = clearhub(home, 'worker', '--once');
    expect(w1.code).toBe(0);
    const dead = json(clearhub(home, 'outbox', 'list', '--status', 'dead', '--json').out) as {
      outboxId: string;
      lastError: string;
    }[];
    expect(dead).toHaveLength(3); // one dunning level per item
    expect(dead[0]!.lastError).toMatch(/not a directory/);

    rmSync(outbound);
    renameSync(`${outbound}.away`, outbound);
    expect(clearhub(home, 'outbox', 'replay', '--all').code).toBe(0);
    expect(clearhub(home, 'worker', '--once').code).toBe(0);
    expect(json(clearhub(home, 'outbox', 'list', '--status', 'dead', '--json').out)).toEqual([]);
    const files = readdirSync(outbound).map((f) => readFileSync(join(outbound, f), 'utf8'));
    expect(files).toHaveLength(3);
    expect(files.join('\n')).toMatch(/INV-1[\s\S]*|INV-2|INV-3/);
    for (const doc of ['INV-1', 'INV-2', 'INV-3']) expect(files.filter((f) => f.includes(`,${doc},`))).toHaveLength(1);
  });

  test('mapping test shows what each sample record becomes and why a record is rejected', () => {
    const sample = join(home, 'sample.csv');
    writeFileSync(
      sample,
      [
        HEADER,
        'C1,Anna,B2C,a@example.org,,de,DE,INV-9,S1,2026-09-01,2026-10-01,EUR,119.00,119.00,0,',
        'C2,Ben,B2B,b@example.org,,en,DE,INV-10,S2,2026-09-01,2026-02-30,EUR,10.00,10.00,0,',
      ].join('\n'),
    );
    const r = clearhub(home, 'mapping', 'test', 'mappings/csv-generic.v1.yaml', sample, '--json');
    expect(r.code).toBe(0);
    const out = json(r.out) as {
      position: number;
      result: { ok: boolean; reason?: string; item?: { amountMinor: number } };
    }[];
    expect(out[0]).toMatchObject({ position: 2, result: { ok: true, item: { amountMinor: 11900 } } });
    expect(out[1]!.position).toBe(3);
    expect(out[1]!.result.reason).toMatch(/2026-02-30/);
    const table = clearhub(home, 'mapping', 'test', 'mappings/csv-generic.v1.yaml', sample);
    expect(table.code).toBe(1); // a rejected record makes the command fail, for scripts
    expect(table.out).toMatch(/1 of 2 records map/);
  });

  test('a file given on the command line that is missing or a folder is a one-line error naming it, exit 2', () => {
    const missing = join(home, 'no-such.csv');
    const folder = join(home, 'data'); // a directory where a file is expected
    for (const [args, named] of [
      [['mapping', 'test', 'mappings/csv-generic.v1.yaml', missing], missing],
      [['mapping', 'test', folder, missing], folder],
      [['dunning', 'strategy', 'check', folder], folder],
      [['dunning', 'agency', 'import', missing, '--agency', 'inkasso-partner'], missing],
    ] as const) {
      const r = clearhub(home, ...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.err).toContain(`cannot read ${named}: `);
      expect(r.err.trim().split('\n')).toHaveLength(1); // no stack trace
    }
  });

  test('interest prints §288 BGB default interest with the periods and rates it used', () => {
    const r = clearhub(
      home,
      'interest',
      '--amount',
      '10000.00',
      '--currency',
      'EUR',
      '--from',
      '2024-05-15',
      '--to',
      '2025-02-10',
      '--consumer',
      '--json',
    );
    expect(r.code).toBe(0);
    const out = json(r.out);
    expect(out.interest).toEqual({ value: '614.60', currency: 'EUR', minor: 61460 }); // computed by hand in test/unit/interest.test.ts
    expect(out.periods.map((p: { rate: string; days: number }) => [p.rate, p.days])).toEqual([
      ['8.62', 47],
      ['8.37', 184],
      ['7.27', 41],
    ]);
    const interest = (amount: string, from: string) =>
      clearhub(home, 'interest', '--amount', amount, '--from', from, '--to', '2025-02-10', '--consumer');
    const bad = interest('10000.005', '2024-05-15');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--amount/);
    // A German "10.000" (ten thousand) is not taken as ten euros, and a day that does not exist is not the 1st of March.
    const grouped = interest('10.000', '2024-05-15');
    expect(grouped.code).toBe(2);
    expect(grouped.out).toBe('');
    expect(grouped.err).toMatch(/--amount: "10\.000" has more decimals than EUR allows \(2\): for 10000 write 10000/);
    const day = interest('100.00', '2024-02-30');
    expect(day.code).toBe(2);
    expect(day.out).toBe('');
    expect(day.err).toMatch(/from: "2024-02-30" is not a date/);
  });

  test('doctor checks every configured source and channel', () => {
    const r = clearhub(home, 'doctor', '--json');
    // The profile's SMTP server is a placeholder (smtp.example.com, password from SMTP_PASSWORD): doctor says so.
    expect(r.code).toBe(1);
    const rows = json(r.out) as { source: string; check: string; ok: string; detail: string }[];
    // The database first: here the embedded store, and the advice for production.
    expect(rows[0]).toMatchObject({ source: 'store', kind: 'pglite', check: 'server', ok: 'ok' });
    expect(rows[0]!.detail).toMatch(/set DATABASE_URL to a PostgreSQL server for production/);
    const smtp = rows.find((x) => x.source === 'channel:email')!;
    expect(smtp).toMatchObject({ check: 'smtp', ok: 'FAIL' });
    expect(smtp.detail).toMatch(/^smtp\.example\.com:587: .*(SMTP_PASSWORD|ENOTFOUND|EAI_AGAIN)/);
    expect(rows.filter((x) => x.ok === 'FAIL')).toEqual([smtp]);
    expect(rows.filter((x) => x.source === 'billing').map((x) => [x.check, x.ok])).toEqual([
      ['mapping', 'ok'],
      ['inbound', 'ok'],
      ['outbound', 'ok'],
    ]);
    expect(rows.find((x) => x.source === 'fica')!.ok).toBe('-');
    // The gateway is off until its variables are set, and doctor names the one that is missing.
    const gateway = rows.filter((x) => x.source.startsWith('gateway'));
    expect(gateway.length).toBeGreaterThan(0);
    expect(gateway.every((g) => g.ok === '-')).toBe(true);
    expect(gateway.map((g) => g.detail).join(' ')).toMatch(/CLEARHUB_PAYLINK_SECRET/);
  });

  test('demo runs the whole loop and reports what it did', () => {
    const dir = join(home, 'demo');
    mkdirSync(dir);
    const r = spawnSync(
      process.execPath,
      [BIN, 'demo', '--json', '--items', '1200', '--debtors', '240', '--dir', dir],
      {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', REDIS_URL: '' },
        timeout: 180_000,
      },
    );
    expect(r.status).toBe(0);
    const s = json(r.stdout);
    for (const k of ['items', 'debtors', 'quarantined', 'notices', 'payments', 'writeBacksDelivered', 'seconds'])
      expect(s[k]).toBeGreaterThan(0);
    expect(s.debtors).toBe(240);
    // About half the payers paid online by card; Stripe's signed webhooks about them were processed, none failed.
    expect(s.onlinePayments).toBeGreaterThan(0);
    expect(s.onlinePayments).toBeLessThan(s.payments);
    expect(s.webhookEvents).toBeGreaterThanOrEqual(s.onlinePayments);
    const failedHooks = spawnSync(
      process.execPath,
      [BIN, '--home', dir, 'webhooks', 'list', '--status', 'failed', '--json'],
      {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', REDIS_URL: '' },
      },
    );
    expect(json(failedHooks.stdout)).toEqual([]);
    const mails = readdirSync(join(dir, 'mail')).filter((f) => f.endsWith('.eml'));
    expect(mails).toHaveLength(s.emailsSent);
    // Each notice carries its debtor's signed pay link.
    expect(readFileSync(join(dir, 'mail', mails[0]!), 'utf8').replace(/=\r?\n/g, '')).toMatch(
      /\/pay\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/,
    );
    expect(readdirSync(join(dir, 'data', 'demo-telco', 'billing', 'out'))).toHaveLength(s.writeBacksDelivered);
    const q = spawnSync(process.execPath, [BIN, '--home', dir, 'quarantine', 'list', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', REDIS_URL: '' },
    });
    expect(json(q.stdout)).toHaveLength(s.quarantined); // the CLI sees the demo's database
    expect(s.deadLetters).toBe(0);
  });

  test('serve on a port that is taken is a one-line error naming --port, exit 2, not a crash', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const { port } = taken.address() as AddressInfo;
    try {
      const r = clearhub(home, 'serve', '--port', String(port));
      expect(r.code).toBe(2);
      expect(r.err).toBe(
        `clearhub: --port: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`,
      );
    } finally {
      taken.close();
    }
    const typo = clearhub(home, 'serve', '--port', '80800');
    expect(typo.code).toBe(2);
    expect(typo.err).toBe('clearhub: --port: "80800" is not a port (0–65535)\n');
  });

  test('demo --profile with a profile that has no simulators says so and exits 2 at once, starting nothing', () => {
    const dir = join(home, 'demo-ecommerce');
    const r = spawnSync(process.execPath, [BIN, 'demo', '--profile', 'ecommerce-de', '--dir', dir], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', REDIS_URL: '' },
      timeout: 30_000, // it used to leave its mail server listening and never exit
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('clearhub: --profile: only telco-de has simulated subledgers (got "ecommerce-de")\n');
    expect(existsSync(dir)).toBe(false);
  });

  test('a count that is not a whole number is refused naming its flag, before anything runs', () => {
    const dir = join(home, 'demo-abc');
    for (const [args, message] of [
      [['demo', '--items', 'abc', '--dir', dir], '--items: "abc" is not a whole number of at least 1'], // ran an empty demo, exit 0
      [['demo', '--debtors', '0', '--dir', dir], '--debtors: "0" is not a whole number of at least 1'],
      [['worker', '--poll-ms', 'soon'], '--poll-ms: "soon" is not a whole number of at least 1'], // polled without pause
      [['worker', '--once', '--concurrency', '2x'], '--concurrency: "2x" is not a whole number of at least 1'],
    ] as const) {
      const r = spawnSync(process.execPath, [BIN, '--home', home, ...args], {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', REDIS_URL: '' },
        timeout: 30_000,
      });
      expect({ args, status: r.status, err: r.stderr }).toEqual({ args, status: 2, err: `clearhub: ${message}\n` });
    }
    expect(existsSync(dir)).toBe(false);
  });

  test('demo --profile telco-de runs the loop over three simulated subledgers, one notice per debtor', async () => {
    const dir = join(home, 'demo-telco-de');
    mkdirSync(dir);
    const r = spawnSync(
      process.execPath,
      [BIN, 'demo', '--profile', 'telco-de', '--json', '--items', '600', '--debtors', '120', '--dir', dir],
      {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', REDIS_URL: '' },
        timeout: 180_000,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = json(r.stdout);
    for (const k of ['items', 'debtors', 'quarantined', 'notices', 'payments', 'writeBacksDelivered', 'seconds'])
      expect(s[k]).toBeGreaterThan(0);
    expect(s.deadLetters).toBe(0);
    for (const name of ['billing', 'fica', 'legacy-landline']) {
      expect(s.sources[name].items).toBeGreaterThan(0);
      expect(s.sources[name].writeBacks).toBeGreaterThan(0);
    }
    // What the simulated systems received is what Clearhub counts as delivered to them.
    expect(s.sources.fica.received).toBe(s.sources.fica.writeBacks);
    expect(s.sources['legacy-landline'].received).toBe(s.sources['legacy-landline'].writeBacks);
    expect(s.sources.billing.writeBacks + s.sources.fica.writeBacks + s.sources['legacy-landline'].writeBacks).toBe(
      s.writeBacksDelivered,
    );

    // The demo's database: the customers are one debtor each across the subledgers, and each got one notice.
    const store = await openStore(`pglite:${join(dir, '.clearhub', 'db')}`);
    try {
      const q = <T>(text: string) => store.rawTransaction(async (t) => (await t.query<T>(text)).rows);
      const [n] = await q<{ notices: number; debtors: number }>(
        'SELECT count(*)::int AS notices, count(DISTINCT debtor_id)::int AS debtors FROM notices',
      );
      expect(n!.notices).toBe(s.notices);
      expect(n!.debtors).toBe(n!.notices); // nobody got two notices
      expect((await q<{ n: number }>('SELECT count(*)::int AS n FROM debtors'))[0]!.n).toBe(120);
      const [multi] = await q<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT debtor_id FROM items GROUP BY debtor_id HAVING count(DISTINCT source) > 1) x`,
      );
      expect(multi!.n).toBe(120); // 5 items each: billing, fica, legacy-landline, billing, fica (a few CSV rows broken)
      expect(s.crossSourceDebtors).toBe(120);
      const [due] = await q<{ n: number }>(
        `SELECT count(DISTINCT debtor_id)::int AS n FROM items WHERE due_date <= current_date - 3`,
      );
      expect(n!.notices).toBe(due!.n);
    } finally {
      await store.close();
    }
  });
});
