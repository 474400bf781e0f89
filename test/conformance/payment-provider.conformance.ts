import { ConnectorError } from '../../src/domain/errors';
import { newId } from '../../src/domain/ids';
import {
  type CreatePaymentInput,
  DECLINE_CODES,
  type ProviderPayment,
  type RawWebhook,
  WebhookRejected,
} from '../../src/gateway/providers/types';
import type { ProviderHarness, ProviderHarnessFactory } from './payment-provider.harness';

const AMOUNT = 12_345;

/**
 * The contract every SDK-backed payment provider keeps against its simulator: success, decline, a 3-D Secure or
 * redirect challenge, partial capture and refunds, an indeterminate call resolved by the webhook without paying
 * twice, a chargeback, and webhooks that are verified with the provider's real scheme.
 */
export function paymentProviderConformance(name: string, factory: ProviderHarnessFactory): void {
  describe(`payment provider conformance: ${name}`, () => {
    let h: ProviderHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => h.close());

    const input = (paymentId: string, over: Partial<CreatePaymentInput> = {}): CreatePaymentInput => ({
      paymentId,
      idempotencyKey: `payment:${paymentId}:create`,
      amountMinor: AMOUNT,
      currency: h.currency,
      method: h.method.id,
      providerType: h.method.providerType,
      capture: 'automatic',
      returnUrl: `https://shop.example/return/${paymentId}`,
      country: 'DE',
      locale: 'de-DE',
      description: `Invoice ${paymentId}`,
      payer: { debtorId: 'D-1', name: 'Erika Mustermann', email: 'erika@example.de' },
      methodData: h.scenarios.success,
      ...over,
    });

    /** Create, play the payer where a challenge or approval is asked for, and finish: what a checkout does. */
    const pay = async (i: CreatePaymentInput, outcome: 'approve' | 'reject' = 'approve'): Promise<ProviderPayment> => {
      const created = await h.provider.create(i);
      if (created.status !== 'requires_action') return created;
      const returnParams = await h.completeAction(created, outcome);
      return h.provider.complete(created.providerReference, {
        paymentId: i.paymentId,
        idempotencyKey: `payment:${i.paymentId}:complete`,
        returnParams,
        capture: i.capture,
      });
    };

    const eventsOf = async (w: RawWebhook) => h.provider.parseWebhook(w);
    const eventOfType = async (ref: string, type: string) => {
      const deadline = Date.now() + 8000;
      for (;;) {
        for (const d of h.sink.deliveries) {
          if (!d.body.toString('utf8').includes(ref)) continue;
          const found = (await eventsOf(d)).find(
            (e) => e.type === type && (e.providerReference === ref || e.paymentId === ref),
          );
          if (found) return { event: found, delivery: d };
        }
        if (Date.now() > deadline) {
          throw new Error(`no ${type} webhook for ${ref} (${h.sink.deliveries.length} deliveries)`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    test('a payment succeeds, is captured in full and its echo agrees', async () => {
      const id = newId();
      const p = await pay(input(id));
      expect(p.status).toBe('succeeded');
      expect(p.amountMinor).toBe(AMOUNT);
      expect(p.currency).toBe(h.currency);
      expect(p.capturedMinor).toBe(AMOUNT);
      const again = await h.provider.retrieve(p.providerReference);
      expect(again.status).toBe('succeeded');
      const { event } = await eventOfType(p.providerReference, 'payment.succeeded');
      expect(event.paymentId ?? id).toBe(id);
    });

    test('a decline is a result with a unified code, not an exception', async () => {
      const { amountMinor, ...data } = h.scenarios.decline;
      const p = await pay(input(newId(), { methodData: data, ...(amountMinor ? { amountMinor } : {}) }));
      expect(p.status).toBe('failed');
      expect(p.decline).toBeDefined();
      expect(DECLINE_CODES).toContain(p.decline?.code);
      expect(p.decline?.code).toBe(h.declineCode);
      expect(p.decline?.providerCode).not.toBe('');
    });

    test('a challenge sends the payer away and succeeds when approved', async () => {
      const i = input(newId(), { methodData: h.scenarios.challenge });
      const created = await h.provider.create(i);
      expect(created.status).toBe('requires_action');
      expect(['redirect', 'client_secret']).toContain(created.nextAction.type);
      const p = await pay({ ...i, paymentId: newId(), idempotencyKey: `payment:${newId()}:create` });
      expect(p.status).toBe('succeeded');
    });

    test('a rejected challenge fails the payment', async () => {
      const p = await pay(input(newId(), { methodData: h.scenarios.challenge }), 'reject');
      expect(['failed', 'canceled']).toContain(p.status);
    });

    test('an authorisation is captured in part and the rest released', async () => {
      if (!h.provider.capabilities.partialCapture) return;
      const id = newId();
      const auth = await pay(input(id, { capture: 'manual' }));
      expect(auth.status).toBe('authorized');
      expect(auth.capturedMinor).toBe(0);
      const part = 10_000;
      const captured = await h.provider.capture(auth.providerReference, {
        paymentId: id,
        amountMinor: part,
        currency: h.currency,
        idempotencyKey: `payment:${id}:capture:1`,
      });
      expect(captured.status).toBe('succeeded');
      expect(captured.capturedMinor).toBe(part);
      // The same capture retried (lost answer) books nothing more.
      await h.provider.capture(auth.providerReference, {
        paymentId: id,
        amountMinor: part,
        currency: h.currency,
        idempotencyKey: `payment:${id}:capture:1`,
      });
      expect(await h.capturesFor(auth.providerReference)).toBe(1);
    });

    test('an authorisation can be canceled', async () => {
      const id = newId();
      const auth = await pay(input(id, { capture: 'manual' }));
      expect(auth.status).toBe('authorized');
      const canceled = await h.provider.cancel(auth.providerReference, {
        paymentId: id,
        idempotencyKey: `payment:${id}:cancel`,
      });
      expect(canceled.status).toBe('canceled');
    });

    test('a partial refund, then the rest; the payment ends refunded', async () => {
      const id = newId();
      const p = await pay(input(id));
      expect(p.status).toBe('succeeded');
      const first = await h.provider.refund(p.providerReference, {
        paymentId: id,
        refundId: 'r1',
        amountMinor: 2_345,
        currency: h.currency,
        idempotencyKey: `payment:${id}:refund:r1`,
      });
      expect(first.amountMinor).toBe(2_345);
      expect(first.status).not.toBe('failed');
      // A retried refund request with the same key refunds once.
      await h.provider.refund(p.providerReference, {
        paymentId: id,
        refundId: 'r1',
        amountMinor: 2_345,
        currency: h.currency,
        idempotencyKey: `payment:${id}:refund:r1`,
      });
      if (h.provider.capabilities.statusSync) {
        const partly = await eventuallyStatus(p.providerReference, 'partially_refunded');
        expect(partly.refundedMinor).toBe(2_345);
      }
      await h.provider.refund(p.providerReference, {
        paymentId: id,
        refundId: 'r2',
        amountMinor: AMOUNT - 2_345,
        currency: h.currency,
        idempotencyKey: `payment:${id}:refund:r2`,
      });
      if (h.provider.capabilities.statusSync) {
        const all = await eventuallyStatus(p.providerReference, 'refunded');
        expect(all.refundedMinor).toBe(AMOUNT);
      }
      // Each refund is reported once by webhook with its amount; together they are the whole payment.
      const refunded = await refundEvents(p.providerReference, 2);
      expect(refunded.sort((a, b) => a - b)).toEqual([2_345, AMOUNT - 2_345].sort((a, b) => a - b));
    });

    test('a call that times out after the provider acted is indeterminate; the webhook and a retry settle it once', async () => {
      const id = newId();
      const i = input(id);
      await h.timeoutNextMoneyMovement();
      let thrown: unknown;
      try {
        await pay(i);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConnectorError);
      expect((thrown as ConnectorError).indeterminate).toBe(true);
      expect(String((thrown as Error).message)).not.toMatch(/sk_test|secret|apikey/i);
      // The provider took the money: a webhook says so, naming our payment (other events may come first).
      const { event } = await eventOfType(id, 'payment.succeeded');
      expect(event.paymentId ?? id).toBe(id);
      // Retrying with the same idempotency keys finds the same payment and moves no more money.
      const p = await pay(i);
      expect(p.status).toBe('succeeded');
      expect(await h.paymentsFor(id)).toBe(1);
      expect(await h.capturesFor(p.providerReference)).toBe(1);
    });

    test('a chargeback arrives as a signed webhook about the payment', async () => {
      const id = newId();
      const p = await pay(input(id));
      await h.chargeback(p.providerReference);
      const deadline = Date.now() + 8000;
      let found = false;
      while (!found && Date.now() < deadline) {
        for (const d of h.sink.deliveries) {
          const evs = await eventsOf(d);
          if (
            evs.some(
              (e) =>
                (e.type === 'payment.charged_back' || e.type === 'payment.dispute_opened') &&
                (e.providerReference === p.providerReference || e.paymentId === id),
            )
          ) {
            found = true;
          }
        }
        if (!found) await new Promise((r) => setTimeout(r, 50));
      }
      expect(found).toBe(true);
    });

    test('forged webhooks are rejected; a genuine one parses to the same events every time', async () => {
      const id = newId();
      const p = await pay(input(id));
      const { delivery } = await eventOfType(p.providerReference, 'payment.succeeded');
      const first = await eventsOf(delivery);
      const second = await eventsOf({ headers: { ...delivery.headers }, body: Buffer.from(delivery.body) });
      expect(second.map((e) => e.eventId)).toEqual(first.map((e) => e.eventId));

      const text = delivery.body.toString('utf8');
      // Change the amount (in minor or major units, as the provider writes it), else the reference.
      const major = (AMOUNT / 100).toFixed(2);
      const changed = text.includes(String(AMOUNT))
        ? text.replace(String(AMOUNT), String(AMOUNT + 100_00))
        : text.includes(major)
          ? text.replace(major, ((AMOUNT + 100_00) / 100).toFixed(2))
          : text.replace(p.providerReference, `${p.providerReference}x`);
      await expect(eventsOf({ headers: delivery.headers, body: Buffer.from(changed) })).rejects.toMatchObject({
        name: 'WebhookRejected',
      });
      for (const f of h.forgeries(delivery)) {
        const err = await eventsOf(f.webhook).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect({ forgery: f.name, rejected: err instanceof WebhookRejected }).toEqual({
          forgery: f.name,
          rejected: true,
        });
        expect({ forgery: f.name, reason: (err as WebhookRejected).reason }).toEqual({
          forgery: f.name,
          reason: f.reason,
        });
      }
    });

    /** Waits until `n` distinct refund events about `ref` have arrived and returns their amounts. */
    async function refundEvents(ref: string, n: number): Promise<number[]> {
      const deadline = Date.now() + 8000;
      for (;;) {
        const seen = new Map<string, number>();
        for (const d of h.sink.deliveries) {
          for (const e of await eventsOf(d)) {
            if (
              e.type === 'payment.refunded' &&
              (e.providerReference === ref || d.body.toString('utf8').includes(ref))
            ) {
              seen.set(e.eventId, e.amountMinor ?? Number.NaN);
            }
          }
        }
        if (seen.size >= n || Date.now() > deadline) {
          expect(seen.size).toBe(n);
          return [...seen.values()];
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    async function eventuallyStatus(ref: string, status: string): Promise<ProviderPayment> {
      const deadline = Date.now() + 5000;
      for (;;) {
        const p = await h.provider.retrieve(ref);
        if (p.status === status || Date.now() > deadline) {
          expect(p.status).toBe(status);
          return p;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
}
