import { createHmac } from 'node:crypto';
import { Writable } from 'node:stream';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/api/logger';
import { recordPayment } from '../../src/gateway/payments';
import { WEBHOOK_QUEUE } from '../../src/gateway/webhooks';
import { createQueue } from '../../src/queue';
import type { QueueDriver } from '../../src/queue/types';
import { Runtime } from '../../src/runtime';
import type { Store } from '../../src/store/db';
import { gatewayFor } from '../helpers/gateway';
import { listen } from '../helpers/http';
import { STORE_FACTORIES } from '../helpers/stores';
import { makeHome } from '../helpers/tenant';

const TENANT = 'shop';
const SECRET = 'whsec_intake_test';

/** A Stripe event as Stripe sends it: pretty-printed, about a PaymentIntent that succeeded. */
function stripeEvent(id: string, piId = `pi_${id}`): string {
  return JSON.stringify(
    {
      id,
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      type: 'payment_intent.succeeded',
      livemode: false,
      pending_webhooks: 1,
      data: {
        object: {
          id: piId,
          object: 'payment_intent',
          amount: 11900,
          amount_received: 11900,
          currency: 'eur',
          status: 'succeeded',
          metadata: {},
        },
      },
    },
    null,
    2,
  );
}

const sign = (body: string, secret = SECRET, t = Math.floor(Date.now() / 1000)) =>
  `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;

describe.each(STORE_FACTORIES)('webhook intake (group commit) on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let queue: QueueDriver;
  let server: Awaited<ReturnType<typeof listen>> | undefined;
  let base: string;

  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
    await store.db
      .insertInto('tenants')
      .values({ tenant_id: TENANT, name: 'Shop', country: 'DE', currency: 'EUR' })
      .execute();
    const { ctx } = gatewayFor(store, {
      tenantId: TENANT,
      providers: {
        stripe: { secretKey: 'sk_test_intake', webhookSecret: SECRET, host: '127.0.0.1', port: 9, protocol: 'http' },
      },
      methods: [{ method: 'card', provider: 'stripe' }],
    });
    queue = createQueue({});
    const app = createApp({
      store,
      services: { recordPayment: (i) => recordPayment(store, i), gateway: { ctx, queue, webhookTenant: () => TENANT } },
      logger: createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) }),
    });
    server = await listen(app);
    base = server.base;
  });

  afterAll(async () => {
    await server?.close();
    await queue.close();
    await dispose();
  });

  const post = async (body: string, signature: string, path = `/v1/webhooks/stripe/${TENANT}`) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature },
      body,
    });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), id: res.headers.get('x-request-id'), text };
  };

  const events = (prefix: string) =>
    store.db
      .selectFrom('webhook_events')
      .select(['event_id', 'deliveries', 'status', 'delivery_id'])
      .where('tenant_id', '=', TENANT)
      .where('event_id', 'like', `${prefix}%`)
      .orderBy('event_id')
      .execute();
  const deliveries = async (prefix: string) =>
    (
      await store.db
        .selectFrom('webhook_deliveries')
        .select(['delivery_id', 'body', 'headers'])
        .where('tenant_id', '=', TENANT)
        .where('body', 'like', `%"${prefix}%`)
        .execute()
    ).length;
  const queued = async () => (await queue.counts(WEBHOOK_QUEUE)).waiting;

  test('50 deliveries at once, with repeats and a forged one: each answered, each event stored and queued once', async () => {
    const q0 = await queued();
    // 30 distinct events; events 0–9 are delivered twice more (Stripe retries, duplicates), all in one burst.
    const ids = [
      ...Array.from({ length: 30 }, (_, i) => `evt_burst_${String(i).padStart(2, '0')}`),
      ...Array.from({ length: 10 }, (_, i) => `evt_burst_${String(i).padStart(2, '0')}`),
      ...Array.from({ length: 10 }, (_, i) => `evt_burst_${String(i).padStart(2, '0')}`),
    ];
    const bodies = ids.map((id) => stripeEvent(id));
    const forged = stripeEvent('evt_burst_forged');
    const answers = await Promise.all([
      ...bodies.map((b) => post(b, sign(b))),
      post(forged, sign(forged, 'whsec_not_the_secret')),
    ]);

    const forgedAnswer = answers.pop()!;
    expect(forgedAnswer.status).toBe(400);
    expect(forgedAnswer.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(forgedAnswer.text).detail).toMatch(/webhook rejected: .*signature/i);

    expect(answers.map((a) => a.status)).toEqual(ids.map(() => 200));
    for (const a of answers) {
      expect(a.type).toBe('application/json; charset=utf-8');
      expect(a.id).toBeTruthy();
    }
    const acks = answers.map((a) => JSON.parse(a.text) as { received: boolean; events: number; fresh: number });
    expect(acks.every((a) => a.received && a.events === 1)).toBe(true);
    // Exactly one delivery of each event was answered as the fresh one.
    const freshById = new Map<string, number>();
    ids.forEach((id, k) => {
      freshById.set(id, (freshById.get(id) ?? 0) + acks[k]!.fresh);
    });
    expect([...freshById.values()]).toEqual(Array.from({ length: 30 }, () => 1));

    const stored = await events('evt_burst_');
    expect(stored).toHaveLength(30);
    expect(stored.map((e) => e.deliveries)).toEqual(Array.from({ length: 30 }, (_, i) => (i < 10 ? 3 : 1)));
    expect(stored.every((e) => e.status === 'received')).toBe(true);
    expect(await deliveries('evt_burst_')).toBe(50); // every verified delivery stored raw; the forged one not
    expect(await events('evt_burst_forged')).toHaveLength(0);
    expect((await queued()) - q0).toBe(30);

    // The same events again, later: all repeats, nothing new stored or queued.
    const again = await Promise.all(bodies.slice(0, 5).map((b) => post(b, sign(b))));
    expect(again.map((a) => [a.status, JSON.parse(a.text).fresh])).toEqual(again.map(() => [200, 0]));
    expect((await events('evt_burst_')).slice(0, 5).map((e) => e.deliveries)).toEqual([4, 4, 4, 4, 4]);
    expect((await queued()) - q0).toBe(30);
  });

  test('a body is stored exactly as received, whatever characters it holds', async () => {
    const body = stripeEvent('evt_exact_body').replace(
      '"livemode": false',
      '"livemode": false,\n  "description": "Grüße \\"quoted\\" \\\\ back\\tslash \\u2028 € 😀 </script>"',
    );
    expect(() => JSON.parse(body)).not.toThrow();
    const a = await post(body, sign(body));
    expect(a.status).toBe(200);
    const [stored] = await store.db
      .selectFrom('webhook_deliveries')
      .select(['body', 'headers'])
      .where('body', 'like', '%evt_exact_body%')
      .execute();
    expect(stored!.body).toBe(body);
    expect(stored!.headers).toMatchObject({ 'stripe-signature': expect.stringMatching(/^t=\d+,v1=[0-9a-f]{64}$/) });
  });

  test('a delivery the database refuses fails alone; the others in its batch are stored', async () => {
    // "\u0000" is valid JSON, and the signature is right, but PostgreSQL text cannot hold a NUL character.
    const poison = stripeEvent('evt_poison_\u0000x');
    const good = Array.from({ length: 8 }, (_, i) => stripeEvent(`evt_poison_ok_${i}`));
    const answers = await Promise.all([post(poison, sign(poison)), ...good.map((b) => post(b, sign(b)))]);
    expect(answers[0]!.status).toBe(500);
    expect(answers.slice(1).map((a) => a.status)).toEqual(good.map(() => 200));
    expect((await events('evt_poison_ok_')).map((e) => e.deliveries)).toEqual(good.map(() => 1));
  });

  test('a path the lean intake leaves to express (percent-encoded tenant) is served the same', async () => {
    const body = stripeEvent('evt_encoded_path');
    const a = await post(body, sign(body), `/v1/webhooks/stripe/sh%6Fp`);
    expect(a.status).toBe(200);
    expect(JSON.parse(a.text)).toEqual({ received: true, events: 1, fresh: 1 });
    expect(await events('evt_encoded_path')).toHaveLength(1);
    const forged = await post(body, sign(body, 'whsec_wrong'), `/v1/webhooks/stripe/sh%6Fp`);
    expect(forged.status).toBe(400);
  });

  test('the request id of the caller is echoed; an oversized body is refused with 413', async () => {
    const body = stripeEvent('evt_request_id');
    const res = await fetch(`${base}/v1/webhooks/stripe/${TENANT}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': sign(body), 'x-request-id': 'req-42.a' },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-42.a');
    const big = `{"pad":"${'x'.repeat(1024 * 1024)}"}`;
    const tooBig = await post(big, sign(big));
    expect(tooBig.status).toBe(413);
  });
});

describe('webhooks to a tenant the server does not have', () => {
  const env = makeHome({ smtpPort: 1 });
  let rt: Runtime;
  let server: Awaited<ReturnType<typeof listen>> | undefined;
  let base: string;

  beforeAll(async () => {
    rt = await Runtime.open({ home: env.home, databaseUrl: 'pglite:memory', redisUrl: '' });
    const app = createApp({
      store: rt.store,
      services: {
        recordPayment: (i) => recordPayment(rt.store, i),
        gateway: { ctx: rt.gateway(), webhookTenant: (p) => rt.webhookTenant(p) },
      },
      logger: createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) }),
    });
    server = await listen(app);
    base = server.base;
  });
  afterAll(async () => {
    await server?.close();
    await rt?.close();
  });

  test('are answered 404, naming no file of the server, and nothing is stored', async () => {
    const body = stripeEvent('evt_nobody');
    // The lean intake's spelling and one it leaves to express.
    for (const path of ['/v1/webhooks/stripe/nobody', '/v1/webhooks/stripe/nob%6Fdy']) {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': sign(body) },
        body,
      });
      const text = await res.text();
      expect(res.status).toBe(404);
      expect(JSON.parse(text)).toMatchObject({ type: 'urn:clearhub:problem:not-found', detail: 'no tenant "nobody"' });
      expect(text).not.toContain(env.home);
      expect(text).not.toContain('.yaml');
    }
    expect(await rt.store.db.selectFrom('webhook_deliveries').select('delivery_id').execute()).toEqual([]);
  });
});
