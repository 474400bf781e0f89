/**
 * statements: two figures of cash application.
 *
 * (a) MT940 parse speed in MB/s over the MT940 files of shared/contracts/banking/mt940 (each file repeated, as a bank
 *     sends many statements in one file, to at least 50 MB in all), next to `mt940-js` on the same bytes in the same
 *     run. Only files both parsers read are used. Target: ours at least as fast (ratio ≥ 1).
 * (b) 100,000 statement entries imported against 1,000,000 open items on PostgreSQL through the path of
 *     `clearhub statement import` — matched (RF references, document numbers, payer IBANs, amounts), booked and
 *     allocated with write-backs, the rest put in the worklist. Seconds; target under 10. Then it checks that nothing
 *     was decided or booked differently: counts per entry status and digests of every decision, item amount,
 *     write-back, event count and learnt payer account are compared with those of the import before it was made
 *     set-based (REFERENCE_OUTCOMES, for the default sizes and for BENCH_ITEMS=100000 BENCH_ENTRIES=10000), and the
 *     same statements imported again must book nothing. Either failing makes the run not count (`meets: false`).
 *
 *     How the import runs: batches of 5,000 entries; for each, one statement finds every candidate (references,
 *     document keys, payer IBANs, the candidates' open items, amounts for what is left, debtors' names) and answers one
 *     JSON document; node scores; then per booking lane (2, by debtor) one statement writes payments, allocations, the
 *     items' new amounts (only where still open for what the plan was made with), write-backs and events — the last two
 *     built in the database from the items it updates — and one writes the entries. Batch n + 1 is read and scored
 *     while batch n is booked. Latest (2 cores, shared): 26.8 s and 28.0 s with the machine's load under 2; with load
 *     4–6, run in turns with the code before this change on the same data, 32.5–43.1 s against 44.7–65.9 s (1.5×
 *     faster): CPU in node 12–18 s (was 22–38 s), in PostgreSQL 28–32 s (unchanged, 27–32 s). Per statement (server
 *     CPU, BENCH_SQL_PROFILE, a quieter hour: node 8 s, PostgreSQL 17–19 s in all): booking ~9.5 s (the items UPDATE
 *     ~2.4, payments and allocations with their foreign-key checks ~3.3, events ~2.1, outbox ~0.6), candidates ~5.5 s,
 *     entries ~1.7 s. PostgreSQL now dominates, and what it does is mostly what allocateSettled's row shape requires
 *     (four events, an outbox row and two foreign-key checks per allocation, a non-HOT items update) on random pages of
 *     a ledger larger than its 128 MB of shared buffers: the next levers are there (fewer index entries per booked row,
 *     a leaner event layout), not in the matcher.
 *
 * Knobs: BENCH_ITEMS (1,000,000), BENCH_ENTRIES (100,000), BENCH_MT940_MB (50), BENCH_SKIP_PARSE, BENCH_SKIP_MATCH,
 * BENCH_DATABASE_URL; BENCH_CPU_PROFILE=<file> (V8 profile of the timed import), BENCH_SQL_PROFILE=1 (each statement's
 * server CPU; `explain` also prints each read's plan), BENCH_TEMPLATE=<name> (seed once, copy afterwards: for
 * iterating), BENCH_KEEP (keep the database).
 *
 * The last line is the JSON of (b); the line before it the JSON of (a).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import pg from 'pg';
import { importStatements } from '../src/cash/import';
import { parseMt940Buffer } from '../src/cash/mt940';
import type { Statement, StatementEntry } from '../src/cash/statement';
import { creditorReference } from '../src/gateway/providers/bank-transfer/transformers';
import { csvField, openStore, type Store } from '../src/store/db';

const CONTRACTS = process.env.CLEARHUB_CONTRACTS ?? resolve(__dirname, '../../../shared/contracts');
const MT940_DIR = join(CONTRACTS, 'banking/mt940');
const PARSE_BYTES = Number(process.env.BENCH_MT940_MB ?? 50) * 1_000_000;
const ITEMS = Number(process.env.BENCH_ITEMS ?? 1_000_000);
const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 100_000);
const ITEMS_PER_DEBTOR = 5;
const MATCH_TARGET_S = 10;
const BASE = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TENANT = 'bench';
const ACCOUNT = 'DE89370400440532013000';

// ---------------------------------------------------------------------------------------------------------------------
// (a) MT940 parse speed
// ---------------------------------------------------------------------------------------------------------------------

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

async function parseBench(): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(MT940_DIR)) {
    console.log(`parse: skipped, ${MT940_DIR} not found (set CLEARHUB_CONTRACTS)`);
    return undefined;
  }
  const mt940js = require('mt940-js') as { read(buf: Buffer): Promise<unknown[]> };
  const files = walk(MT940_DIR).filter((p) => !/(LICENSE|\.yml|\.json|\.md)$/.test(p));
  const usable: { name: string; bytes: Buffer }[] = [];
  for (const f of files) {
    const b = readFileSync(f);
    try {
      parseMt940Buffer(b, f, { verifyBalances: false });
      if ((await mt940js.read(b)).length === 0) continue;
      usable.push({ name: relative(MT940_DIR, f), bytes: b });
    } catch {
      // a file one of the two cannot read (the intentionally broken ones, fragments without a statement)
    }
  }
  const corpus = usable.reduce((n, u) => n + u.bytes.length, 0);
  const repeat = Math.ceil(PARSE_BYTES / corpus);
  // Each file repeated: many statements in one file, as banks deliver a day's or a month's statements.
  const inputs = usable.map((u) => {
    const sep = Buffer.from(u.bytes.toString('latin1').endsWith('\n') ? '' : '\r\n', 'latin1');
    return Buffer.concat(Array.from({ length: repeat }, () => Buffer.concat([u.bytes, sep])));
  });
  const total = inputs.reduce((n, b) => n + b.length, 0);
  // Both parsers must read every input in full, or the comparison means nothing.
  for (const [i, b] of inputs.entries()) {
    const ours = parseMt940Buffer(b, usable[i]!.name, { verifyBalances: false }).length;
    const theirs = (await mt940js.read(b)).length;
    if (ours === 0 || theirs === 0) throw new Error(`${usable[i]!.name}: a parser read nothing`);
  }
  const time = async (fn: (b: Buffer, name: string) => unknown) => {
    const t0 = process.hrtime.bigint();
    for (const [i, b] of inputs.entries()) await fn(b, usable[i]!.name);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  // Alternating rounds on a shared, noisy machine; the best round of each counts.
  const oursS: number[] = [];
  const theirsS: number[] = [];
  for (let round = 0; round < 3; round++) {
    oursS.push(await time((b, n) => parseMt940Buffer(b, n, { verifyBalances: false })));
    theirsS.push(await time((b) => mt940js.read(b)));
  }
  const ours = total / 1e6 / Math.min(...oursS);
  const theirs = total / 1e6 / Math.min(...theirsS);
  console.log(
    `parse: ${usable.length} MT940 files (${(corpus / 1000).toFixed(1)} kB) each repeated ${repeat}×, ${(total / 1e6).toFixed(1)} MB`,
  );
  console.log(`parse: clearhub ${ours.toFixed(1)} MB/s, mt940-js ${theirs.toFixed(1)} MB/s (best of 3 rounds)`);
  const ratio = ours / theirs;
  return {
    bench: 'statements-parse',
    metric: 'mt940_mb_per_s',
    value: Math.round(ours * 10) / 10,
    baseline: Math.round(theirs * 10) / 10,
    ratio: Math.round(ratio * 1000) / 1000,
    target: 1,
    meets: ratio >= 1,
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// (b) matching 100,000 entries against 1,000,000 open items
// ---------------------------------------------------------------------------------------------------------------------

/** A small deterministic generator (mulberry32), so every run matches the same data. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ (t + t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Anna', 'Ben', 'Clara', 'David', 'Emma', 'Felix', 'Greta', 'Hans', 'Ida', 'Jonas', 'Karla', 'Lukas'];
const LAST = ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Hoffmann', 'Koch'];

interface Seeded {
  debtors: number;
  /** Per item: debtor index, document number, open amount, due date. */
  items: { debtor: number; doc: string; open: number; due: string }[];
  references: string[];
}

/** Item ids in the time-ordered layout the store uses, made up front so the references can name them. */
const itemIdOf = (i: number) => `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`;
const debtorId = (d: number) => `D${String(d).padStart(7, '0')}`;
const ibanOf = (d: number) => `DE${String(10 + (d % 89)).padStart(2, '0')}370400440${String(d).padStart(9, '0')}`;
const nameOf = (d: number) => `${FIRST[d % FIRST.length]} ${LAST[Math.floor(d / FIRST.length) % LAST.length]}`;

/** Seeds the store, unless `write` is false (a database copied from a seeded template holds the rows already). */
async function seed(store: Store, write = true): Promise<Seeded> {
  const random = rng(42);
  const debtors = Math.ceil(ITEMS / ITEMS_PER_DEBTOR);
  const items: Seeded['items'] = [];
  for (let i = 0; i < ITEMS; i++) {
    const month = 1 + (i % 12);
    items.push({
      debtor: Math.floor(i / ITEMS_PER_DEBTOR),
      doc: `INV-2026-${String(i + 1).padStart(7, '0')}`,
      open: 500 + Math.floor(random() * 49_500),
      due: `2026-${String(month).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
    });
  }
  const references = Array.from({ length: debtors }, (_, d) => creditorReference(String(d + 1).padStart(10, '0')));
  const lines = function* <T>(rows: Iterable<T>, line: (r: T, i: number) => string) {
    let buf = '';
    let i = 0;
    for (const r of rows) {
      buf += line(r, i++);
      if (buf.length > 1 << 20) {
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  };
  if (!write) return { debtors, items, references };
  await store.rawTransaction(async (s) => {
    await s.query(`INSERT INTO tenants (tenant_id, name, country, currency) VALUES ($1, 'Bench', 'DE', 'EUR')`, [
      TENANT,
    ]);
    const ids = Array.from({ length: debtors }, (_, d) => d);
    await s.copyIn(
      'debtors',
      ['tenant_id', 'debtor_id', 'name', 'type', 'language', 'tags'],
      lines(ids, (d) => `${TENANT},${debtorId(d)},${csvField(nameOf(d))},B2C,de,[]\n`),
    );
    await s.copyIn(
      'debtor_links',
      ['tenant_id', 'source', 'external_id', 'debtor_id'],
      lines(ids, (d) => `${TENANT},billing,C${d},${debtorId(d)}\n`),
    );
    await s.copyIn(
      'items',
      [
        'tenant_id',
        'item_id',
        'source',
        'source_key',
        'debtor_id',
        'external_id',
        'document_number',
        'currency',
        'amount_minor',
        'source_open_minor',
        'open_minor',
        'due_date',
      ],
      lines(
        items,
        (it, i) =>
          `${TENANT},${itemIdOf(i)},billing,K${i},${debtorId(it.debtor)},C${it.debtor},${it.doc},EUR,${it.open},${it.open},${it.open},${it.due}\n`,
      ),
    );
    // Every debtor has a reference for its first two items (printed on its last notice), half of them a known IBAN.
    await s.copyIn(
      'payment_references',
      ['tenant_id', 'reference', 'debtor_id', 'item_ids'],
      lines(ids, (d) => {
        const first = d * ITEMS_PER_DEBTOR;
        return `${TENANT},${references[d]},${debtorId(d)},${csvField(JSON.stringify([itemIdOf(first), itemIdOf(first + 1)]))}\n`;
      }),
    );
    await s.copyIn(
      'debtor_accounts',
      ['tenant_id', 'iban', 'debtor_id', 'origin'],
      lines(
        ids.filter((d) => d % 2 === 0),
        (d) => `${TENANT},${ibanOf(d)},${debtorId(d)},payment\n`,
      ),
    );
  });
  return { debtors, items, references };
}

/** The bank's side: 100,000 entries in ten daily statements, a realistic mix of what payers write. */
function statements(seeded: Seeded): Statement[] {
  const random = rng(7);
  const pick = (n: number) => Math.floor(random() * n);
  const entries: StatementEntry[] = [];
  const grouped = (s: string) => s.replace(/(.{4})(?=.)/g, '$1 ');
  for (let i = 0; i < ENTRIES; i++) {
    const day = 10 + Math.floor((i * 10) / ENTRIES);
    const bookingDate = `2026-12-${String(day).padStart(2, '0')}`;
    const base = { bookingDate, valueDate: bookingDate, reference: `BENCH-${String(i + 1).padStart(7, '0')}` };
    const kind = random();
    const d = pick(seeded.debtors);
    const first = d * ITEMS_PER_DEBTOR;
    const it = seeded.items[first + pick(ITEMS_PER_DEBTOR)]!;
    const digits = it.doc.slice(9);
    if (kind < 0.3) {
      // The RF reference from the notice, for the two items it was issued for.
      const amount = seeded.items[first]!.open + seeded.items[first + 1]!.open;
      entries.push({
        ...base,
        amountMinor: amount,
        ...(random() < 0.5
          ? { creditorReference: seeded.references[d]! }
          : { remittance: `Kd ${d} ${grouped(seeded.references[d]!)}` }),
        counterparty: { name: nameOf(d), iban: ibanOf(d) },
      });
    } else if (kind < 0.6) {
      // An invoice number, written every which way; mostly the full amount, sometimes a part.
      const styles = [
        `Rechnung ${it.doc}`,
        `RE 2026 ${digits}`,
        `Inv. 2026-${digits.slice(0, 3)} ${digits.slice(3)}`,
        `Rechnungsnr.2026/${digits} Kundennr ${d}`,
        `${it.doc} vom 01.11.2026`,
      ];
      entries.push({
        ...base,
        amountMinor: random() < 0.8 ? it.open : Math.max(1, Math.floor(it.open / 2)),
        remittance: styles[pick(styles.length)]!,
        counterparty: { name: nameOf(d), iban: `DE89${String(i).padStart(18, '0')}` },
      });
    } else if (kind < 0.75) {
      // A payer whose IBAN we know, paying one invoice without saying which.
      const known = d - (d % 2);
      const item = seeded.items[known * ITEMS_PER_DEBTOR + pick(ITEMS_PER_DEBTOR)]!;
      entries.push({
        ...base,
        amountMinor: item.open,
        remittance: 'Monatsrechnung',
        counterparty: { name: nameOf(known), iban: ibanOf(known) },
      });
    } else if (kind < 0.9) {
      // Only the amount and a name.
      entries.push({
        ...base,
        amountMinor: it.open,
        remittance: 'Zahlung',
        counterparty: { name: nameOf(d), iban: `DE44${String(i).padStart(18, '0')}` },
      });
    } else {
      entries.push({
        ...base,
        amountMinor: 100 + pick(100_000),
        remittance: 'Spende Sommerfest',
        counterparty: { name: 'Verein e.V.' },
      });
    }
  }
  const out: Statement[] = [];
  const per = Math.ceil(ENTRIES / 10);
  for (let s = 0; s * per < entries.length; s++) {
    out.push({
      account: ACCOUNT,
      currency: 'EUR',
      id: `BENCH-${s + 1}`,
      entries: entries.slice(s * per, (s + 1) * per),
    });
  }
  return out;
}

/** BENCH_CPU_PROFILE=<file>: a V8 CPU profile of the timed import only (open it in Chrome DevTools). */
async function startProfile(): Promise<{ stop(): Promise<void> } | undefined> {
  const file = process.env.BENCH_CPU_PROFILE;
  if (!file) return undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** CPU seconds of this process and of the database's server processes (Linux /proc), to read a noisy wall time by. */
async function cpuSeconds(admin: pg.Client, dbName: string): Promise<{ node: number; postgres: number } | undefined> {
  const u = process.cpuUsage();
  try {
    const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
      dbName,
    ]);
    let ticks = 0;
    for (const r of rows) {
      const stat = readFileSync(`/proc/${r.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    }
    return { node: (u.user + u.system) / 1e6, postgres: ticks / 100 };
  } catch {
    return undefined; // not Linux, or the server runs elsewhere
  }
}

/**
 * What the import decided and booked, independent of generated ids and timestamps: counts per entry status, and a
 * digest over every entry's decision (status, evidence, debtor, confidence, suggestions, note, allocations), the items'
 * open amounts, the write-back commands, the events and the payer accounts learnt. Equal digests before and after a
 * change to the matcher or the booking mean the same decisions and the same rows.
 */
/**
 * An entry's key as it was written when the reference outcomes were taken: entry keys have named their currency since
 * (`<date>/EUR/<amount>/<ref>`, so the EUR and USD statements of one account keep their entries apart). The bench's
 * statements are all in EUR, so the digests compare the same decisions under the key they had then.
 */
const KEY_AS_BEFORE = `regexp_replace(e.entry_key, '^([0-9]{4}-[0-9]{2}-[0-9]{2})/[A-Z]{3}/', '\\1/')`;

async function outcome(store: Store): Promise<Record<string, unknown>> {
  // (Key order is fixed by the query, so outcomes compare as JSON text.)
  const { rows } = await store.rawTransaction((s) =>
    s.query<Record<string, unknown>>(
      `SELECT
         (SELECT json_object_agg(status, n ORDER BY status) FROM (SELECT status, count(*)::int AS n FROM statement_entries GROUP BY 1) x)
           AS entries,
         (SELECT md5(string_agg(concat_ws('|', ${KEY_AS_BEFORE}, e.status, e.matched_by, e.debtor_id, e.confidence,
                   e.suggestions::text, e.note, p.amount_minor, p.allocated_minor, p.item_ids::text, a.allocs), E'\n'
                   ORDER BY ${KEY_AS_BEFORE}))
          FROM statement_entries e
          LEFT JOIN payments p ON p.tenant_id = e.tenant_id AND p.payment_id = e.payment_id
          LEFT JOIN (SELECT payment_id, string_agg(item_id || ':' || amount_minor, ',' ORDER BY allocation_id) AS allocs
                     FROM allocations GROUP BY payment_id) a ON a.payment_id = e.payment_id)
           AS decisions,
         (SELECT md5(string_agg(concat_ws('|', item_id, open_minor, status, version), ',' ORDER BY item_id))
          FROM items WHERE version > 1) AS items,
         (SELECT md5(string_agg(concat_ws('|', o.item_id, o.source, o.kind, (o.command - 'paymentId')::text, ${KEY_AS_BEFORE}),
                   ',' ORDER BY ${KEY_AS_BEFORE}, o.item_id))
          FROM outbox o
          JOIN statement_entries e ON e.tenant_id = o.tenant_id AND e.payment_id = o.command->>'paymentId') AS outbox,
         (SELECT json_object_agg(type, n ORDER BY type) FROM (SELECT type, count(*)::int AS n FROM events GROUP BY 1) x) AS events,
         (SELECT md5(string_agg(concat_ws('|', iban, debtor_id, origin), ',' ORDER BY iban, debtor_id))
          FROM debtor_accounts) AS accounts`,
    ),
  );
  return rows[0]!;
}

/**
 * The outcome of the import before the matcher and the booking were made set-based (the code as of the README's 22.3 s
 * figure), per `items/entries`: a change that decides or books differently shows here. Update it only for a change of
 * the matcher's rules, saying so. The event counts lost `writeback.enqueued` (one per outbox row) when no path logged
 * it any more: the outbox row is that record, as it always was for the dunning run's write-backs.
 */
const REFERENCE_OUTCOMES: Record<string, Record<string, unknown>> = {
  '1000000/100000': {
    entries: { allocated: 67327, suggested: 27574, unmatched: 5099 },
    decisions: 'd6029dd1fff90e6c2e81ea64dd272740',
    items: 'eb163cb6c100878b4b0d782d9883fd8f',
    outbox: '9fe65a09f2e7775fe27380f135e53824',
    events: {
      'item.closed': 91593,
      'payment.allocated': 91593,
      'payment.recorded': 67327,
    },
    accounts: 'fe95079ee1f48775e2f9da4a4aff9594',
  },
  '100000/10000': {
    entries: { allocated: 6718, suggested: 2667, unmatched: 615 },
    decisions: 'e6569d056910661cd4c6e5cb47003e43',
    items: 'f9907acb09d39292f553479a603f39dc',
    outbox: '1bd938ce50a2eea9074a8636f84737c7',
    events: { 'item.closed': 9133, 'payment.allocated': 9133, 'payment.recorded': 6718 },
    accounts: 'c5868216f9d9847ec01ea8571ca2e1e2',
  },
};

/**
 * BENCH_SQL_PROFILE=1: the statements of the timed import by their first words, with their count, wall time and the CPU
 * their server process spent (read from /proc around each one, so a busy machine does not distort it).
 */
function sqlProfiled(store: Store): { store: Store; report(): void } | undefined {
  if (!process.env.BENCH_SQL_PROFILE) return undefined;
  const stats = new Map<string, { n: number; ms: number; cpu: number }>();
  const explained = new Set<string>();
  const ticks = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const measure = async <T>(pid: number, what: string, fn: () => Promise<T>): Promise<T> => {
    const c0 = ticks(pid);
    const t0 = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      const label = what.replace(/\s+/g, ' ').trim().slice(0, 90);
      const st = stats.get(label) ?? { n: 0, ms: 0, cpu: 0 };
      st.n++;
      st.ms += Number(process.hrtime.bigint() - t0) / 1e6;
      st.cpu += (ticks(pid) - c0) / 100;
      stats.set(label, st);
    }
  };
  const wrapped: Store = {
    ...store,
    rawTransaction: (fn) =>
      store.rawTransaction(async (s) => {
        const { rows } = await s.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        const pid = rows[0]!.pid;
        return fn({
          query: async (text, params) => {
            // BENCH_SQL_PROFILE=explain: the plan of each kind of read, once.
            if (process.env.BENCH_SQL_PROFILE === 'explain' && /^\s*(SELECT|WITH)/.test(text) && !explained.has(text)) {
              explained.add(text);
              const plan = await s.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params);
              console.log(`${text}\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
            }
            return measure(pid, text, () => s.query(text, params)) as never;
          },
          copyIn: (table, columns, chunks) => measure(pid, `COPY ${table}`, () => s.copyIn(table, columns, chunks)),
        });
      }),
  };
  return {
    store: wrapped,
    report() {
      const rows = [...stats].sort((a, b) => b[1].cpu - a[1].cpu);
      for (const [label, st] of rows) {
        console.log(
          `sql: ${st.cpu.toFixed(2).padStart(6)} s CPU ${(st.ms / 1000).toFixed(2).padStart(6)} s wall ${String(st.n).padStart(5)}× ${label}`,
        );
      }
    },
  };
}

/**
 * A database for the run, seeded. BENCH_TEMPLATE=<name> (for iterating on the import): the seeded database is kept
 * under that name the first time and copied (CREATE DATABASE … TEMPLATE) every later time, which is much faster than
 * seeding; the copy's caches are cold, so time a final figure without it.
 */
async function seededDatabase(admin: pg.Client, dbName: string): Promise<{ store: Store; seeded: Seeded }> {
  const url = (name: string) => BASE.replace(/\/[^/]*$/, `/${name}`);
  const template = process.env.BENCH_TEMPLATE ? `${process.env.BENCH_TEMPLATE}_${ITEMS}` : undefined;
  const t0 = Date.now();
  if (template) {
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (rows.length === 0) {
      await admin.query(`CREATE DATABASE ${template}`);
      const t = await openStore(url(template));
      await t.migrate();
      await seed(t);
      await t.close();
    }
    await admin.query(`CREATE DATABASE ${dbName} TEMPLATE ${template}`);
  } else {
    await admin.query(`CREATE DATABASE ${dbName}`);
  }
  const store = await openStore(url(dbName));
  await store.migrate();
  const seeded = await seed(store, !template);
  // A ledger at rest, as autovacuum leaves it: statistics, hint bits and visibility map set. Rows fresh from COPY have
  // no hint bits yet, so the import would otherwise set them (and write the pages out) on every item it reads.
  const vacuum = new pg.Client({ connectionString: url(dbName) });
  await vacuum.connect();
  await vacuum.query('VACUUM (ANALYZE)').finally(() => vacuum.end());
  console.log(
    `match: seeded ${ITEMS} open items of ${seeded.debtors} debtors ${template ? `from template ${template}` : 'with COPY'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return { store, seeded };
}

async function matchBench(): Promise<Record<string, unknown>> {
  const dbName = `clearhub_stmtbench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  const { store, seeded } = await seededDatabase(admin, dbName);
  try {
    const input = statements(seeded);
    // The generator's copy of a million items is not what a server holds while it imports: let it go before timing.
    seeded.items.length = 0;
    seeded.references.length = 0;
    (globalThis as { gc?: () => void }).gc?.();
    // The seed's dirty pages are written out now, not by the checkpointer in the middle of the timed import.
    await admin.query('CHECKPOINT').catch(() => undefined);
    const profile = await startProfile();
    const sqlProfile = sqlProfiled(store);
    const cpu0 = await cpuSeconds(admin, dbName);
    const s0 = process.hrtime.bigint();
    const summary = await importStatements(sqlProfile?.store ?? store, {
      tenantId: TENANT,
      statements: input,
      format: 'camt.053',
    });
    const seconds = Number(process.hrtime.bigint() - s0) / 1e9;
    const cpu1 = await cpuSeconds(admin, dbName);
    await profile?.stop();
    sqlProfile?.report();
    console.log(
      `match: ${ENTRIES} entries against ${ITEMS} open items in ${seconds.toFixed(2)} s (${Math.round(
        ENTRIES / seconds,
      )} entries/s): ${summary.autoAllocated} allocated, ${summary.suggested} suggested, ${summary.unmatched} unmatched`,
    );
    if (cpu0 && cpu1) {
      const node = cpu1.node - cpu0.node;
      const pg = cpu1.postgres - cpu0.postgres;
      console.log(
        `match: CPU used: node ${node.toFixed(1)} s, PostgreSQL ${pg.toFixed(1)} s (on a busy shared machine the wall time above is longer than this work needs)`,
      );
    }
    const counts = await store.rawTransaction((s) =>
      s.query<{ payments: number; allocations: number; outbox: number }>(
        `SELECT (SELECT count(*) FROM payments)::int AS payments, (SELECT count(*) FROM allocations)::int AS allocations,
                (SELECT count(*) FROM outbox)::int AS outbox`,
      ),
    );
    console.log(`match: booked ${JSON.stringify(counts.rows[0])}`);
    const decided = await outcome(store);
    const reference = REFERENCE_OUTCOMES[`${ITEMS}/${ENTRIES}`];
    const same = reference === undefined || JSON.stringify(decided) === JSON.stringify(reference);
    console.log(
      `match: outcome ${JSON.stringify(decided)}${reference === undefined ? '' : same ? ' = the reference ✔' : ' ≠ the reference ✘'}`,
    );
    const r0 = process.hrtime.bigint();
    const again = await importStatements(store, { tenantId: TENANT, statements: input, format: 'camt.053' });
    const recounted = await store.rawTransaction((s) =>
      s.query(
        `SELECT (SELECT count(*) FROM payments)::int AS payments, (SELECT count(*) FROM allocations)::int AS allocations,
                (SELECT count(*) FROM outbox)::int AS outbox`,
      ),
    );
    const once = again.autoAllocated === 0 && JSON.stringify(recounted.rows[0]) === JSON.stringify(counts.rows[0]);
    console.log(
      `match: the same statements again in ${(Number(process.hrtime.bigint() - r0) / 1e9).toFixed(2)} s: ${again.alreadyImported} already imported, ${again.autoAllocated} booked ${once ? '✔' : '✘'}`,
    );
    if (!same || !once) console.log('match: the import decided or booked differently: the time does not count');
    return {
      bench: 'statements',
      metric: 'match_seconds_lower_is_better',
      value: Math.round(seconds * 100) / 100,
      baseline: MATCH_TARGET_S,
      ratio: Math.round((seconds / MATCH_TARGET_S) * 1000) / 1000,
      target: 1,
      meets: seconds < MATCH_TARGET_S && same && once,
    };
  } finally {
    await store.close();
    if (process.env.BENCH_KEEP) console.log(`kept database ${dbName}`);
    else await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

async function main() {
  const parse = process.env.BENCH_SKIP_PARSE ? undefined : await parseBench();
  const match = process.env.BENCH_SKIP_MATCH ? undefined : await matchBench();
  if (parse) console.log(JSON.stringify(parse));
  if (match) console.log(JSON.stringify(match));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
