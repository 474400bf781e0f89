import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createApiKey, revokeApiKey, verifyApiKey } from '../../src/api/api-keys';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/api/logger';
import { Debtor, ItemPage, OutboxPage, PaymentResponse, ProblemSchema } from '../../src/api/schemas';
import type { ApiServices } from '../../src/api/services';
import { recordPayment } from '../../src/gateway/payments';
import type { Store } from '../../src/store/db';
import { type IngestBatch, ingestBatch } from '../../src/store/ingest';
import { STORE_FACTORIES, type StoreFactory } from '../helpers/stores';

const SOURCE = 'billing';

/** Items of one tenant: debtor externalId → [sourceKey, amountMinor, dueDate][] */
function batch(tenantId: string, debtors: Record<string, [string, number, string][]>): IngestBatch {
  return {
    tenantId,
    source: SOURCE,
    debtorMatch: 'externalId',
    debtors: Object.keys(debtors).map((externalId) => ({
      externalId,
      name: `Customer ${externalId}`,
      type: 'B2C',
      language: 'de',
      tags: [],
    })),
    items: Object.entries(debtors).flatMap(([externalId, items]) =>
      items.map(([sourceKey, amountMinor, dueDate]) => ({
        sourceKey,
        externalId,
        documentNumber: `INV-${sourceKey}`,
        currency: 'EUR',
        amountMinor,
        openMinor: amountMinor,
        dueDate,
        dunningLevel: 0,
      })),
    ),
  };
}

const ITEMS_A = {
  C1: [
    ['A1', 11900, '2024-01-10'],
    ['A2', 5000, '2024-02-10'],
    ['A3', 2500, '2024-03-10'],
    ['A4', 990, '2024-04-10'],
  ],
  C2: [
    ['A5', 10000, '2024-01-15'],
    ['A6', 5000, '2024-02-15'],
    ['A7', 7000, '2024-03-15'],
  ],
} satisfies Record<string, [string, number, string][]>;
const ITEMS_B = {
  D1: [
    ['B1', 100, '2024-01-01'],
    ['B2', 200, '2024-01-02'],
    ['B3', 300, '2024-01-03'],
  ],
} satisfies Record<string, [string, number, string][]>;

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field and with the zod schemas
  body: any;
  text: string;
}

async function listen(app: ReturnType<typeof createApp>): Promise<{ server: Server; base: string }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

async function call(
  base: string,
  path: string,
  opts: {
    method?: string;
    token?: string;
    json?: unknown;
    raw?: string;
    contentType?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.json !== undefined || opts.raw !== undefined) {
    body = opts.raw ?? JSON.stringify(opts.json);
    headers['content-type'] = opts.contentType ?? 'application/json';
  }
  const res = await fetch(`${base}${path}`, {
    method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, text, body: type.includes('json') ? JSON.parse(text) : text };
}

function expectProblem(a: Answer, status: number, type: string): void {
  expect(a.status).toBe(status);
  expect(a.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(ProblemSchema.parse(a.body)).toMatchObject({ status, type: `urn:clearhub:problem:${type}` });
  expect(typeof a.body.title).toBe('string');
  expect(typeof a.body.detail).toBe('string');
  expect(a.text).not.toMatch(/node_modules|\.[jt]s:\d+/); // never a stack trace
}

function logCapture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'info', json: true, stream }) };
}

describe.each(STORE_FACTORIES.map((f) => [f.name, f] as [string, StoreFactory]))('HTTP API on %s', (_name, factory) => {
  let opened: Awaited<ReturnType<StoreFactory['open']>>;
  let store: Store;
  let server: Server;
  let base: string;
  let log: ReturnType<typeof logCapture>;
  let tokenA: string;
  let tokenB: string;
  let revokedToken: string;
  let debtorC1: string;
  let debtorC2: string;

  const debtorIdOf = async (tenantId: string, externalId: string) =>
    (
      await store.db
        .selectFrom('debtor_links')
        .select('debtor_id')
        .where('tenant_id', '=', tenantId)
        .where('source', '=', SOURCE)
        .where('external_id', '=', externalId)
        .executeTakeFirstOrThrow()
    ).debtor_id;

  const pay = (body: unknown, opts: { token?: string; key?: string } = {}) =>
    call(base, '/v1/payments', {
      token: opts.token ?? tokenA,
      json: body,
      headers: opts.key === '' ? {} : { 'idempotency-key': opts.key ?? 'till-1:receipt-1' },
    });

  beforeAll(async () => {
    opened = await factory.open();
    store = opened.store;
    await store.db
      .insertInto('tenants')
      .values([
        { tenant_id: 'tenant-a', name: 'A', country: 'DE', currency: 'EUR', profile: null },
        { tenant_id: 'tenant-b', name: 'B', country: 'DE', currency: 'EUR', profile: null },
      ])
      .execute();
    await ingestBatch(store, batch('tenant-a', ITEMS_A));
    await ingestBatch(store, batch('tenant-b', ITEMS_B));
    debtorC1 = await debtorIdOf('tenant-a', 'C1');
    debtorC2 = await debtorIdOf('tenant-a', 'C2');
    tokenA = (await createApiKey(store, 'tenant-a', 'counter')).token;
    tokenB = (await createApiKey(store, 'tenant-b', 'counter')).token;
    const old = await createApiKey(store, 'tenant-a', 'old');
    revokedToken = old.token;
    expect(await revokeApiKey(store, 'tenant-a', old.keyId)).toBe(true);

    log = logCapture();
    const services: ApiServices = { recordPayment: (input) => recordPayment(store, input) };
    ({ server, base } = await listen(createApp({ store, services, logger: log.logger })));
  });

  afterAll(async () => {
    if (server) await stop(server);
    await opened?.dispose();
  });

  describe('operations', () => {
    it('GET /healthz answers 200 while the process is up', async () => {
      const a = await call(base, '/healthz');
      expect(a.status).toBe(200);
      expect(a.body).toEqual({ status: 'ok' });
    });

    it('GET /readyz checks the store', async () => {
      const a = await call(base, '/readyz');
      expect(a.status).toBe(200);
      expect(a.body).toEqual({ status: 'ready', checks: { store: 'ok' } });
    });

    it('GET /readyz answers 503 naming the failing check of the readiness callback', async () => {
      const app = createApp({
        store,
        services: { recordPayment: (input) => recordPayment(store, input) },
        logger: logCapture().logger,
        readiness: async () => ({ ok: false, checks: { queue: 'unreachable', smtp: 'ok' } }),
      });
      const s = await listen(app);
      try {
        const a = await call(s.base, '/readyz');
        expectProblem(a, 503, 'unavailable');
        expect(a.body.detail).toContain('queue');
        expect(a.body.detail).not.toContain('smtp');
        expect(a.body.checks).toEqual({ store: 'ok', queue: 'unreachable', smtp: 'ok' });
      } finally {
        await stop(s.server);
      }
    });

    it('GET /readyz answers 503 when the store does not answer', async () => {
      const other = await factory.open();
      await other.dispose();
      const s = await listen(
        createApp({
          store: other.store,
          services: { recordPayment: () => Promise.reject(new Error('unused')) },
          logger: logCapture().logger,
        }),
      );
      try {
        const a = await call(s.base, '/readyz');
        expectProblem(a, 503, 'unavailable');
        expect(a.body.checks).toEqual({ store: 'failed' });
        expect(a.body.detail).toContain('store');
      } finally {
        await stop(s.server);
      }
    });

    it('GET /metrics counts requests by route pattern, not by raw URL', async () => {
      await call(base, '/healthz');
      await call(base, `/v1/debtors/${debtorC1}`, { token: tokenA });
      const a = await call(base, '/metrics');
      expect(a.status).toBe(200);
      expect(a.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(a.text).toMatch(/^clearhub_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]\d*$/m);
      expect(a.text).toMatch(
        /^clearhub_http_requests_total\{method="GET",route="\/v1\/debtors\/:id",status="200"\} [1-9]\d*$/m,
      );
      expect(a.text).toMatch(
        /^clearhub_http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/healthz",status="200"\} \d+$/m,
      );
      expect(a.text).toContain('process_cpu_seconds_total');
      expect(a.text).not.toContain(debtorC1);
    });

    it('GET /openapi.json is an OpenAPI 3.1 document built from the request schemas', async () => {
      const a = await call(base, '/openapi.json');
      expect(a.status).toBe(200);
      const doc = a.body;
      expect(doc.openapi).toMatch(/^3\.1\./);
      // The core routes, the gateway's and the webhooks are all documented (the dunning and cash rooms add theirs).
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/healthz',
          '/metrics',
          '/openapi.json',
          '/readyz',
          '/v1/debtors/{id}',
          '/v1/items',
          '/v1/outbox',
          '/v1/payments',
          '/v1/checkout/sessions',
          '/v1/checkout/sessions/{id}',
          '/v1/checkout/sessions/{id}/pay',
          '/v1/payments/{id}',
          '/v1/payments/{id}/capture',
          '/v1/payments/{id}/cancel',
          '/v1/payments/{id}/refunds',
          '/v1/webhooks/{provider}/{tenant}',
        ]),
      );
      const session = doc.paths['/v1/checkout/sessions'].post;
      expect(session.parameters).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true })]),
      );

      const post = doc.paths['/v1/payments'].post;
      const ref: string = post.requestBody.content['application/json'].schema.$ref;
      const request = doc.components.schemas[ref.replace('#/components/schemas/', '')];
      expect(request.type).toBe('object');
      expect(request.required).toEqual(expect.arrayContaining(['amount', 'method']));
      expect(request.additionalProperties).toBe(false);
      expect(Object.keys(request.properties)).toEqual(
        expect.arrayContaining([
          'amount',
          'debtorId',
          'externalId',
          'source',
          'itemIds',
          'method',
          'reference',
          'receivedAt',
        ]),
      );
      expect(request.properties.method.enum).toEqual(['cash', 'card_present', 'bank_transfer', 'cheque', 'other']);
      const amount = doc.components.schemas[request.properties.amount.$ref.replace('#/components/schemas/', '')];
      expect(amount.required).toEqual(['value', 'currency']);
      expect(post.parameters).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true })]),
      );
      expect(post.security).toEqual([{ apiKey: [] }]);
      expect(Object.keys(post.responses)).toEqual(
        expect.arrayContaining(['200', '201', '400', '401', '409', '422', '500']),
      );
      expect(post.responses['422'].content['application/problem+json'].schema).toEqual({
        $ref: '#/components/schemas/Problem',
      });

      expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(doc.components.schemas.Problem.required).toEqual(
        expect.arrayContaining(['type', 'title', 'status', 'detail']),
      );
      expect(doc.paths['/v1/items'].get.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
        'cursor',
        'debtorId',
        'limit',
        'status',
      ]);
      expect(doc.paths['/v1/debtors/{id}'].get.parameters).toEqual([
        expect.objectContaining({ name: 'id', in: 'path', required: true }),
      ]);
      expect(doc.paths['/healthz'].get.security).toEqual([]);
      for (const [path, ops] of Object.entries<Record<string, { security: unknown[] }>>(doc.paths)) {
        // Every /v1 route needs a tenant API key, except the providers' webhooks and SMS receipts (signed instead).
        const signed = path.startsWith('/v1/webhooks/') || path.startsWith('/v1/channels/sms/receipts/');
        const expected = signed ? [] : [{ apiKey: [] }];
        if (path.startsWith('/v1/'))
          for (const op of Object.values(ops))
            expect({ path, security: op.security }).toEqual({ path, security: expected });
      }
      // Every $ref resolves.
      for (const m of a.text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
        expect(doc.components.schemas[m[1]!]).toBeDefined();
    });

    it('answers an unknown route with a 404 problem', async () => {
      expectProblem(await call(base, '/v2/nothing'), 404, 'not-found');
      expectProblem(await call(base, '/v1/items', { method: 'DELETE', token: tokenA }), 404, 'not-found');
    });
  });

  describe('API keys', () => {
    it('rejects a request without a key', async () => {
      const a = await call(base, '/v1/items');
      expectProblem(a, 401, 'unauthorized');
      expect(a.headers.get('www-authenticate')).toMatch(/^Bearer /);
    });

    it('rejects a wrong secret for a real key id, a malformed token, another scheme and a revoked key', async () => {
      const keyId = tokenA.split('_')[1]!;
      const wrongSecret = `chk_${keyId}_${'A'.repeat(43)}`;
      for (const authorization of [
        `Bearer ${wrongSecret}`,
        'Bearer chk_nope',
        `Basic ${Buffer.from('a:b').toString('base64')}`,
        `Bearer ${revokedToken}`,
      ]) {
        const a = await call(base, '/v1/items', { headers: { authorization } });
        expectProblem(a, 401, 'unauthorized');
      }
      expect(await verifyApiKey(store, wrongSecret)).toBeNull();
      expect(await verifyApiKey(store, revokedToken)).toBeNull();
      expect(await verifyApiKey(store, tokenA)).toEqual({ tenantId: 'tenant-a', keyId });
    });

    it('stores only a hash of the secret', async () => {
      const secret = tokenA.slice(`chk_${tokenA.split('_')[1]}_`.length);
      const rows = await store.db.selectFrom('api_keys').select(['key_id', 'key_hash']).execute();
      for (const r of rows) expect(r.key_hash).not.toContain(secret);
    });

    it('rejects a key as soon as it is revoked', async () => {
      const k = await createApiKey(store, 'tenant-b', 'short-lived');
      expect((await call(base, '/v1/items', { token: k.token })).status).toBe(200);
      await revokeApiKey(store, 'tenant-b', k.keyId);
      expectProblem(await call(base, '/v1/items', { token: k.token }), 401, 'unauthorized');
    });

    it("keeps tenant B's key away from tenant A's items, debtors and payments", async () => {
      const b = await call(base, '/v1/items?limit=500', { token: tokenB });
      expect(b.status).toBe(200);
      expect(
        ItemPage.parse(b.body)
          .items.map((i) => i.sourceKey)
          .sort(),
      ).toEqual(['B1', 'B2', 'B3']);
      const a = await call(base, '/v1/items?limit=500', { token: tokenA });
      expect(
        ItemPage.parse(a.body)
          .items.map((i) => i.sourceKey)
          .sort(),
      ).toEqual(['A1', 'A2', 'A3', 'A4', 'A5', 'A6', 'A7']);

      expectProblem(await call(base, `/v1/debtors/${debtorC1}`, { token: tokenB }), 404, 'not-found');
      const foreign = await pay(
        { debtorId: debtorC1, amount: { value: '1.00', currency: 'EUR' }, method: 'cash' },
        { token: tokenB, key: 'b-1' },
      );
      expectProblem(foreign, 422, 'unprocessable');
      expect(foreign.body.errors).toEqual([expect.objectContaining({ path: 'debtorId' })]);
      const paymentsOfA = await store.db
        .selectFrom('payments')
        .select('payment_id')
        .where('debtor_id', '=', debtorC1)
        .execute();
      expect(paymentsOfA).toEqual([]);
    });
  });

  describe('problems', () => {
    it('answers malformed JSON with a 400 problem naming the parse error', async () => {
      const a = await call(base, '/v1/payments', {
        token: tokenA,
        raw: '{"amount": {"value": "1.00",',
        headers: { 'idempotency-key': 'k' },
      });
      expectProblem(a, 400, 'malformed-json');
      expect(a.body.detail).toMatch(/not valid JSON: .*JSON/);
    });

    it('lists the paths of schema violations', async () => {
      const a = await pay({ debtorId: debtorC1, amount: { currency: 'EUR' }, method: 'cash', tip: 1 });
      expectProblem(a, 400, 'validation');
      const paths = a.body.errors.map((e: { path: string }) => e.path);
      expect(paths).toEqual(expect.arrayContaining(['amount.value', 'tip']));

      const b = await pay({
        debtorId: debtorC1,
        amount: { value: '1,00', currency: 'eur' },
        method: 'gold',
        itemIds: ['x', ''],
      });
      expect(b.body.errors.map((e: { path: string }) => e.path)).toEqual(
        expect.arrayContaining(['amount.value', 'amount.currency', 'method', 'itemIds.1']),
      );

      const both = await pay({
        debtorId: debtorC1,
        externalId: 'C1',
        source: SOURCE,
        amount: { value: '1.00', currency: 'EUR' },
        method: 'cash',
      });
      expectProblem(both, 400, 'validation');
      expect(both.body.errors).toEqual([{ path: 'debtorId', message: expect.stringContaining('not both') }]);
      const half = await pay({ externalId: 'C1', amount: { value: '1.00', currency: 'EUR' }, method: 'cash' });
      expect(half.body.errors).toEqual([{ path: 'source', message: 'required with externalId' }]);
    });

    it('requires an Idempotency-Key', async () => {
      const a = await pay(
        { debtorId: debtorC1, amount: { value: '1.00', currency: 'EUR' }, method: 'cash' },
        { key: '' },
      );
      expectProblem(a, 400, 'missing-header');
      expect(a.body.errors).toEqual([{ path: 'Idempotency-Key', message: 'required' }]);
    });

    it('answers amounts the currency cannot carry with a 422 naming the field', async () => {
      const a = await pay(
        { debtorId: debtorC1, amount: { value: '10.001', currency: 'EUR' }, method: 'cash' },
        { key: 'k-422a' },
      );
      expectProblem(a, 422, 'unprocessable');
      expect(a.body.errors).toEqual([{ path: 'amount.value', message: expect.stringContaining('decimals') }]);
      const b = await pay(
        { debtorId: debtorC1, amount: { value: '10', currency: 'XXY' }, method: 'cash' },
        { key: 'k-422b' },
      );
      expect(b.body.errors).toEqual([
        { path: 'amount.currency', message: expect.stringContaining('unknown currency') },
      ]);
      const c = await pay(
        { debtorId: debtorC1, amount: { value: '0.00', currency: 'EUR' }, method: 'cash' },
        { key: 'k-422c' },
      );
      expectProblem(c, 422, 'unprocessable');
    });

    /** The payments recorded under an Idempotency-Key. */
    const paymentsUnder = (key: string) =>
      store.db
        .selectFrom('payments')
        .select('payment_id')
        .where('tenant_id', '=', 'tenant-a')
        .where('idempotency_key', '=', key)
        .execute();

    it('answers a NUL in a field, a query parameter or a path with a 400 naming it, and records nothing', async () => {
      const a = await pay(
        { debtorId: debtorC1, amount: { value: '1.00', currency: 'EUR' }, method: 'cash', reference: 'till 7\u0000' },
        { key: 'k-nul' },
      );
      expectProblem(a, 400, 'validation');
      expect(a.body.errors).toEqual([{ path: 'reference', message: expect.stringContaining('NUL') }]);
      expect(await paymentsUnder('k-nul')).toEqual([]);

      const q = await call(base, '/v1/items?debtorId=C1%00', { token: tokenA });
      expectProblem(q, 400, 'validation');
      expect(q.body.errors).toEqual([{ path: 'debtorId', message: expect.stringContaining('NUL') }]);
      const p = await call(base, '/v1/debtors/C1%00', { token: tokenA });
      expectProblem(p, 400, 'validation');
      expect(p.body.errors).toEqual([{ path: 'id', message: expect.stringContaining('NUL') }]);
    });

    it('answers a receivedAt in year 0000 with a 400 naming it, and records nothing', async () => {
      const a = await pay(
        {
          debtorId: debtorC1,
          amount: { value: '1.00', currency: 'EUR' },
          method: 'cash',
          receivedAt: '0000-01-01T10:00:00Z',
        },
        { key: 'k-year0' },
      );
      expectProblem(a, 400, 'validation');
      expect(a.body.errors).toEqual([{ path: 'receivedAt', message: 'no such day' }]);
      expect(await paymentsUnder('k-year0')).toEqual([]);
    });

    it('answers a path that is not percent-encoded with a 400 naming it, not a 500', async () => {
      const a = await call(base, '/v1/debtors/50%off', { token: tokenA });
      expectProblem(a, 400, 'bad-request');
      expect(a.body.detail).toContain("'50%off'");
    });

    it('answers a body that is not JSON with 415', async () => {
      const a = await call(base, '/v1/payments', {
        token: tokenA,
        raw: 'amount=1',
        contentType: 'text/plain',
        headers: { 'idempotency-key': 'k' },
      });
      expectProblem(a, 415, 'unsupported-media-type');
    });

    it('answers an unexpected error with a generic 500 that leaks nothing, and logs it scrubbed', async () => {
      const capture = logCapture();
      const failing: ApiServices = {
        recordPayment: async () => {
          throw new Error('connection to postgres://app:hunter2@db.internal/clearhub refused');
        },
      };
      const s = await listen(createApp({ store, services: failing, logger: capture.logger }));
      try {
        const a = await call(s.base, '/v1/payments', {
          token: tokenA,
          json: { debtorId: debtorC1, amount: { value: '1.00', currency: 'EUR' }, method: 'cash' },
          headers: { 'idempotency-key': 'k-500' },
        });
        expectProblem(a, 500, 'internal');
        expect(a.text).not.toContain('hunter2');
        expect(a.text).not.toContain('postgres');
        expect(a.text).not.toContain('db.internal');
        const requestId = a.headers.get('x-request-id')!;
        expect(a.body.detail).toContain(requestId);
        await new Promise((r) => setTimeout(r, 20));
        const logged = capture.lines.map((l) => JSON.parse(l));
        const error = logged.find((l) => l.message === 'unhandled error');
        expect(error).toMatchObject({ level: 'error', requestId, route: '/v1/payments', tenant: 'tenant-a' });
        expect(error.err.message).toContain('postgres://app:[REDACTED]@db.internal');
        expect(capture.lines.join('\n')).not.toContain('hunter2');
      } finally {
        await stop(s.server);
      }
    });
  });

  describe('POST /v1/payments', () => {
    const body = () => ({
      debtorId: debtorC2,
      amount: { value: '110.00', currency: 'EUR' },
      method: 'cash',
      reference: 'till-1/4711',
    });

    it('records a counter payment, allocates it oldest first and replays on the same key', async () => {
      const a = await pay(body(), { key: 'pay-c2-1' });
      expect(a.status).toBe(201);
      const r = PaymentResponse.parse(a.body);
      expect(r.payment.amount).toEqual({ value: '110.00', currency: 'EUR', minor: 11000 });
      expect(r.payment.allocated).toEqual({ value: '110.00', currency: 'EUR', minor: 11000 });
      expect(r.payment.state).toBe('succeeded');
      expect(r.replayed).toBe(false);
      expect(r.allocations).toEqual([
        {
          itemId: expect.any(String),
          documentNumber: 'INV-A5',
          amount: { value: '100.00', currency: 'EUR', minor: 10000 },
          cleared: true,
        },
        {
          itemId: expect.any(String),
          documentNumber: 'INV-A6',
          amount: { value: '10.00', currency: 'EUR', minor: 1000 },
          cleared: false,
        },
      ]);

      const again = await pay(body(), { key: 'pay-c2-1' });
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const replay = PaymentResponse.parse(again.body);
      expect(replay.payment).toEqual(r.payment);
      expect(replay.replayed).toBe(true);
      // The replay answers with the first response, allocations in the same order (oldest item first).
      expect(replay.allocations).toEqual(r.allocations);

      const items = ItemPage.parse((await call(base, `/v1/items?debtorId=${debtorC2}`, { token: tokenA })).body).items;
      const byKey = Object.fromEntries(items.map((i) => [i.sourceKey, i]));
      expect(byKey.A5).toMatchObject({ status: 'closed', open: { value: '0.00', currency: 'EUR', minor: 0 } });
      expect(byKey.A6).toMatchObject({ status: 'open', open: { value: '40.00', currency: 'EUR', minor: 4000 } });
      expect(byKey.A7?.open.minor).toBe(7000);
      const open = ItemPage.parse(
        (await call(base, `/v1/items?debtorId=${debtorC2}&status=open`, { token: tokenA })).body,
      ).items;
      expect(open.map((i) => i.sourceKey).sort()).toEqual(['A6', 'A7']);
    });

    it('answers 409 when the key was used for a different payment', async () => {
      const a = await pay({ ...body(), amount: { value: '111.00', currency: 'EUR' } }, { key: 'pay-c2-1' });
      expectProblem(a, 409, 'conflict');
      expect(a.body.errors).toEqual([expect.objectContaining({ path: 'Idempotency-Key' })]);
      // Same amount, but a different receipt number: still another payment, still a conflict.
      const b = await pay({ ...body(), reference: 'receipt-other' }, { key: 'pay-c2-1' });
      expectProblem(b, 409, 'conflict');
    });

    it('finds the debtor by customer number in a source', async () => {
      const a = await pay(
        { externalId: 'C1', source: SOURCE, amount: { value: '119.00', currency: 'EUR' }, method: 'card_present' },
        { key: 'pay-c1-1' },
      );
      expect(a.status).toBe(201);
      expect(PaymentResponse.parse(a.body).allocations).toEqual([
        expect.objectContaining({ documentNumber: 'INV-A1', cleared: true }),
      ]);
    });

    it('lists the write-backs it caused, tenant-scoped, with dead letters scrubbed', async () => {
      const all = OutboxPage.parse((await call(base, '/v1/outbox', { token: tokenA })).body).entries;
      expect(all).toHaveLength(3);
      expect(all.every((e) => e.kind === 'payment' && e.source === SOURCE && e.status === 'pending')).toBe(true);

      await store.db
        .updateTable('outbox')
        .set({ status: 'dead', attempts: 8, last_error: 'POST postgres://sap:s3cret@erp.example/odata failed: 500' })
        .where('outbox_id', '=', all[0]!.outboxId)
        .execute();
      const dead = OutboxPage.parse((await call(base, '/v1/outbox?status=dead', { token: tokenA })).body);
      expect(dead.entries).toEqual([
        expect.objectContaining({ outboxId: all[0]!.outboxId, status: 'dead', attempts: 8 }),
      ]);
      expect(dead.entries[0]!.lastError).toBe('POST postgres://sap:[REDACTED]@erp.example/odata failed: 500');

      const paged = await call(base, '/v1/outbox?limit=2', { token: tokenA });
      expect(OutboxPage.parse(paged.body).entries).toHaveLength(2);
      const rest = OutboxPage.parse(
        (await call(base, `/v1/outbox?limit=2&cursor=${paged.body.nextCursor}`, { token: tokenA })).body,
      );
      expect(rest.entries).toHaveLength(1);
      expect(rest.nextCursor).toBeNull();

      expect(OutboxPage.parse((await call(base, '/v1/outbox', { token: tokenB })).body).entries).toEqual([]);
    });
  });

  describe('reads', () => {
    it('pages items with a cursor, each item exactly once', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = cursor ? `&cursor=${cursor}` : '';
        const a = await call(base, `/v1/items?limit=3${q}`, { token: tokenA });
        expect(a.status).toBe(200);
        const page = ItemPage.parse(a.body);
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.items.map((i) => i.itemId));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(seen.length);
      const all = await store.db.selectFrom('items').select('item_id').where('tenant_id', '=', 'tenant-a').execute();
      expect(seen.sort()).toEqual(all.map((r) => r.item_id).sort());
    });

    it('takes a page size as digits only: 1e2 and 0x10 are refused naming limit, not read as 100 and 16', async () => {
      for (const limit of ['1e2', '0x10', '2.0', '0', '501']) {
        const a = await call(base, `/v1/items?limit=${limit}`, { token: tokenA });
        expectProblem(a, 400, 'validation');
        expect(a.body.errors).toEqual([{ path: 'limit', message: 'expected a whole number from 1 to 500' }]);
      }
      const two = await call(base, '/v1/items?limit=2', { token: tokenA });
      expect(ItemPage.parse(two.body).items).toHaveLength(2);
    });

    it('validates the query', async () => {
      const a = await call(base, '/v1/items?limit=0&status=paid&colour=red', { token: tokenA });
      expectProblem(a, 400, 'validation');
      expect(a.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['colour', 'limit', 'status']);
    });

    it('answers a cursor that no page handed out with a 400 naming it, not a 500', async () => {
      // "AA" decodes to a NUL byte, which PostgreSQL cannot compare; "_w" to a byte that is not UTF-8.
      for (const path of ['/v1/items?cursor=AA', '/v1/outbox?cursor=AA', '/v1/items?limit=2&cursor=_w']) {
        const a = await call(base, path, { token: tokenA });
        expectProblem(a, 400, 'validation');
        expect(a.body.errors).toEqual([{ path: 'cursor', message: 'expected a cursor from a previous page' }]);
      }
    });

    it('shows a debtor with its customer numbers and open items', async () => {
      const a = await call(base, `/v1/debtors/${debtorC1}`, { token: tokenA });
      expect(a.status).toBe(200);
      const d = Debtor.parse(a.body);
      expect(d).toMatchObject({
        debtorId: debtorC1,
        name: 'Customer C1',
        type: 'B2C',
        links: [{ source: SOURCE, externalId: 'C1' }],
      });
      // A1 (119.00) was paid at the counter above; A2–A4 stay open.
      expect(d.openItems).toEqual({
        count: 3,
        totals: [{ value: '84.90', currency: 'EUR', minor: 8490 }],
        oldestDueDate: '2024-02-10',
        maxDunningLevel: 0,
      });
      expectProblem(await call(base, '/v1/debtors/nobody', { token: tokenA }), 404, 'not-found');
    });
  });

  describe('request log', () => {
    it('writes one line per request with method, route, status, ms and tenant, and never the key', async () => {
      await call(base, '/v1/items?limit=1', { token: tokenA });
      await new Promise((r) => setTimeout(r, 20));
      const lines = log.lines.map((l) => JSON.parse(l));
      const line = lines.filter((l) => l.message === 'request' && l.route === '/v1/items').at(-1);
      expect(line).toMatchObject({ method: 'GET', route: '/v1/items', status: 200, tenant: 'tenant-a' });
      expect(typeof line.ms).toBe('number');
      expect(lines.find((l) => l.message === 'request' && l.status === 401)).toMatchObject({ tenant: null });
      const all = log.lines.join('\n');
      for (const token of [tokenA, tokenB, revokedToken])
        expect(all).not.toContain(token.split('_').slice(2).join('_'));
      expect(all).not.toMatch(/authorization/i);
      expect(all).not.toContain('till-1/4711'); // no bodies
    });
  });
});
