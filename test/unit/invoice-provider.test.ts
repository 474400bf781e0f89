/**
 * Pay on invoice: only where the checkout's eligibility rule allows it; pending with a due date of today plus the
 * payment term (dates by hand), paid when cash application reports the credit.
 */
import { createInvoiceProvider, type InvoiceEligibilityContext } from '../../src/gateway/providers/invoice/provider';
import type { CreatePaymentInput } from '../../src/gateway/providers/types';

const CONFIG = {
  creditorName: 'Demo Telco GmbH',
  iban: 'DE89370400440532013000',
  bic: 'COBADEFFXXX',
  paymentTermDays: 14,
};
const PAYMENT_ID = '0195f2a0-1234-7abc-8def-0123456789ab';

const input = (over: Partial<CreatePaymentInput> = {}): CreatePaymentInput => ({
  paymentId: PAYMENT_ID,
  idempotencyKey: `payment:${PAYMENT_ID}:create`,
  amountMinor: 4_990,
  currency: 'EUR',
  method: 'invoice',
  providerType: 'invoice',
  capture: 'automatic',
  returnUrl: 'https://shop.example/return',
  country: 'DE',
  locale: 'de-DE',
  payer: { debtorId: 'D-42', name: 'Erika Mustermann' },
  ...over,
});

describe('invoice provider', () => {
  test('eligible: pending, due in 14 days, with what to transfer where', async () => {
    const seen: InvoiceEligibilityContext[] = [];
    const inv = createInvoiceProvider({
      config: CONFIG,
      eligible: async (ctx) => {
        seen.push(ctx);
        return true;
      },
      now: () => new Date('2027-03-15T09:00:00Z'),
    });
    const p = await inv.create(input());
    expect(seen).toEqual([
      expect.objectContaining({
        amountMinor: 4_990,
        currency: 'EUR',
        country: 'DE',
        debtorId: 'D-42',
        paymentId: PAYMENT_ID,
      }),
    ]);
    // RF reference from the last 21 characters of the payment id: 47ABC8DEF0123456789AB → check digits 40.
    expect(p).toMatchObject({ status: 'pending', providerReference: 'RF4047ABC8DEF0123456789AB', capturedMinor: 0 });
    expect(p.nextAction).toEqual({
      type: 'await',
      dueDate: '2027-03-29',
      note: expect.stringMatching(
        /^Bitte überweisen Sie 49,90\s€ bis zum 29\. März 2027 an Demo Telco GmbH, IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX, Verwendungszweck RF40 47AB C8DE F012 3456 789A B\.$/,
      ),
    });
    expect(await inv.retrieve(p.providerReference)).toEqual(p);
  });

  test('not eligible: a decline (failed, not_supported), not an exception, and not offered', async () => {
    const inv = createInvoiceProvider({ config: CONFIG, eligible: (ctx) => ctx.amountMinor <= 1_000 });
    expect(await inv.isEligible({ amountMinor: 999, currency: 'EUR' })).toBe(true);
    expect(await inv.isEligible({ amountMinor: 4_990, currency: 'EUR' })).toBe(false);
    const p = await inv.create(input());
    expect(p).toMatchObject({ status: 'failed', nextAction: { type: 'none' }, decline: { code: 'not_supported' } });
    expect(p.providerReference).not.toMatch(/^RF/);
  });

  test('the due date counts from today where the creditor is: 23:30 UTC on 15 March is 16 March in Berlin', async () => {
    const inv = createInvoiceProvider({
      config: { ...CONFIG, paymentTermDays: 30 },
      eligible: () => true,
      now: () => new Date('2027-03-15T23:30:00Z'),
    });
    const p = await inv.create(input({ locale: 'en-GB', currency: 'CHF' }));
    expect(p.nextAction).toMatchObject({ type: 'await', dueDate: '2027-04-15' });
    expect(p.nextAction.type === 'await' && p.nextAction.note).toMatch(
      /^Please transfer CHF\s?49\.90 by 15 April 2027 to /,
    );
  });

  test('paid when the credits reach the amount; refunds and capture are refused; no webhooks', async () => {
    const inv = createInvoiceProvider({ config: CONFIG, eligible: () => true });
    const p = await inv.create(input({ methodData: { extra: { payableReference: 'RE 2027 0042' } } }));
    // RE20270042RF00 as digits is 271420270042271500; 98 - (that mod 97) = 48, worked out outside this code.
    expect(p.providerReference).toBe('RF48RE20270042');
    expect(
      await inv.recordTransfer(p.providerReference, { entryId: 'e1', amountMinor: 4_990, currency: 'EUR' }),
    ).toMatchObject({
      status: 'succeeded',
      capturedMinor: 4_990,
    });
    await expect(
      inv.refund(p.providerReference, {
        paymentId: PAYMENT_ID,
        refundId: 'r',
        amountMinor: 1,
        currency: 'EUR',
        idempotencyKey: 'r',
      }),
    ).rejects.toThrow(/^refund: /);
    await expect(
      inv.capture(p.providerReference, { paymentId: PAYMENT_ID, currency: 'EUR', idempotencyKey: 'c' }),
    ).rejects.toThrow(/^capture: /);
    await expect(inv.parseWebhook({ headers: {}, body: Buffer.from('') })).rejects.toMatchObject({
      reason: 'malformed',
    });
  });

  test('cancel an open invoice payment; without an eligibility rule there is no provider', async () => {
    const inv = createInvoiceProvider({ config: CONFIG, eligible: () => true });
    const p = await inv.create(input());
    expect(await inv.cancel(p.providerReference, { paymentId: PAYMENT_ID, idempotencyKey: 'c' })).toMatchObject({
      status: 'canceled',
    });
    expect(() => createInvoiceProvider({ config: CONFIG, eligible: undefined as unknown as () => boolean })).toThrow(
      /^eligible: /,
    );
    expect(() => createInvoiceProvider({ config: { ...CONFIG, paymentTermDays: -1 }, eligible: () => true })).toThrow(
      expect.objectContaining({ field: 'paymentTermDays' }),
    );
  });
});
