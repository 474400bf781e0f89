import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

/**
 * The telco-de golden client with its strategy file (config/strategies/telco-de.v1.yaml), through the command line.
 * Its debtors are new customers on the run date (first seen after it), so the `new-customer` segment applies.
 */
describe('clearhub dunning on the telco-de profile', () => {
  const home = mkdtempSync(join(tmpdir(), 'clearhub-dunning-'));
  const inbound = join(home, 'data', 'acme', 'billing', 'in');

  beforeAll(() => {
    expect(clearhub(home, 'init', '--profile', 'telco-de', '--tenant', 'acme', '--name', 'ACME Mobile').code).toBe(0);
    writeFileSync(
      join(inbound, 'export.csv'),
      [
        HEADER,
        'C1,Anna Berg,B2C,anna@example.org,,de,DE,INV-1,SIM-1,2026-08-01,2026-09-01,EUR,119.00,119.00,0,',
        'C1,Anna Berg,B2C,anna@example.org,,de,DE,INV-2,SIM-1,2026-09-01,2026-10-01,EUR,19.99,19.99,0,',
        'C2,Ben Kraus,B2C,ben@example.org,,de,DE,INV-3,SIM-2,2026-09-01,2026-10-01,EUR,45.50,45.50,0,',
        'C3,Cem Aydin,B2C,cem@example.org,,de,DE,INV-4,SIM-3,2026-09-01,2026-10-01,EUR,60.00,60.00,0,',
        'C4,Dora Lenz,B2C,dora@example.org,,de,DE,INV-5,SIM-4,2026-09-01,2026-10-28,EUR,30.00,30.00,0,',
      ].join('\n'),
    );
    expect(clearhub(home, 'sync').code).toBe(0);
  });

  test('--csv without --proposal is refused before anything is dunned', () => {
    const csv = join(home, 'review.csv');
    const r = clearhub(home, 'dunning', 'run', '--as-of', '2026-11-02', '--csv', csv, '--no-send');
    expect(r.code).toBe(2);
    expect(r.err).toBe('clearhub: --csv: a CSV is written with --proposal only\n');
    expect(json(clearhub(home, 'dunning', 'notices', '--json').out)).toEqual([]);
    expect(existsSync(csv)).toBe(false);
  });

  test('a proposal lists what would be dunned (JSON and CSV) and dunns nothing yet', () => {
    const csv = join(home, 'proposal.csv');
    const r = clearhub(home, 'dunning', 'run', '--as-of', '2026-11-02', '--proposal', '--csv', csv, '--json');
    expect(r.code).toBe(0);
    const p = json(r.out);
    // Dora's invoice is 5 days overdue on Monday 2 November: the new-customer reminder is due after 3 days.
    expect(p.created).toMatchObject({
      status: 'proposed',
      noticesCreated: 4,
      strategy: { name: 'telco-de', version: 1 },
    });
    expect(p.notices).toHaveLength(4);
    const anna = p.notices.find((n: { name: string }) => n.name === 'Anna Berg');
    expect(anna.segment).toBe('new-customer');
    expect(anna.notice).toMatchObject({ level: 1, channels: ['email', 'letter'], tone: 'neutral', totalMinor: 138_99 });
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1 + 5);
    expect(lines.find((l) => l.includes(',INV-1,'))).toContain(',Anna Berg,new-customer,1,reminder,email>letter,');
    const notices = json(clearhub(home, 'dunning', 'notices', '--json').out);
    expect(notices).toEqual([]);
  });

  test('edit drops an item and holds a debtor; approve creates the notices as edited; approving twice fails', () => {
    const edit = clearhub(
      home,
      'dunning',
      'proposal',
      'edit',
      'run-2026-11-02',
      '--drop-item',
      'INV-2',
      '--hold-debtor',
      'C3',
    );
    expect(edit.code).toBe(0);
    expect(edit.out).toMatch(/dropped 1 item\(s\), held 1 debtor\(s\)/);
    const typo = clearhub(home, 'dunning', 'proposal', 'edit', 'run-2026-11-02', '--drop-item', 'INV-9');
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/--drop-item: not on proposal run-2026-11-02: item INV-9/);

    const a = clearhub(home, 'dunning', 'approve', 'run-2026-11-02', '--no-send', '--json');
    expect(a.code).toBe(0);
    expect(json(a.out).created).toMatchObject({
      status: 'completed',
      noticesCreated: 3,
      skipped: { 'proposal-hold': 1 },
    });
    const notices = json(clearhub(home, 'dunning', 'notices', '--run', 'run-2026-11-02', '--json').out) as {
      total: string;
      items: number;
      segment: string;
      scheduledAt: string;
    }[];
    // Anna: 119.00 without the dropped 19.99; Ben 45.50; Dora 30.00. Cem was held.
    expect(notices.map((n) => n.total).sort()).toEqual(['119.00', '30.00', '45.50']);
    // Monday 2 November 2026, 09:00 in Berlin = 08:00 UTC.
    expect(new Set(notices.map((n) => n.scheduledAt))).toEqual(new Set(['2026-11-02T08:00:00.000Z']));
    const again = clearhub(home, 'dunning', 'approve', 'run-2026-11-02', '--no-send');
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/not a proposal any more/);
    // A run of the same date adds nothing, not even the debtor held in review.
    const rerun = json(clearhub(home, 'dunning', 'run', '--as-of', '2026-11-02', '--no-send', '--json').out);
    expect(rerun.created.noticesCreated).toBe(0);
  });

  test('a disputed item stays out of the next run; holds are listed', () => {
    const d = clearhub(
      home,
      'dunning',
      'dispute',
      'INV-3',
      '--reason',
      'roaming charges disputed',
      '--since',
      '2026-11-10',
      '--json',
    );
    expect(d.code).toBe(0);
    expect(json(d.out)).toMatchObject({ kind: 'dispute', reason: 'roaming charges disputed' });
    // Two weeks later every item could rise to the second level (new-customer: 10 days, 7 since the last notice).
    const r = json(clearhub(home, 'dunning', 'run', '--as-of', '2026-11-16', '--no-send', '--json').out);
    expect(r.created.skipped).toMatchObject({ held: 1 }); // Ben: his only item is disputed
    const holds = json(clearhub(home, 'dunning', 'holds', '--json').out) as { kind: string }[];
    expect(holds.map((h) => h.kind)).toEqual(['dispute']);
  });

  test('sepa collect on the embedded store answers, and a --out it cannot write to is refused before anything is marked', () => {
    const gatewayEnv = {
      CLEARHUB_PAYLINK_SECRET: 'a-pay-link-secret-of-thirty-two-chars',
      CLEARHUB_PAYEE_IBAN: 'DE89370400440532013000',
      CLEARHUB_SEPA_CREDITOR_ID: 'DE98ZZZ09999999999',
    };
    const collect = (...args: string[]) => {
      const r = spawnSync(process.execPath, [BIN, '--home', home, 'sepa', 'collect', ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...gatewayEnv, NODE_OPTIONS: '', DATABASE_URL: '', REDIS_URL: '' },
        timeout: 60_000,
      });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    // The per-tenant lock's transaction held PGlite's only connection while the provider waited for it: the command
    // ended silently with status 0, having done nothing.
    const ok = collect('--out', join(home, 'sepa-out'));
    expect(ok).toEqual({ code: 0, out: 'nothing due for submission\n', err: '' });
    const file = join(home, 'not-a-folder');
    writeFileSync(file, '');
    const bad = collect('--out', file);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^clearhub: --out: cannot write to .*not-a-folder: /);
  });

  test('a strategy with a mistake is refused with file, line and column', () => {
    const file = join(home, 'broken.v1.yaml');
    const text = readFileSync(resolve(__dirname, '../../config/strategies/telco-de.v1.yaml'), 'utf8')
      .replace('strategy: telco-de', 'strategy: broken')
      .replace('history.paidOnTimeShare >= 90%', 'history.paidOnTime >= 90%');
    writeFileSync(file, text);
    const r = clearhub(home, 'dunning', 'strategy', 'check', file);
    expect(r.code).toBe(2);
    const line = text.split('\n').findIndex((l) => l.includes('history.paidOnTime >= 90%')) + 1;
    const col = text.split('\n')[line - 1]!.indexOf('paidOnTime') + 1;
    expect(r.err).toContain(`broken.v1.yaml:${line}:${col}: segments[1].when: unknown fact history.paidOnTime`);
    const ok = clearhub(
      home,
      'dunning',
      'strategy',
      'check',
      resolve(__dirname, '../../config/strategies/telco-de.v1.yaml'),
    );
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/telco-de v1: 5 segments/);
    // Quiet hours in a time zone that does not exist would be checked against nothing.
    const tz = clearhub(
      home,
      'dunning',
      'strategy',
      'check',
      'config/strategies/telco-de.v1.yaml',
      '--timezone',
      'Mars/Base',
    );
    expect(tz.code).toBe(2);
    expect(tz.err).toBe('clearhub: --timezone: "Mars/Base" is not an IANA time zone such as Europe/Berlin\n');
  });

  test('a plan instalment written with a stray part is refused, not cut short', () => {
    const notices = json(clearhub(home, 'dunning', 'notices', '--json').out) as { debtorId: string }[];
    const debtor = notices[0]!.debtorId;
    expect(debtor).toEqual(expect.any(String));
    const r = clearhub(
      home,
      'dunning',
      'plan',
      debtor,
      '--instalment',
      '2026-12-01=15.00=3',
      '--instalment',
      '2027-01-01=15.00',
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^clearhub: --instalment: "2026-12-01=15\.00=3": expected <date>=<amount>/);
    expect(
      (json(clearhub(home, 'dunning', 'holds', '--json').out) as { kind: string }[]).map((h) => h.kind),
    ).not.toContain('plan');
  });
});
