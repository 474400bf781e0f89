/**
 * The Stripe simulator against Stripe's own OpenAPI spec (shared/contracts/psp/stripe, copied from stripe/openapi):
 * every path and operation it serves exists there; every field of every answer and every event it sends exists in
 * the schema it claims (types and enums too); every parameter the SDK sent through the provider exists in the
 * operation's request schema; every event type the simulator sends and the provider subscribes to is one Stripe
 * knows. The copied spec is from 2023-09 (API 2023-08-16) while the SDK pins 2026-10-28: the few names that are
 * newer are listed below with the release that brought them, and each is checked to be in the installed SDK's types.
 */
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { resolve } from 'node:path';
import Stripe from 'stripe';
import { parse } from 'yaml';
import { newId } from '../../src/domain/ids';
import { createStripeProvider, type StripeProvider } from '../../src/gateway/providers/stripe/provider';
import { STRIPE_WEBHOOK_EVENTS } from '../../src/gateway/providers/stripe/transformers';
import type { CreatePaymentInput, ProviderPayment } from '../../src/gateway/providers/types';
import { startWebhookSink, type WebhookSink } from '../simulators/shared/webhook-sink';
import type { FormValue } from '../simulators/stripe/form';
import { type RecordedRequest, type StripeSimulator, startStripeSimulator } from '../simulators/stripe/server';
import type { JsonObject } from '../simulators/stripe/state';

const REPO = resolve(__dirname, '../..');
const SPEC_PATH = resolve(REPO, '../shared/contracts/psp/stripe/spec3.2023-09-12.yaml');
const SDK_TYPES = resolve(REPO, 'node_modules/stripe/cjs/resources');
const KEY = 'sk_test_51ClearhubContractRun000000000';

/**
 * Names the 2023 spec cannot know: where they come from, and the SDK type file that must carry them.
 * Each entry is a request parameter (`POST /path param`), a response field (`schema.field`) or an event type.
 */
const NEWER_THAN_SPEC: Record<string, { since: string; sdkFile: string; needle: string }> = {
  'POST /v1/payment_intents allowed_payment_method_types': {
    since: 'stripe-node 22.4.0 (2026-07-29) added it; 23.0.0 removed payment_method_types from the params',
    sdkFile: 'PaymentIntents.d.ts',
    needle: 'allowed_payment_method_types?: Array<PaymentIntentCreateParams.AllowedPaymentMethodType>',
  },
  'payment_intent.allowed_payment_method_types': {
    since: 'stripe-node 22.4.0 (2026-07-29); required on PaymentIntent since then',
    sdkFile: 'PaymentIntents.d.ts',
    needle: 'allowed_payment_method_types: Array<PaymentIntent.AllowedPaymentMethodType> | null',
  },
  'POST /v1/checkout/sessions allowed_payment_method_types': {
    since: 'stripe-node 23.0.0 (API 2026-10-28) replaced payment_method_types with it on Checkout Sessions too',
    sdkFile: 'Checkout/Sessions.d.ts',
    needle: 'allowed_payment_method_types?: Array<SessionCreateParams.AllowedPaymentMethodType>',
  },
  'checkout.session.allowed_payment_method_types': {
    since: 'stripe-node 23.0.0 (API 2026-10-28)',
    sdkFile: 'Checkout/Sessions.d.ts',
    needle: 'allowed_payment_method_types: Array<string> | null',
  },
  'event refund.failed': {
    since: 'after API 2023-08-16 (enabled_events of the SDK 23.1.0 webhook endpoints)',
    sdkFile: 'WebhookEndpoints.d.ts',
    needle: "'refund.failed'",
  },
};

type Schema = {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  nullable?: boolean;
};
type Operation = {
  parameters?: { name: string; in: string; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
};
interface Spec {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

/**
 * Checks a value against an OpenAPI 3.0 schema and returns what does not fit, one line each. A field the schema does
 * not declare is a problem unless the schema leaves its properties open. `form` accepts form-encoded strings for
 * integers and booleans (request bodies arrive as text).
 */
function conform(
  spec: Spec,
  value: unknown,
  schema: Schema,
  path: string,
  o: { form?: boolean; allow?: Set<string> } = {},
  /** The component the schema is, when it is one (`payment_intent`), for {@link NEWER_THAN_SPEC}. */
  component?: string,
): string[] {
  let s = schema;
  let name = component;
  while (s.$ref) {
    name = s.$ref.replace('#/components/schemas/', '');
    const next = spec.components.schemas[name];
    if (!next) return [`${path}: refers to ${s.$ref}, which the spec does not have`];
    s = next;
  }
  const alts = s.anyOf ?? s.oneOf;
  if (alts) {
    if (value === null && s.nullable) return [];
    const results = alts.map((a) => conform(spec, value, a, path, o));
    if (results.some((r) => r.length === 0)) return [];
    return results.reduce((best, r) => (r.length < best.length ? r : best));
  }
  if (value === null) return s.nullable ? [] : [`${path}: null, but the schema does not allow null`];
  if (s.enum && !s.enum.includes(value))
    return [`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`];
  const kind = s.type ?? (s.properties ? 'object' : undefined);
  switch (kind) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return [`${path}: expected an object`];
      const out: string[] = [];
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const prop = s.properties?.[k];
        if (prop) out.push(...conform(spec, v, prop, `${path}.${k}`, o));
        else if (s.additionalProperties && typeof s.additionalProperties === 'object') {
          out.push(...conform(spec, v, s.additionalProperties, `${path}.${k}`, o));
        } else if (s.additionalProperties === true || (!s.properties && s.additionalProperties === undefined)) {
          // an open object (metadata-like or free-form)
        } else if (!o.allow?.has(`${name}.${k}`)) {
          out.push(`${path}.${k}: not in the schema`);
        }
      }
      return out;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path}: expected an array`];
      return value.flatMap((v, i) => (s.items ? conform(spec, v, s.items, `${path}[${i}]`, o) : []));
    case 'string':
      return typeof value === 'string' ? [] : [`${path}: expected a string`];
    case 'integer':
      if (o.form && typeof value === 'string') return /^-?\d+$/.test(value) ? [] : [`${path}: not an integer`];
      return Number.isInteger(value) ? [] : [`${path}: expected an integer`];
    case 'number':
      return typeof value === 'number' ? [] : [`${path}: expected a number`];
    case 'boolean':
      if (o.form && typeof value === 'string')
        return ['true', 'false'].includes(value) ? [] : [`${path}: not a boolean`];
      return typeof value === 'boolean' ? [] : [`${path}: expected a boolean`];
    default:
      return [];
  }
}

/** The spec's path template for a concrete path, e.g. `/v1/payment_intents/pi_1/capture` → `…/{intent}/capture`. */
function templateOf(spec: Spec, path: string): string | undefined {
  return Object.keys(spec.paths).find((t) => {
    const re = new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    return re.test(path);
  });
}

const hasSpec = existsSync(SPEC_PATH);
if (!hasSpec) {
  test.skip(`stripe simulator contract: ${SPEC_PATH} is absent, so the checks against Stripe's spec are skipped`, () => {});
} else {
  describe("stripe simulator against Stripe's OpenAPI spec", () => {
    let spec: Spec;
    let sim: StripeSimulator;
    let sink: WebhookSink;
    let provider: StripeProvider;
    /** Requests the provider and the SDK made in normal use (their parameters must all be in the spec). */
    let normal: RecordedRequest[];
    /** All requests, including the deliberately wrong ones (their error answers must be in the spec's shape). */
    let all: RecordedRequest[];
    /** Response fields newer than the spec, as `component.field`. */
    const allow = new Set(Object.keys(NEWER_THAN_SPEC).filter((k) => !k.includes(' ')));

    beforeAll(async () => {
      spec = parse(readFileSync(SPEC_PATH, 'utf8'), { maxAliasCount: -1 }) as Spec;
      sink = await startWebhookSink();
      sim = await startStripeSimulator({ webhookUrl: sink.url, apiKeys: [KEY] });
      provider = createStripeProvider({
        secretKey: sim.secretKey,
        webhookSecret: sim.webhookSecret,
        host: sim.host,
        port: sim.port,
        protocol: 'http',
        timeoutMs: 5_000,
      });
      const sdk = new Stripe(sim.secretKey, {
        host: sim.host,
        port: sim.port,
        protocol: 'http',
        telemetry: false,
        maxNetworkRetries: 0,
      });
      await playEverything(sim, provider, sdk);
      normal = [...sim.requests];
      await playErrors(sim, sdk);
      all = [...sim.requests];
      await sim.webhooks.idle();
    }, 60_000);

    afterAll(async () => {
      await sim?.close();
      await sink?.close();
    });

    test('every path and operation the simulator served is one of the spec', () => {
      const served = [...new Set(all.map((r) => `${r.method} ${templateOf(spec, r.path) ?? `${r.path} (unknown)`}`))];
      const missing = served.filter((s) => {
        const [method, template] = s.split(' ') as [string, string];
        return !spec.paths[template]?.[method.toLowerCase()];
      });
      expect(missing).toEqual([]);
      // What this run covered, so a gap shows when an endpoint stops being exercised.
      expect(served.sort()).toEqual([
        'GET /v1/charges/{charge}',
        'GET /v1/checkout/sessions/{session}',
        'GET /v1/disputes/{dispute}',
        'GET /v1/events/{id}',
        'GET /v1/payment_intents',
        'GET /v1/payment_intents/{intent}',
        'GET /v1/refunds',
        'GET /v1/refunds/{refund}',
        'POST /v1/checkout/sessions',
        'POST /v1/checkout/sessions/{session}/expire',
        'POST /v1/payment_intents',
        'POST /v1/payment_intents/{intent}/cancel',
        'POST /v1/payment_intents/{intent}/capture',
        'POST /v1/payment_intents/{intent}/confirm',
        'POST /v1/refunds',
      ]);
    });

    test('every field of every answer exists in the response schema, with its type and enum', () => {
      const problems: string[] = [];
      for (const r of all) {
        const op = spec.paths[templateOf(spec, r.path) ?? '']?.[r.method.toLowerCase()];
        if (!op) continue;
        const response = op.responses[String(r.status)] ?? op.responses.default;
        const schema = response?.content?.['application/json']?.schema;
        if (!schema) {
          problems.push(`${r.method} ${r.path} ${r.status}: no response schema`);
          continue;
        }
        for (const p of conform(spec, r.response, schema, '$', { allow }))
          problems.push(`${r.method} ${r.path} ${r.status} ${p}`);
      }
      expect(problems).toEqual([]);
      // Both kinds were checked: answers and Stripe error bodies (card error with its PaymentIntent, 400, 401, 404).
      expect(new Set(all.map((r) => r.status))).toEqual(new Set([200, 400, 401, 402, 404]));
    });

    test('every parameter the SDK sent through the provider exists in the request schema', () => {
      const problems: string[] = [];
      for (const r of normal) {
        const op = spec.paths[templateOf(spec, r.path) ?? '']?.[r.method.toLowerCase()];
        if (!op) continue;
        if (r.method === 'POST') {
          const schema = op.requestBody?.content['application/x-www-form-urlencoded']?.schema ?? {
            type: 'object',
            properties: {},
          };
          const body = Object.fromEntries(
            Object.entries(r.params).filter(([k]) => !NEWER_THAN_SPEC[`POST ${templateOf(spec, r.path)} ${k}`]),
          );
          for (const p of conform(spec, body, schema, '$', { form: true })) problems.push(`${r.method} ${r.path} ${p}`);
        } else {
          const query = op.parameters?.filter((p) => p.in === 'query') ?? [];
          for (const [k, v] of Object.entries(r.query)) {
            const param = query.find((p) => p.name === k);
            if (!param) problems.push(`${r.method} ${r.path} ?${k}: not a query parameter of the operation`);
            else if (param.schema) {
              for (const p of conform(spec, v as FormValue, param.schema, `?${k}`, { form: true }))
                problems.push(`${r.method} ${r.path} ${p}`);
            }
          }
        }
      }
      expect(problems).toEqual([]);
      // The provider's flows were all among them.
      expect(
        normal
          .filter((r) => r.method === 'POST')
          .map((r) => r.headers['idempotency-key'])
          .every(Boolean),
      ).toBe(true);
    });

    test('every event is an event of the spec, and its object fits the schema of its type', () => {
      const problems: string[] = [];
      for (const e of sim.events) {
        problems.push(...conform(spec, e, { $ref: '#/components/schemas/event' }, `${e.type}`));
        const object = (e.data as JsonObject).object as JsonObject;
        const schema = spec.components.schemas[String(object.object)];
        if (!schema) problems.push(`${e.type}: no schema for object ${String(object.object)}`);
        else problems.push(...conform(spec, object, schema, `${e.type}.data.object`, { allow }, String(object.object)));
      }
      expect(problems).toEqual([]);
      const kinds = new Set(sim.events.map((e) => String(((e.data as JsonObject).object as JsonObject).object)));
      expect(kinds).toEqual(new Set(['payment_intent', 'charge', 'refund', 'dispute', 'checkout.session']));
    });

    test('every event type sent, and every type the provider subscribes to, is one Stripe knows', () => {
      const body =
        spec.paths['/v1/webhook_endpoints']?.post?.requestBody?.content['application/x-www-form-urlencoded']?.schema;
      const known = new Set((body?.properties?.enabled_events?.items?.enum ?? []) as string[]);
      expect(known.size).toBeGreaterThan(100);
      const types = new Set([...sim.events.map((e) => String(e.type)), ...STRIPE_WEBHOOK_EVENTS]);
      const unknown = [...types].filter((t) => !known.has(t) && !NEWER_THAN_SPEC[`event ${t}`]);
      expect(unknown).toEqual([]);
    });

    test('the deliveries carry exactly the events, signed so that the SDK accepts them', () => {
      expect(sink.deliveries.length).toBe(sim.events.length);
      for (const d of sink.deliveries) {
        const e = Stripe.webhooks.constructEvent(d.body, d.headers['stripe-signature']!, sim.webhookSecret);
        expect(sim.events.some((x) => x.id === e.id)).toBe(true);
      }
    });

    test('names newer than the spec are really in the installed SDK', () => {
      for (const [name, n] of Object.entries(NEWER_THAN_SPEC)) {
        const text = readFileSync(resolve(SDK_TYPES, n.sdkFile), 'utf8');
        expect({ name, inSdk: text.includes(n.needle) }).toEqual({ name, inSdk: true });
      }
    });
  });
}

// ---- the traffic -------------------------------------------------------------------------------------------------

const base = (over: Partial<CreatePaymentInput> = {}): CreatePaymentInput => {
  const id = newId();
  return {
    paymentId: id,
    idempotencyKey: `payment:${id}:create`,
    amountMinor: 12_345,
    currency: 'EUR',
    method: 'card',
    providerType: 'card',
    capture: 'automatic',
    returnUrl: `https://shop.example/return/${id}`,
    description: `Invoice ${id}`,
    payer: { debtorId: 'D-1' },
    methodData: { token: 'pm_card_visa' },
    ...over,
  };
};

function challenge(p: ProviderPayment, outcome: 'approve' | 'reject'): Promise<Record<string, string>> {
  if (p.nextAction.type !== 'redirect') throw new Error('expected a redirect');
  const u = new URL(p.nextAction.url);
  u.searchParams.set('outcome', outcome);
  return new Promise((res, rej) =>
    get(u, (r) => {
      r.resume();
      res(Object.fromEntries(new URL(r.headers.location ?? 'http://x/').searchParams));
    }).on('error', rej),
  );
}

/** Every flow of the provider plus the reads a status sync or an operator makes, through the SDK. */
async function playEverything(sim: StripeSimulator, provider: StripeProvider, sdk: Stripe): Promise<void> {
  const paid = await provider.create(base());
  await provider.create(base({ methodData: { token: 'pm_card_chargeDeclinedInsufficientFunds' } }));
  for (const outcome of ['approve', 'reject'] as const) {
    const i = base({ methodData: { token: 'pm_card_threeDSecure2Required' } });
    const c = await provider.create(i);
    const back = await challenge(c, outcome);
    await provider.complete(c.providerReference, {
      paymentId: i.paymentId,
      idempotencyKey: `payment:${i.paymentId}:complete`,
      returnParams: back,
      capture: 'automatic',
    });
  }
  const m = base({ capture: 'manual' });
  const auth = await provider.create(m);
  await provider.capture(auth.providerReference, {
    paymentId: m.paymentId,
    amountMinor: 10_000,
    currency: 'EUR',
    idempotencyKey: `payment:${m.paymentId}:capture:1`,
  });
  const r1 = await provider.refund(auth.providerReference, {
    paymentId: m.paymentId,
    refundId: 'r1',
    amountMinor: 4_000,
    currency: 'EUR',
    idempotencyKey: `payment:${m.paymentId}:refund:r1`,
    reason: 'requested_by_customer',
  });
  sim.nextRefundStatus('pending');
  const r2 = await provider.refund(auth.providerReference, {
    paymentId: m.paymentId,
    refundId: 'r2',
    amountMinor: 1_000,
    currency: 'EUR',
    idempotencyKey: `payment:${m.paymentId}:refund:r2`,
  });
  sim.settleRefund(r2.providerRefundReference, 'failed');
  await provider.retrieve(auth.providerReference);
  const c = base({ capture: 'manual' });
  const toCancel = await provider.create(c);
  await provider.cancel(toCancel.providerReference, {
    paymentId: c.paymentId,
    idempotencyKey: `payment:${c.paymentId}:cancel`,
  });
  // Without a token: a redirect method waits for Stripe.js; a card goes through hosted Checkout (below).
  await provider.create(base({ methodData: undefined, method: 'ideal', providerType: 'ideal' }));
  await playCheckout(sim, provider, sdk);
  // Confirming separately (Stripe.js does this in the browser; an operator tool may do it from the server).
  const open = await sdk.paymentIntents.create({
    amount: 5_000,
    currency: 'eur',
    allowed_payment_method_types: ['card'],
  });
  await sdk.paymentIntents.confirm(
    open.id,
    { payment_method: 'pm_card_visa', return_url: 'https://shop.example/r' },
    { idempotencyKey: `confirm:${open.id}` },
  );
  // Disputes: an inquiry, and a dispute proper that is won.
  sim.createDispute(paid.providerReference, { inquiry: true });
  const disputed = await provider.create(base());
  const d = sim.createDispute(disputed.providerReference);
  sim.closeDispute(String(d.id), 'won');
  // Reads.
  const pi = await sdk.paymentIntents.retrieve(auth.providerReference, { expand: ['latest_charge.refunds'] });
  const chargeId = typeof pi.latest_charge === 'string' ? pi.latest_charge : (pi.latest_charge?.id ?? '');
  await sdk.charges.retrieve(chargeId, { expand: ['payment_intent', 'refunds'] });
  await sdk.refunds.retrieve(r1.providerRefundReference, { expand: ['charge'] });
  await sdk.refunds.list({ payment_intent: auth.providerReference, limit: 5 });
  await sdk.paymentIntents.list({ limit: 3, expand: ['data.latest_charge'] });
  await sdk.disputes.retrieve(String(d.id));
  await sdk.events.retrieve(String(sim.events[0]!.id));
}

/** Submits the simulator's hosted Checkout page as the payer's browser does and returns where it sends them. */
async function payOnPage(url: string, card: string): Promise<Record<string, string>> {
  const res = await fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ cardnumber: card, exp: '12/34', cvc: '123', name: 'Erika Mustermann' }).toString(),
  });
  await res.text();
  const location = res.headers.get('location');
  return location ? Object.fromEntries(new URL(location).searchParams) : {};
}

/** Hosted Checkout: paid, declined then given up (expired by the return), paid with manual capture, canceled. */
async function playCheckout(sim: StripeSimulator, provider: StripeProvider, sdk: Stripe): Promise<void> {
  const complete = (i: CreatePaymentInput, ref: string, returnParams: Record<string, string>) =>
    provider.complete(ref, {
      paymentId: i.paymentId,
      idempotencyKey: `payment:${i.paymentId}:complete`,
      returnParams,
      capture: i.capture,
    });
  const redirect = (p: ProviderPayment) => (p.nextAction.type === 'redirect' ? p.nextAction.url : '');
  const hosted = (over: Partial<CreatePaymentInput> = {}) => base({ methodData: undefined, locale: 'de-DE', ...over });

  const paid = hosted();
  const p = await provider.create(paid);
  await complete(paid, p.providerReference, await payOnPage(redirect(p), '4242424242424242'));

  const given = hosted();
  const g = await provider.create(given);
  await payOnPage(redirect(g), '4000000000009995');
  await complete(given, g.providerReference, { canceled: '1' });

  const manual = hosted({ capture: 'manual' });
  const m = await provider.create(manual);
  await complete(manual, m.providerReference, await payOnPage(redirect(m), '4242424242424242'));
  await provider.capture(m.providerReference, {
    paymentId: manual.paymentId,
    currency: 'EUR',
    idempotencyKey: `payment:${manual.paymentId}:capture:1`,
  });

  const left = hosted({ methodData: { extra: { expires_at: Math.floor(Date.now() / 1000) + 3600 } } });
  const l = await provider.create(left);
  await provider.cancel(l.providerReference, {
    paymentId: left.paymentId,
    idempotencyKey: `payment:${left.paymentId}:cancel`,
  });
  await sdk.checkout.sessions.retrieve(p.providerReference, { expand: ['payment_intent'] });
  sim.lapseCheckoutSession((await provider.create(hosted())).providerReference);
}

/** Answers that must be Stripe's error shape: unknown parameter, unknown object, bad key, idempotency misuse. */
async function playErrors(sim: StripeSimulator, sdk: Stripe): Promise<void> {
  const swallow = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      () => undefined,
    );
  await swallow(
    sdk.paymentIntents.create({ amount: 100, currency: 'eur', colour: 'blue' } as Stripe.PaymentIntentCreateParams),
  );
  await swallow(sdk.paymentIntents.retrieve('pi_doesNotExist'));
  await swallow(sdk.paymentIntents.capture('pi_doesNotExist'));
  await swallow(sdk.checkout.sessions.retrieve('cs_test_doesNotExist'));
  const done = [...sim.events].reverse().find((e) => e.type === 'checkout.session.completed');
  if (!done) throw new Error('no completed Checkout Session to expire');
  await swallow(sdk.checkout.sessions.expire(String(((done.data as JsonObject).object as JsonObject).id)));
  await swallow(
    sdk.checkout.sessions.create({
      mode: 'payment',
      success_url: 'https://shop.example/ok',
      line_items: [{ quantity: 1, price_data: { currency: 'eur', unit_amount: 5_000, product_data: { name: 'x' } } }],
      expires_at: Math.floor(Date.now() / 1000) + 60,
    }),
  );
  const key = `contract:${newId()}`;
  await sdk.paymentIntents.create({ amount: 100, currency: 'eur' }, { idempotencyKey: key });
  await swallow(sdk.paymentIntents.create({ amount: 200, currency: 'eur' }, { idempotencyKey: key }));
  const wrong = new Stripe('sk_test_notTheSimulatorsKeyButWellFormed', {
    host: sim.host,
    port: sim.port,
    protocol: 'http',
    telemetry: false,
    maxNetworkRetries: 0,
  });
  await swallow(wrong.paymentIntents.list());
}
