/**
 * gateway: two figures of the payment gateway on PostgreSQL, each against a baseline measured in the same run.
 *
 * 1. checkout_sessions_per_s — `POST /v1/checkout/sessions` with `pay: card / pm_card_visa` through the real HTTP API
 *    (express app of `createApp`, API key, Idempotency-Key) against the Stripe simulator: each request creates the
 *    session for all open items of its own debtor, records the payment, creates and confirms the PaymentIntent, and
 *    applies the answer (succeeded: items allocated and closed, outbox, events). Baseline: the bare HTTP round trip
 *    for the same provider call — `POST /v1/payment_intents` with the very form body and headers the SDK sent,
 *    through node's fetch, at the same concurrency.
 * 2. webhook_events_per_s — signed Stripe events (`Stripe-Signature: t=…,v1=HMAC-SHA256(secret, t + "." + body)`,
 *    pretty-printed bodies as Stripe sends them) posted to `/v1/webhooks/stripe/:tenant`: each answered 2xx only
 *    after the delivery and its event are committed (deliveries that arrive together are committed together, by one
 *    statement: src/gateway/webhook-intake.ts). Processing them from the queue is timed afterwards and reported, not
 *    compared. Baseline: single-row autocommit INSERTs of the same bodies into a scratch table of the same database,
 *    over a pool of the store's size, at the same concurrency. The webhook sender posts with node:http over a
 *    keep-alive Agent of as many sockets as requests in flight (fetch cost about five times its CPU per request, and
 *    Stripe's sender runs on Stripe's machines, not ours); the HTTP floor below is measured with the same client.
 *
 * Targets: at least 0.5 of the baseline each. The simulator runs in a worker thread (a real PSP runs elsewhere), and
 * so does the load generator (the shop's backend, Stripe's webhook sender): the main thread is the server under test.
 * The bare provider calls go through the same load thread and client; the INSERT loop runs on the main thread, as
 * the store does.
 *
 * Every line also gives the CPU time per operation of each party where Linux's /proc tells it (the server's main
 * thread, the PostgreSQL backends of the bench database, the simulator's thread, the load thread): on a busy shared
 * machine the throughput ratio follows the ratio of these sums. Then, unless BENCH_BREAKDOWN=0, where the time goes
 * (reported, not compared): the same work in-process without the HTTP API (createSession + paySession + getSession;
 * receiveWebhook), and a bare node:http server that only reads the webhook bodies and answers (the HTTP floor).
 *
 * Knobs: BENCH_SESSIONS (2000), BENCH_EVENTS (10000), BENCH_CONCURRENCY (16), BENCH_LOG_LEVEL (info, as `serve`),
 * BENCH_BREAKDOWN, DATABASE_POOL_MAX (the store's pool, 10; the INSERT loop uses the same size).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pg from 'pg';
import { createApiKey } from '../src/api/api-keys';
import { createApp } from '../src/api/app';
import { createLogger } from '../src/api/logger';
import { createSession, getSession, paySession } from '../src/gateway/checkout';
import { recordPayment } from '../src/gateway/payments';
import { consumeWebhooks, receiveWebhook, WEBHOOK_QUEUE } from '../src/gateway/webhooks';
import { createQueue } from '../src/queue';
import { openStore } from '../src/store/db';
import { ingestBatch } from '../src/store/ingest';
import { gatewayFor } from '../test/helpers/gateway';
import { startStripeSimulator } from '../test/simulators/stripe/server';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 2000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const BREAKDOWN = process.env.BENCH_BREAKDOWN !== '0';
const BD_SESSIONS = BREAKDOWN ? Math.ceil(SESSIONS / 4) : 0;
const BD_EVENTS = BREAKDOWN ? Math.ceil(EVENTS / 4) : 0;
const WARMUP = 100;
const ITEMS_PER_DEBTOR = 2;
const TARGET = 0.5;
const TENANT = 'bench';
const POOL_MAX = Number(process.env.DATABASE_POOL_MAX ?? 10);
const BASE =
  process.env.BENCH_DATABASE_URL ??
  (/^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '') ? process.env.DATABASE_URL! : undefined) ??
  'postgres://postgres@127.0.0.1:5432/test';

interface SimInfo {
  url: string;
  host: string;
  port: number;
  secretKey: string;
  webhookSecret: string;
}
type SimRequest = { method: string; path: string; rawBody: string; headers: Record<string, string>; status: number };
type SimAsk =
  | { ask: 'requests'; path: string; limit: number }
  | { ask: 'events'; type: string }
  | { ask: 'cpu' }
  | { ask: 'stop' };

// ---- simulator thread -------------------------------------------------------------------------------------------

async function serveSimulator() {
  const sim = await startStripeSimulator();
  const info: SimInfo = {
    url: sim.url,
    host: sim.host,
    port: sim.port,
    secretKey: sim.secretKey,
    webhookSecret: sim.webhookSecret,
  };
  parentPort!.postMessage(info);
  parentPort!.on('message', (m: SimAsk) => {
    if (m.ask === 'stop') {
      sim.close().then(() => process.exit(0));
    } else if (m.ask === 'cpu') {
      parentPort!.postMessage(procCpu('/proc/thread-self/stat')?.cpu ?? null);
    } else if (m.ask === 'requests') {
      parentPort!.postMessage(
        sim.requests
          .filter((r) => r.path === m.path)
          .slice(0, m.limit)
          .map((r) => ({ method: r.method, path: r.path, rawBody: r.rawBody, headers: r.headers, status: r.status })),
      );
    } else {
      parentPort!.postMessage(sim.events.filter((e) => e.type === m.type));
    }
  });
}

async function startSimulatorThread() {
  const worker = new Worker(__filename, { workerData: { simulator: true } });
  const info = await new Promise<SimInfo>((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
  });
  const ask = <T>(m: SimAsk) =>
    new Promise<T>((res) => {
      worker.once('message', res);
      worker.postMessage(m);
    });
  return {
    ...info,
    requests: (path: string, limit: number) => ask<SimRequest[]>({ ask: 'requests', path, limit }),
    events: (type: string) => ask<Record<string, unknown>[]>({ ask: 'events', type }),
    /** CPU seconds the simulator's thread has used so far (Linux), or null. */
    cpu: () => ask<number | null>({ ask: 'cpu' }),
    close: () =>
      new Promise<void>((res) => {
        worker.once('exit', () => res());
        worker.postMessage({ ask: 'stop' });
      }),
  };
}

// ---- load generator thread ----------------------------------------------------------------------------------

/** One batch of HTTP requests for the load thread: `bodies[i]` (and `headers[i]`, if per request) to `url`. */
interface LoadJob {
  url: string;
  headers: Record<string, string>;
  /** Added to `headers` per request, e.g. an Idempotency-Key or a signature. */
  perRequest?: Record<string, string>[];
  bodies: string[];
  concurrency: number;
  status: number;
  /** What the answer must say: a field path and the value it must have. */
  expect: { path: string[]; value: unknown };
  /**
   * The HTTP client: node's fetch (undici), or node:http with a keep-alive Agent of `concurrency` sockets (what a
   * webhook sender that posts thousands of events a second would use; about a fifth of fetch's CPU per request).
   * @defaultValue 'fetch'
   */
  client?: 'fetch' | 'http';
}

interface LoadResult {
  seconds: number;
  cpu?: number;
}

/**
 * The load thread: the callers (a shop's backend, Stripe's webhook sender) live outside the server under test, so
 * their HTTP client does not share its event loop. Baselines go through the same thread and the same client.
 */
function serveLoad() {
  parentPort!.on('message', async (job: LoadJob) => {
    let onDone = () => {};
    try {
      const client = job.client === 'http' ? keepAliveClient(job.url, job.concurrency) : fetchClient(job.url);
      onDone = () => client.close();
      const cpu0 = procCpu('/proc/thread-self/stat')?.cpu;
      const seconds = await inFlight(job.bodies.length, job.concurrency, async (i) => {
        const res = await client.post(
          job.perRequest ? { ...job.headers, ...job.perRequest[i] } : job.headers,
          job.bodies[i]!,
        );
        const text = res.text;
        if (res.status !== job.status) throw new Error(`request ${i}: HTTP ${res.status} ${text.slice(0, 400)}`);
        let v: unknown = JSON.parse(text);
        for (const k of job.expect.path) v = (v as Record<string, unknown> | undefined)?.[k];
        if (v !== job.expect.value) {
          throw new Error(`request ${i}: ${job.expect.path.join('.')} is ${String(v)}: ${text.slice(0, 400)}`);
        }
      });
      const cpu1 = procCpu('/proc/thread-self/stat')?.cpu;
      parentPort!.postMessage({ seconds, ...(cpu0 !== undefined && cpu1 !== undefined ? { cpu: cpu1 - cpu0 } : {}) });
    } catch (err) {
      parentPort!.postMessage({ error: (err as Error).message });
    } finally {
      onDone();
    }
  });
  parentPort!.postMessage('ready');
}

interface Client {
  post(headers: Record<string, string>, body: string): Promise<{ status: number; text: string }>;
  close(): void;
}

const fetchClient = (url: string): Client => ({
  async post(headers, body) {
    const res = await fetch(url, { method: 'POST', headers, body });
    return { status: res.status, text: await res.text() };
  },
  close() {},
});

/** POSTs with node:http over `sockets` kept-alive connections. */
function keepAliveClient(url: string, sockets: number): Client {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const post: Client['post'] = (headers, body) =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { post, close: () => agent.destroy() };
}

async function startLoadThread() {
  const worker = new Worker(__filename, { workerData: { load: true } });
  await new Promise((res, rej) => {
    worker.once('message', res);
    worker.once('error', rej);
  });
  return {
    /** Runs the job; resolves with its wall time in seconds and the CPU seconds the client used (Linux). */
    run: (job: LoadJob) =>
      new Promise<LoadResult>((res, rej) => {
        worker.once('message', (m: LoadResult & { error?: string }) => (m.error ? rej(new Error(m.error)) : res(m)));
        worker.postMessage(job);
      }),
    close: () => worker.terminate(),
  };
}

// ---- helpers ----------------------------------------------------------------------------------------------------

/** Runs `fn(0 … n-1)` with `concurrency` calls in flight; returns the wall time in seconds. */
async function inFlight(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  const lane = async () => {
    for (let i = next++; i < n; i = next++) await fn(i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const rate = (n: number, s: number) => Math.round(n / s);
const fmt = (n: number) => n.toLocaleString('en-US');

function metric(name: string, value: number, baseline: number) {
  const ratio = value / baseline;
  return JSON.stringify({
    bench: 'gateway',
    metric: name,
    value: Math.round(value),
    baseline: Math.round(baseline),
    ratio: Math.round(ratio * 1000) / 1000,
    target: TARGET,
    meets: ratio >= TARGET,
  });
}

// ---- main -------------------------------------------------------------------------------------------------------

/** CPU seconds (user + system) of a process or thread from /proc/…/stat, and its command name; Linux only. */
function procCpu(statPath: string): { cpu: number; comm: string } | undefined {
  try {
    const s = readFileSync(statPath, 'utf8');
    const close = s.lastIndexOf(')');
    const f = s.slice(close + 2).split(' '); // f[0] is field 3 (state): utime is field 14, stime 15
    return { cpu: (Number(f[11]) + Number(f[12])) / 100, comm: s.slice(s.indexOf('(') + 1, close) };
  } catch {
    return undefined;
  }
}

interface Measured {
  seconds: number;
  /** How busy the main thread's event loop (the server) was. */
  busy: number;
  /**
   * CPU seconds (Linux) of the main thread (the server; the client too for in-process runs), the PostgreSQL
   * backends serving the bench database (when local), the simulator's thread and the load thread.
   */
  cpu: { server?: number; postgres?: number; simulator?: number; client?: number };
}

/**
 * Runs `work` and measures what it cost: the server's event loop utilisation, and on Linux the CPU time of each
 * party (/proc). On a shared machine these say more than the wall time: they are what one operation costs, whatever
 * the neighbours do, and the ratio of throughputs follows the ratio of CPU per operation when the machine is busy.
 */
async function measured(
  work: () => Promise<number | LoadResult>,
  probes: { db?: { admin: pg.Client; name: string }; sim?: { cpu(): Promise<number | null> } } = {},
): Promise<Measured> {
  const backends = async () => {
    const out = new Map<number, number>();
    if (!probes.db) return out;
    const r = await probes.db.admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [
      probes.db.name,
    ]);
    for (const { pid } of r.rows) {
      const p = procCpu(`/proc/${pid}/stat`);
      if (p && /^postgres/.test(p.comm)) out.set(pid, p.cpu);
    }
    return out;
  };
  const server = () => procCpu(`/proc/self/task/${process.pid}/stat`)?.cpu;
  const pg0 = await backends();
  const sim0 = (await probes.sim?.cpu()) ?? undefined;
  const server0 = server();
  const elu0 = performance.eventLoopUtilization();
  const done = await work();
  const busy = performance.eventLoopUtilization(elu0).utilization;
  const server1 = server();
  const sim1 = (await probes.sim?.cpu()) ?? undefined;
  const pg1 = await backends();
  let postgres: number | undefined;
  // Backends that ended during the run are not counted (the pools keep theirs open while busy).
  for (const [pid, cpu] of pg1) postgres = (postgres ?? 0) + cpu - (pg0.get(pid) ?? 0);
  const cpu: Measured['cpu'] = {};
  if (server0 !== undefined && server1 !== undefined) cpu.server = server1 - server0;
  if (postgres !== undefined) cpu.postgres = postgres;
  if (sim0 !== undefined && sim1 !== undefined) cpu.simulator = sim1 - sim0;
  if (typeof done !== 'number' && done.cpu !== undefined) cpu.client = done.cpu;
  return { seconds: typeof done === 'number' ? done : done.seconds, busy, cpu };
}
const pct = (x: number) => `${Math.round(x * 100)}%`;
/** "event loop busy 96%; CPU per session: server 6.00 + postgres 7.95 + … = 14.8 ms" where known. */
function cpuPer(m: Measured, n: number, what: string): string {
  const parts = Object.entries(m.cpu).map(([k, v]) => `${k} ${((v * 1000) / n).toFixed(2)}`);
  const total = (Object.values(m.cpu).reduce((a, b) => a + b, 0) * 1000) / n;
  return `event loop busy ${pct(m.busy)}${parts.length ? `; CPU per ${what}: ${parts.join(' + ')} = ${total.toFixed(2)} ms` : ''}`;
}

async function main() {
  const sim = await startSimulatorThread();
  const load = await startLoadThread();
  const dbName = `clearhub_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BASE });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = BASE.replace(/\/[^/]*$/, `/${dbName}`);
  const store = await openStore(dbUrl);
  const queue = createQueue({});
  const servers: Server[] = [];
  const out: string[] = [];
  try {
    await store.migrate();

    // Debtors with open items, one per session (a paid session closes its items): measured run, warm-up, breakdown.
    const debtors = SESSIONS + WARMUP + BD_SESSIONS;
    await store.db
      .insertInto('tenants')
      .values({ tenant_id: TENANT, name: 'ACME Mobile', country: 'DE', currency: 'EUR' })
      .execute();
    const s0 = Date.now();
    for (let from = 0; from < debtors; from += 2000) {
      const ids = Array.from({ length: Math.min(2000, debtors - from) }, (_, k) => `C${from + k}`);
      await ingestBatch(store, {
        tenantId: TENANT,
        source: 'billing',
        debtorMatch: 'externalId',
        debtors: ids.map((externalId) => ({
          externalId,
          name: `Debtor ${externalId}`,
          type: 'B2C' as const,
          language: 'de',
          tags: [],
          email: `${externalId.toLowerCase()}@example.de`,
        })),
        items: ids.flatMap((externalId, k) =>
          Array.from({ length: ITEMS_PER_DEBTOR }, (_, j) => ({
            sourceKey: `${externalId}-${j}`,
            externalId,
            documentNumber: `INV-${externalId}-${j}`,
            currency: 'EUR',
            amountMinor: 1_000 + ((from + k) % 97) * 100 + j * 250,
            openMinor: 1_000 + ((from + k) % 97) * 100 + j * 250,
            dueDate: `2026-0${1 + j}-15`,
            dunningLevel: 0,
          })),
        ),
      });
    }
    const debtorIds = (
      await store.db.selectFrom('debtors').select('debtor_id').where('tenant_id', '=', TENANT).execute()
    ).map((r) => r.debtor_id);
    if (debtorIds.length !== debtors) throw new Error(`seeded ${debtorIds.length} debtors, expected ${debtors}`);
    console.log(
      `seeded ${fmt(debtors)} debtors with ${fmt(debtors * ITEMS_PER_DEBTOR)} open items in ${((Date.now() - s0) / 1000).toFixed(1)} s`,
    );

    const { ctx } = gatewayFor(store, {
      tenantId: TENANT,
      providers: {
        stripe: {
          secretKey: sim.secretKey,
          webhookSecret: sim.webhookSecret,
          host: sim.host,
          port: sim.port,
          protocol: 'http',
          timeoutMs: 20_000,
        },
      },
      methods: [{ method: 'card', provider: 'stripe' }],
    });
    // As `clearhub serve` logs: JSON lines at info (one per request), here into a sink.
    const logger = createLogger({
      level: process.env.BENCH_LOG_LEVEL ?? 'info',
      json: true,
      stream: new Writable({ write: (_c, _e, cb) => cb() }),
    });
    const app = createApp({
      store,
      services: {
        recordPayment: (i) => recordPayment(store, i),
        gateway: { ctx, queue, webhookTenant: () => TENANT },
      },
      logger,
    });
    const listen = async (server: Server) => {
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    };
    const api = await listen(createServer(app));
    const token = (await createApiKey(store, TENANT, 'bench')).token;

    // ---- 1. checkout ------------------------------------------------------------------------------------------
    const runId = randomBytes(3).toString('hex');
    const payBody = { method: 'card', methodData: { token: 'pm_card_visa' } };
    const checkouts = (from: number, n: number): LoadJob => ({
      url: `${api}/v1/checkout/sessions`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      perRequest: Array.from({ length: n }, (_, k) => ({ 'idempotency-key': `bench-${runId}-${from + k}` })),
      bodies: Array.from({ length: n }, (_, k) => JSON.stringify({ debtorId: debtorIds[from + k], pay: payBody })),
      concurrency: CONCURRENCY,
      status: 201,
      expect: { path: ['payment', 'state'], value: 'succeeded' },
    });
    await load.run(checkouts(SESSIONS, WARMUP));

    // The provider call exactly as the SDK made it (form body, Stripe-Version, User-Agent), replayed bare with a
    // fresh Idempotency-Key each (a replayed key would be answered from the simulator's cache).
    const [sdkCall] = await sim.requests('/v1/payment_intents', 1);
    if (sdkCall?.status !== 200) throw new Error('no successful SDK call to replay');
    const bareCalls = (tag: string, n: number): LoadJob => ({
      url: `${sim.url}/v1/payment_intents`,
      headers: {
        authorization: `Bearer ${sim.secretKey}`,
        'content-type': sdkCall.headers['content-type'] ?? 'application/x-www-form-urlencoded',
        ...(sdkCall.headers['stripe-version'] ? { 'stripe-version': sdkCall.headers['stripe-version'] } : {}),
        ...(sdkCall.headers['user-agent'] ? { 'user-agent': sdkCall.headers['user-agent'] } : {}),
      },
      perRequest: Array.from({ length: n }, (_, k) => ({ 'idempotency-key': `bare-${runId}-${tag}${k}` })),
      bodies: Array.from({ length: n }, () => sdkCall.rawBody),
      concurrency: CONCURRENCY,
      status: 200,
      expect: { path: ['status'], value: 'succeeded' },
    });
    await load.run(bareCalls('w', WARMUP));
    const dbProbe = { admin, name: dbName };
    const bare = await measured(() => load.run(bareCalls('m', SESSIONS)), { sim });
    const bareSeconds = bare.seconds;
    const bareRate = SESSIONS / bareSeconds;
    console.log(
      `baseline  bare POST /v1/payment_intents (fetch, ${CONCURRENCY} in flight): ${bareSeconds.toFixed(2)} s, ${fmt(rate(SESSIONS, bareSeconds))} calls/s (${sdkCall.rawBody.length} B form body; ${cpuPer(bare, SESSIONS, 'call')})`,
    );

    const co = await measured(() => load.run(checkouts(0, SESSIONS)), { db: dbProbe, sim });
    const checkoutRate = SESSIONS / co.seconds;
    console.log(
      `clearhub  POST /v1/checkout/sessions + pay (API, PostgreSQL, ${CONCURRENCY} in flight): ${co.seconds.toFixed(2)} s, ${fmt(rate(SESSIONS, co.seconds))} sessions/s (${cpuPer(co, SESSIONS, 'session')})`,
    );

    if (BREAKDOWN) {
      // What the route does, called in-process: no HTTP, no API key check, no Idempotency-Key bookkeeping.
      const first = SESSIONS + WARMUP;
      const direct = await measured(
        () =>
          inFlight(BD_SESSIONS, CONCURRENCY, async (k) => {
            const s = await createSession(ctx, TENANT, { debtorId: debtorIds[first + k]! });
            await paySession(ctx, TENANT, s.sessionId, { ...payBody, capture: 'automatic' });
            const v = await getSession(ctx, TENANT, s.sessionId);
            if (v.payment?.state !== 'succeeded') throw new Error(`in-process checkout ${k}: ${v.payment?.state}`);
          }),
        { db: dbProbe, sim },
      );
      console.log(
        `breakdown createSession + paySession + getSession in-process (no HTTP API): ${fmt(rate(BD_SESSIONS, direct.seconds))} sessions/s (${cpuPer(direct, BD_SESSIONS, 'session')})`,
      );
    }
    const paid = await store.db
      .selectFrom('payments')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('allocated_minor').as('allocated')])
      .where('tenant_id', '=', TENANT)
      .where('state', '=', 'succeeded')
      .executeTakeFirstOrThrow();
    const stillOpen = await store.db
      .selectFrom('items')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', TENANT)
      .where('status', '=', 'open')
      .executeTakeFirstOrThrow();
    if (Number(paid.n) !== debtors || Number(stillOpen.n) !== 0) {
      throw new Error(`expected ${debtors} succeeded payments and no open items; got ${paid.n} and ${stillOpen.n}`);
    }
    console.log(
      `          ${fmt(Number(paid.n))} payments succeeded, ${fmt(Number(paid.allocated))} minor units allocated, no item left open`,
    );
    out.push(metric('checkout_sessions_per_s', checkoutRate, bareRate));

    // ---- 2. webhooks ------------------------------------------------------------------------------------------
    // Real events of the simulator about our payments, re-issued under fresh ids until there are enough.
    const succeeded = await sim.events('payment_intent.succeeded');
    if (succeeded.length === 0) throw new Error('the simulator emitted no payment_intent.succeeded');
    const bodyOf = (i: number) =>
      JSON.stringify({ ...succeeded[i % succeeded.length], id: `evt_${runId}${String(i).padStart(18, '0')}` }, null, 2);
    // Signed as Stripe signs: HMAC-SHA256 of `t.body` with the endpoint secret (before the clock starts).
    const signatureOf = (body: string, t = Math.floor(Date.now() / 1000)) =>
      `t=${t},v1=${createHmac('sha256', sim.webhookSecret).update(`${t}.${body}`).digest('hex')}`;
    const deliveries = (url: string, from: number, n: number, expect: LoadJob['expect']): LoadJob => {
      const bodies = Array.from({ length: n }, (_, k) => bodyOf(from + k));
      return {
        url,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        },
        perRequest: bodies.map((body) => ({ 'stripe-signature': signatureOf(body) })),
        bodies,
        concurrency: CONCURRENCY,
        status: 200,
        expect,
        client: 'http',
      };
    };
    const webhookUrl = `${api}/v1/webhooks/stripe/${TENANT}`;
    const fresh = { path: ['fresh'], value: 1 };
    const warm = deliveries(webhookUrl, EVENTS, WARMUP, fresh);
    await load.run(warm);
    const intake = deliveries(webhookUrl, 0, EVENTS, fresh);
    const avgBytes = Math.round(intake.bodies.reduce((sum, b) => sum + Buffer.byteLength(b), 0) / EVENTS);

    // Baseline: the same bodies, one autocommit INSERT each, into a table shaped like webhook_deliveries.
    const basePool = new pg.Pool({ connectionString: dbUrl, max: POOL_MAX });
    let insertRate: number;
    try {
      await basePool.query(
        'CREATE TABLE bench_intake (id text PRIMARY KEY, body text NOT NULL, received_at timestamptz NOT NULL DEFAULT now())',
      );
      const insert = (prefix: string, bodies: string[]) => async (i: number) => {
        await basePool.query('INSERT INTO bench_intake (id, body) VALUES ($1, $2)', [`${prefix}${i}`, bodies[i]!]);
      };
      await inFlight(WARMUP, CONCURRENCY, insert('w', warm.bodies));
      const ins = await measured(() => inFlight(EVENTS, CONCURRENCY, insert('e', intake.bodies)), { db: dbProbe });
      const insertSeconds = ins.seconds;
      insertRate = EVENTS / insertSeconds;
      console.log(
        `baseline  INSERT + COMMIT of one row (${avgBytes} B body, pool ${POOL_MAX}, ${CONCURRENCY} in flight): ${insertSeconds.toFixed(2)} s, ${fmt(rate(EVENTS, insertSeconds))} rows/s (${cpuPer(ins, EVENTS, 'row')})`,
      );
    } finally {
      await basePool.end();
    }

    const wh = await measured(() => load.run(intake), { db: dbProbe });
    const intakeRate = EVENTS / wh.seconds;
    console.log(
      `clearhub  POST /v1/webhooks/stripe/:tenant, verified and committed (${CONCURRENCY} in flight): ${wh.seconds.toFixed(2)} s, ${fmt(rate(EVENTS, wh.seconds))} events/s (${cpuPer(wh, EVENTS, 'event')})`,
    );

    if (BREAKDOWN) {
      // The HTTP floor: a bare node:http server that reads the same bodies and answers, nothing else.
      const floorUrl = await listen(
        createServer((req, res) => {
          req.resume();
          req.on('end', () => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end('{"received":true,"events":1,"fresh":1}');
          });
        }),
      );
      const floor = await measured(() => load.run(deliveries(floorUrl, 0, BD_EVENTS, fresh)));
      console.log(
        `breakdown bare node:http server, same deliveries read and answered (no verification, no store): ${fmt(rate(BD_EVENTS, floor.seconds))} requests/s (${cpuPer(floor, BD_EVENTS, 'request')})`,
      );
      // The intake called in-process: verification, parse, the transaction, the queue; no HTTP.
      const first = EVENTS + WARMUP;
      const raws = Array.from({ length: BD_EVENTS }, (_, k) => {
        const body = bodyOf(first + k);
        return { headers: { 'content-type': 'application/json', 'stripe-signature': signatureOf(body) }, body };
      });
      const direct = await measured(
        () =>
          inFlight(BD_EVENTS, CONCURRENCY, async (k) => {
            const r = raws[k]!;
            const got = await receiveWebhook(ctx, queue, {
              tenantId: TENANT,
              provider: 'stripe',
              raw: { headers: r.headers, body: Buffer.from(r.body) },
            });
            if (got.fresh !== 1) throw new Error(`in-process delivery ${k}: not fresh`);
          }),
        { db: dbProbe },
      );
      console.log(
        `breakdown receiveWebhook in-process (no HTTP): ${fmt(rate(BD_EVENTS, direct.seconds))} events/s (${cpuPer(direct, BD_EVENTS, 'event')})`,
      );
    }
    const total = EVENTS + WARMUP + BD_EVENTS;
    const stored = await store.db
      .selectFrom('webhook_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', TENANT)
      .executeTakeFirstOrThrow();
    if (Number(stored.n) !== total) throw new Error(`stored ${stored.n} events, expected ${total}`);

    // Processing from the queue (the consumer of `clearhub worker`, concurrency 4), timed after intake.
    const p0 = process.hrtime.bigint();
    const consumer = await consumeWebhooks(ctx, queue, 4);
    for (;;) {
      const c = await queue.counts(WEBHOOK_QUEUE);
      if (c.waiting + c.active + c.delayed === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const processSeconds = Number(process.hrtime.bigint() - p0) / 1e9;
    await consumer.close();
    const outcomes = await store.db
      .selectFrom('webhook_events')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('tenant_id', '=', TENANT)
      .groupBy('status')
      .execute();
    console.log(
      `clearhub  processing from the queue (consumer concurrency 4): ${processSeconds.toFixed(2)} s, ${fmt(rate(total, processSeconds))} events/s (${outcomes.map((o) => `${o.status} ${o.n}`).join(', ')})`,
    );
    out.push(metric('webhook_events_per_s', intakeRate, insertRate));

    for (const line of out) console.log(line);
  } finally {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    await queue.close();
    await store.close();
    // pg's Pool.end() resolves before its connections are gone on the server side; wait for them, or the DROP
    // below terminates them and the store's pool reports each one after the last line.
    for (let k = 0; k < 100; k++) {
      const r = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [dbName]);
      if (r.rows[0].n === 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    await load.close();
    await sim.close();
  }
}

if (!isMainThread && (workerData as { simulator?: boolean })?.simulator) {
  serveSimulator().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else if (!isMainThread && (workerData as { load?: boolean })?.load) {
  serveLoad();
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
