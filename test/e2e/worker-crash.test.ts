import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { countOutbox } from '../../src/routing/outbox';
import { Runtime } from '../../src/runtime';
import { freshPostgres } from '../helpers/stores';
import { HEADER, makeHome, payEveryDebtor } from '../helpers/tenant';

const BIN = resolve(__dirname, '../../bin/clearhub.js');
const N = 1200;

function startWorker(home: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [BIN, '--home', home, 'worker', '--concurrency', '4', '--poll-ms', '100'], {
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d) => process.stderr.write(`[worker ${child.pid}] ${d}`));
  return child;
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 90_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads every confirmation in the source's outbound folder and counts them per document number. */
function confirmationsByDocument(outbound: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of readdirSync(outbound).filter((x) => x.endsWith('.csv'))) {
    const text = readFileSync(join(outbound, f), 'utf8');
    const doc = /INV-\d{6}/.exec(text)?.[0] ?? `unreadable:${f}`;
    out.set(doc, (out.get(doc) ?? 0) + 1);
  }
  return out;
}

describe('write-backs are delivered exactly once by worker processes on PostgreSQL + Redis', () => {
  let env: ReturnType<typeof makeHome>;
  let rt: Runtime;
  let drop: () => Promise<void>;
  let childEnv: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    env = makeHome({ smtpPort: 1 });
    const rows = [HEADER];
    for (let i = 0; i < N; i++) {
      rows.push(
        `C${100000 + i},Kunde ${i},B2C,k${i}@example.org,,de,DE,INV-${String(i).padStart(6, '0')},SIM-${i},2026-10-01,2026-11-01,EUR,10.00,10.00,0,`,
      );
    }
    writeFileSync(join(env.inbound, 'export.csv'), rows.join('\n'));
    const db = await freshPostgres();
    drop = db.drop;
    const prefix = `clearhub-test-${Math.random().toString(36).slice(2)}`;
    childEnv = {
      DATABASE_URL: db.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      CLEARHUB_QUEUE_PREFIX: prefix,
      CLEARHUB_QUEUE_LOCK_MS: '1500',
    };
    rt = await Runtime.open({ home: env.home, databaseUrl: db.url, redisUrl: '' });
    await rt.sync(env.tenant);
    await payEveryDebtor(rt.store, env.tenant);
    expect((await countOutbox(rt.store.db)).pending).toBe(N);
  });

  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    await rt.close();
    await drop();
  });

  const allDelivered = async () => {
    const c = await countOutbox(rt.store.db);
    return c.delivered + c.dead === N ? c : undefined;
  };

  test('a worker killed with SIGKILL mid-delivery: the next one finishes, nothing is missing or doubled', async () => {
    const first = startWorker(env.home, childEnv);
    children.push(first);
    await until('the first worker to deliver some', () => (readdirSync(env.outbound).length >= 100 ? true : undefined));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const atKill = readdirSync(env.outbound).length;
    expect(atKill).toBeLessThan(N); // it really died in the middle

    const second = startWorker(env.home, childEnv);
    children.push(second);
    const counts = await until('every write-back to be delivered', allDelivered);
    expect(counts).toMatchObject({ delivered: N, dead: 0 });

    const byDoc = confirmationsByDocument(env.outbound);
    expect(byDoc.size).toBe(N);
    expect([...byDoc.values()].every((n) => n === 1)).toBe(true);
    const events = await rt.store.db
      .selectFrom('events')
      .select(['subject', (e) => e.fn.countAll<number>().as('n')])
      .where('type', '=', 'writeback.delivered')
      .groupBy('subject')
      .execute();
    expect(events).toHaveLength(N);
    expect(events.every((e) => Number(e.n) === 1)).toBe(true);
  });

  test('two workers at once against one Redis deliver each write-back once', async () => {
    children.push(startWorker(env.home, childEnv), startWorker(env.home, childEnv));
    const counts = await until('every write-back to be delivered', allDelivered);
    expect(counts).toMatchObject({ delivered: N, dead: 0 });
    const byDoc = confirmationsByDocument(env.outbound);
    expect(byDoc.size).toBe(N);
    expect([...byDoc.values()].every((n) => n === 1)).toBe(true);
  });
});
