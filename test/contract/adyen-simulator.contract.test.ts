/**
 * Holds the Adyen simulator (and the requests our provider sends it) to Adyen's own OpenAPI specs in
 * shared/contracts/psp/adyen: CheckoutService-v72.json for the API, Webhooks-v1.json for the Standard webhooks.
 * Every operation served exists in the spec; every request and response field exists in its schema (strictly: a
 * field the schema does not list is a finding, also where the spec leaves additionalProperties open); enum values
 * (resultCode, eventCode, status …) are the spec's; required fields are present; answers use a status the spec lists.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { newId } from '../../src/domain/ids';
import { createAdyenProvider } from '../../src/gateway/providers/adyen/connector';
import type { CreatePaymentInput, ProviderPayment } from '../../src/gateway/providers/types';
import { SERVED_OPERATIONS, startAdyenSimulator } from '../simulators/adyen/server';
import { startWebhookSink } from '../simulators/shared/webhook-sink';

const CONTRACTS = path.resolve(__dirname, '../../../shared/contracts');
const CHECKOUT = path.join(CONTRACTS, 'psp/adyen/CheckoutService-v72.json');
const WEBHOOKS = path.join(CONTRACTS, 'psp/adyen/Webhooks-v1.json');

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  required?: string[];
  enum?: unknown[];
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  'x-anyOf'?: Schema[];
};
type Spec = { components: { schemas: Record<string, Schema> } } & Record<string, unknown>;

function resolve(spec: Spec, s: Schema): Schema {
  let cur = s;
  while (cur.$ref) {
    const name = cur.$ref.replace('#/components/schemas/', '');
    const next = spec.components.schemas[name];
    if (!next) throw new Error(`unresolved ${cur.$ref}`);
    cur = next;
  }
  return cur;
}

/** Property names of the spec may hold placeholders (`riskdata.<name>`, `fraudCheck-<check ID>-<name>`). */
function propertyOf(props: Record<string, Schema>, key: string): Schema | undefined {
  if (props[key]) return props[key];
  for (const [name, s] of Object.entries(props)) {
    if (!name.includes('<')) continue;
    const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/<[^>]+>/g, '.+')}$`);
    if (re.test(key)) return s;
  }
  return undefined;
}

/** Findings of `value` against `schema`: unknown fields, missing required ones, enum and type mismatches. */
function check(spec: Spec, value: unknown, schemaIn: Schema, at: string): string[] {
  const schema = resolve(spec, schemaIn);
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) {
    const results = alternatives.map((alt) => check(spec, value, alt, at));
    if (results.some((r) => r.length === 0)) return [];
    return results.reduce((a, b) => (b.length < a.length ? b : a));
  }
  if (schema.allOf) {
    const merged: Schema = { type: 'object', properties: {}, required: [] };
    for (const part of schema.allOf) {
      const p = resolve(spec, part);
      Object.assign(merged.properties!, p.properties);
      merged.required!.push(...(p.required ?? []));
    }
    return check(spec, value, merged, at);
  }
  const out: string[] = [];
  if (schema.enum && !schema.enum.includes(value))
    out.push(`${at}: ${JSON.stringify(value)} is not one of the spec's values`);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (value === null || value === undefined) return out;
  if (type === 'string' && typeof value !== 'string') out.push(`${at}: expected a string`);
  if (type === 'integer' && !Number.isInteger(value)) out.push(`${at}: expected an integer`);
  if (type === 'boolean' && typeof value !== 'boolean') out.push(`${at}: expected a boolean`);
  if (type === 'array' || schema.items) {
    if (!Array.isArray(value)) return [...out, `${at}: expected an array`];
    value.forEach((v, i) => {
      out.push(...check(spec, v, schema.items ?? {}, `${at}[${i}]`));
    });
    return out;
  }
  if (type === 'object' || schema.properties || schema.additionalProperties !== undefined) {
    if (typeof value !== 'object' || Array.isArray(value)) return [...out, `${at}: expected an object`];
    const props: Record<string, Schema> = { ...schema.properties };
    // additionalData: an open map whose documented keys are in x-anyOf; hold our keys to those.
    for (const alt of schema['x-anyOf'] ?? []) Object.assign(props, resolve(spec, alt).properties);
    const strictKeys = schema.properties !== undefined || schema['x-anyOf'] !== undefined;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const p = propertyOf(props, k);
      if (p) out.push(...check(spec, v, p, `${at}.${k}`));
      else if (strictKeys || schema.additionalProperties === false) out.push(`${at}.${k}: not in the spec`);
      else if (typeof schema.additionalProperties === 'object') {
        out.push(...check(spec, v, schema.additionalProperties, `${at}.${k}`));
      }
    }
    for (const r of schema.required ?? []) {
      if (!(r in (value as object))) out.push(`${at}.${r}: required by the spec, missing`);
    }
  }
  return out;
}

const specsPresent = existsSync(CHECKOUT) && existsSync(WEBHOOKS);
if (!specsPresent) test.skip(`Adyen specs not found in ${CONTRACTS}/psp/adyen: contract test skipped`, () => {});
else
  describe('adyen simulator vs CheckoutService-v72.json and Webhooks-v1.json', () => {
    const checkout = JSON.parse(readFileSync(CHECKOUT, 'utf8')) as Spec & {
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: { content: Record<string, { schema: Schema }> };
            responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
          }
        >
      >;
    };
    const webhooks = JSON.parse(readFileSync(WEBHOOKS, 'utf8')) as Spec & {
      webhooks: Record<string, { post: { requestBody: { content: Record<string, { schema: Schema }> } } }>;
    };

    const card = (pan: string, holderName?: string) => ({
      encryptedCardNumber: `test_${pan}`,
      encryptedExpiryMonth: 'test_03',
      encryptedExpiryYear: 'test_2030',
      encryptedSecurityCode: 'test_737',
      ...(holderName ? { holderName } : {}),
    });

    let traffic: Awaited<ReturnType<typeof exercise>>;
    beforeAll(async () => {
      traffic = await exercise();
    });

    /** Drives the simulator through every operation and outcome the provider meets, errors included. */
    async function exercise() {
      const sink = await startWebhookSink();
      const sim = await startAdyenSimulator({ webhookUrl: sink.url });
      const config = {
        apiKey: sim.apiKey,
        merchantAccount: sim.merchantAccount,
        hmacKeyHex: sim.hmacKeyHex,
        baseUrl: sim.url,
        timeoutMs: 5000,
      };
      const provider = createAdyenProvider(config);
      const input = (over: Partial<CreatePaymentInput> = {}): CreatePaymentInput => {
        const paymentId = newId();
        return {
          paymentId,
          idempotencyKey: `payment:${paymentId}:create`,
          amountMinor: 2_500,
          currency: 'EUR',
          method: 'card',
          providerType: 'scheme',
          capture: 'automatic',
          returnUrl: `https://shop.example/return/${paymentId}`,
          country: 'DE',
          locale: 'de-DE',
          payer: { debtorId: 'D-200', email: 'max@example.de' },
          methodData: { extra: card('4111111111111111') },
          ...over,
        };
      };
      const complete = async (p: ProviderPayment, i: CreatePaymentInput, outcome: 'approve' | 'reject') => {
        if (p.nextAction.type !== 'redirect') throw new Error('expected a redirect');
        const page = new URL(p.nextAction.url);
        page.searchParams.set('outcome', outcome);
        const res = await fetch(page, { redirect: 'manual' });
        const back = new URL(res.headers.get('location')!);
        return provider.complete(p.providerReference, {
          paymentId: i.paymentId,
          idempotencyKey: `payment:${i.paymentId}:complete`,
          returnParams: Object.fromEntries(back.searchParams),
          capture: i.capture,
        });
      };
      const swallow = (p: Promise<unknown>) => p.catch(() => undefined);

      const paid = input();
      const p = await provider.create(paid);
      await provider.create(paid); // replayed
      await provider.refund(p.providerReference, {
        paymentId: paid.paymentId,
        refundId: 'r1',
        amountMinor: 500,
        currency: 'EUR',
        idempotencyKey: `payment:${paid.paymentId}:refund:r1`,
      });
      await provider.refund(p.providerReference, {
        paymentId: paid.paymentId,
        refundId: 'r2',
        amountMinor: 9_000,
        currency: 'EUR',
        idempotencyKey: `payment:${paid.paymentId}:refund:r2`,
      });
      sim.chargeback(p.providerReference);
      sim.reverseChargeback(p.providerReference);

      const manual = input({ capture: 'manual' });
      const auth = await provider.create(manual);
      await provider.capture(auth.providerReference, {
        paymentId: manual.paymentId,
        amountMinor: 1_000,
        currency: 'EUR',
        idempotencyKey: `payment:${manual.paymentId}:capture:1`,
      });
      await provider.capture(auth.providerReference, {
        paymentId: manual.paymentId,
        amountMinor: 1_000,
        currency: 'EUR',
        idempotencyKey: `payment:${manual.paymentId}:capture:2`,
      }); // fails: the rest was released
      const toCancel = input({ capture: 'manual' });
      const auth2 = await provider.create(toCancel);
      await provider.cancel(auth2.providerReference, {
        paymentId: toCancel.paymentId,
        idempotencyKey: `payment:${toCancel.paymentId}:cancel`,
      });
      await provider.cancel(auth.providerReference, {
        paymentId: manual.paymentId,
        idempotencyKey: `payment:${manual.paymentId}:cancel`,
      }); // fails: already captured

      for (const outcome of ['approve', 'reject'] as const) {
        const i = input({ methodData: { extra: card('4212345678901237') } });
        await complete(await provider.create(i), i, outcome);
      }
      const ideal = input({ providerType: 'ideal', method: 'ideal', methodData: {} });
      await complete(await provider.create(ideal), ideal, 'approve');
      await provider.create(input({ methodData: { extra: card('4111111111111111', 'NOT_ENOUGH_BALANCE') } }));
      await provider.create(input({ methodData: { extra: card('4111111111111111', 'ERROR') } }));
      const first = await provider.create(input({ recurring: 'first' }));
      await provider.create(input({ recurring: 'subsequent', methodData: { mandateId: first.recurringReference! } }));

      // errors: validation, idempotency conflict, unknown payment, wrong key, wrong merchant account, 5xx
      await swallow(provider.create(input({ methodData: { extra: card('4111111111111112') } })));
      await swallow(provider.create({ ...paid, amountMinor: 1 }));
      await swallow(
        provider.capture('UNKNOWN0PSP00000', {
          paymentId: 'x',
          amountMinor: 1,
          currency: 'EUR',
          idempotencyKey: `payment:${newId()}:capture:1`,
        }),
      );
      await swallow(createAdyenProvider({ ...config, apiKey: 'AQE_wrong' }).create(input()));
      await swallow(createAdyenProvider({ ...config, merchantAccount: 'OtherECOM' }).create(input()));
      sim.failNext(1, 500);
      await swallow(provider.create(input()));

      await sim.webhooksIdle();
      const result = { exchanges: [...sim.exchanges], notifications: [...sim.notifications] };
      await sim.close();
      await sink.close();
      return result;
    }

    test('the schema check finds unknown fields, foreign enum values and missing required fields', () => {
      const schemas = checkout.components.schemas;
      expect(
        check(checkout, { resultCode: 'Paid', pspReference: 'X', bogus: 1 }, schemas.PaymentResponse!, 'r'),
      ).toEqual(['r.resultCode: "Paid" is not one of the spec\'s values', 'r.bogus: not in the spec']);
      expect(check(checkout, { additionalData: { notAKey: 'x' } }, schemas.PaymentResponse!, 'r')).toEqual([
        'r.additionalData.notAKey: not in the spec',
      ]);
      expect(check(checkout, { status: 'received' }, schemas.PaymentCaptureResponse!, 'c')).toEqual(
        ['amount', 'merchantAccount', 'paymentPspReference', 'pspReference'].map(
          (f) => `c.${f}: required by the spec, missing`,
        ),
      );
      const request = {
        merchantAccount: 'M',
        amount: { value: 1, currency: 'EUR' },
        reference: 'r',
        returnUrl: 'https://x',
        paymentMethod: { type: 'scheme', encryptedCardNumber: 'test_4111111111111111', bogusField: 'x' },
      };
      expect(check(checkout, request, schemas.PaymentRequest!, 'p').length).toBeGreaterThan(0);
      const item = { NotificationRequestItem: { eventCode: 'CAPTURE', additionalData: { madeUp: 'x' } } };
      expect(
        check(
          webhooks,
          { live: 'false', notificationItems: [item] },
          webhooks.components.schemas.CaptureNotificationRequest!,
          'w',
        ),
      ).toEqual(
        expect.arrayContaining([
          'w.notificationItems[0].NotificationRequestItem.additionalData.madeUp: not in the spec',
        ]),
      );
    });

    test('every operation the simulator serves exists in the spec as a POST', () => {
      for (const op of SERVED_OPERATIONS)
        expect({ op, post: Boolean(checkout.paths[op]?.post) }).toEqual({ op, post: true });
      expect(new Set(traffic.exchanges.map((e) => e.operation))).toEqual(new Set(SERVED_OPERATIONS));
    });

    test('requests (ours) and answers (the simulator’s) fit their schemas, with a status the spec lists', () => {
      const findings: string[] = [];
      for (const e of traffic.exchanges) {
        const op = checkout.paths[e.operation]!.post!;
        const where = `${e.method} ${e.operation} → ${e.status}`;
        const reqSchema = op.requestBody?.content['application/json']?.schema;
        if (reqSchema) findings.push(...check(checkout, e.requestBody, reqSchema, `${where} request`));
        const answer = op.responses[String(e.status)];
        if (!answer) {
          findings.push(`${where}: status not in the spec (${Object.keys(op.responses).join(', ')})`);
          continue;
        }
        const resSchema = answer.content?.['application/json']?.schema;
        if (resSchema) findings.push(...check(checkout, e.responseBody, resSchema, `${where} response`));
      }
      expect(findings).toEqual([]);
      expect(new Set(traffic.exchanges.map((e) => e.status))).toEqual(new Set([200, 201, 401, 403, 422, 500]));
    });

    test('resultCodes and modification statuses are values of the spec’s enums, and every outcome is exercised', () => {
      const resultCodes = checkout.components.schemas.PaymentResponse!.properties!.resultCode!.enum!;
      const seen = new Set(
        traffic.exchanges
          .map((e) => (e.responseBody as { resultCode?: string } | undefined)?.resultCode)
          .filter((c): c is string => c !== undefined),
      );
      for (const c of seen) expect(resultCodes).toContain(c);
      expect([...seen].sort()).toEqual(['Authorised', 'Error', 'RedirectShopper', 'Refused']);
      const errors = traffic.exchanges
        .filter((e) => e.status >= 400)
        .map((e) => (e.responseBody as { errorCode: string }).errorCode);
      expect(new Set(errors)).toEqual(new Set(['000', '101', '167', '704', '901']));
    });

    test('webhooks fit the schema of their event code: fields, additionalData keys, eventCode enum', () => {
      const findings: string[] = [];
      const codes = new Set<string>();
      for (const body of traffic.notifications) {
        const parsed = JSON.parse(body) as { notificationItems: { NotificationRequestItem: { eventCode: string } }[] };
        const code = parsed.notificationItems[0]!.NotificationRequestItem.eventCode;
        codes.add(code);
        const hook = webhooks.webhooks[`/${code}`];
        if (!hook) {
          findings.push(`${code}: no such webhook in the spec`);
          continue;
        }
        findings.push(...check(webhooks, parsed, hook.post.requestBody.content['application/json']!.schema, code));
      }
      expect(findings).toEqual([]);
      const enumCodes = webhooks.components.schemas.NotificationRequestItem!.properties!.eventCode!.enum!;
      for (const c of codes) expect(enumCodes).toContain(c);
      expect([...codes].sort()).toEqual([
        'AUTHORISATION',
        'CANCELLATION',
        'CAPTURE',
        'CHARGEBACK',
        'CHARGEBACK_REVERSED',
        'NOTIFICATION_OF_CHARGEBACK',
        'REFUND',
      ]);
    });
  });
