/**
 * The bank transfer provider as the checkout shows it: the payer gets our account, the amount, an RF reference and the
 * GiroCode payload; the payment waits until cash application reports the credit. RF check digits computed by hand
 * (ISO 7064 MOD 97-10).
 */
import { createBankTransferProvider } from '../../src/gateway/providers/bank-transfer/provider';
import type { CreatePaymentInput } from '../../src/gateway/providers/types';

const CONFIG = { creditorName: 'Demo Telco GmbH', iban: 'DE89 3704 0044 0532 0130 00', bic: 'COBADEFFXXX' };
const PAYMENT_ID = '0195f2a0-1234-7abc-8def-0123456789ab';

const input = (over: Partial<CreatePaymentInput> = {}): CreatePaymentInput => ({
  paymentId: PAYMENT_ID,
  idempotencyKey: `payment:${PAYMENT_ID}:create`,
  amountMinor: 11_900,
  currency: 'EUR',
  method: 'sepa_credit_transfer',
  providerType: 'sepa_credit_transfer',
  capture: 'automatic',
  returnUrl: 'https://shop.example/return',
  ...over,
});

describe('bank transfer provider', () => {
  test('create: pending, with bank instructions, an RF reference from the payment id and the EPC QR payload', async () => {
    const bt = createBankTransferProvider({ config: CONFIG });
    const p = await bt.create(input());
    // The last 21 characters of the payment id without dashes: 47ABC8DEF0123456789AB → check digits 40.
    const rf = 'RF4047ABC8DEF0123456789AB';
    expect(p).toMatchObject({
      status: 'pending',
      providerReference: rf,
      amountMinor: 11_900,
      currency: 'EUR',
      capturedMinor: 0,
    });
    expect(p.nextAction).toEqual({
      type: 'bank_instructions',
      creditorName: 'Demo Telco GmbH',
      iban: 'DE89370400440532013000',
      bic: 'COBADEFFXXX',
      amountMinor: 11_900,
      currency: 'EUR',
      reference: rf,
      qrPayload: [
        'BCD',
        '002',
        '1',
        'SCT',
        'COBADEFFXXX',
        'Demo Telco GmbH',
        'DE89370400440532013000',
        'EUR119.00',
        '',
        rf,
        '',
      ].join('\n'),
    });
    expect(await bt.retrieve(rf)).toEqual(p);
  });

  test('the reference of the payable (an invoice number) when the checkout passes one', async () => {
    const bt = createBankTransferProvider({ config: CONFIG });
    const p = await bt.create(input({ methodData: { extra: { payableReference: 'INV2024000123' } } }));
    expect(p.providerReference).toBe('RF04INV2024000123');
    // A second payment with the same reference while the first still waits would make the credit ambiguous.
    await expect(
      bt.create(
        input({ paymentId: 'p-2', idempotencyKey: 'k2', methodData: { extra: { payableReference: 'INV2024000123' } } }),
      ),
    ).rejects.toThrow(/^methodData\.extra\.payableReference: /);
    await expect(
      bt.create(
        input({ paymentId: 'p-3', idempotencyKey: 'k3', methodData: { extra: { payableReference: 'INV/2024' } } }),
      ),
    ).rejects.toThrow(/^methodData\.extra\.payableReference: /);
  });

  test('the money arrives in two credits; a statement read twice counts once', async () => {
    const bt = createBankTransferProvider({ config: CONFIG });
    const p = await bt.create(input());
    const credit = (entryId: string, amountMinor: number) =>
      bt.recordTransfer(p.providerReference, { entryId, amountMinor, currency: 'EUR' });
    expect(await credit('stmt-1/1', 5_000)).toMatchObject({ status: 'pending', capturedMinor: 5_000 });
    expect(await credit('stmt-1/1', 5_000)).toMatchObject({ status: 'pending', capturedMinor: 5_000 });
    const paid = await credit('stmt-2/7', 6_900);
    expect(paid).toMatchObject({ status: 'succeeded', capturedMinor: 11_900, nextAction: { type: 'none' } });
    await expect(bt.cancel(p.providerReference, { paymentId: PAYMENT_ID, idempotencyKey: 'c' })).rejects.toThrow(
      /^providerReference: /,
    );
  });

  test('cancel withdraws the instructions; the same create twice is one payment', async () => {
    const bt = createBankTransferProvider({ config: CONFIG });
    const a = await bt.create(input());
    expect((await bt.create(input())).providerReference).toBe(a.providerReference);
    await expect(bt.create(input({ idempotencyKey: 'other' }))).rejects.toThrow(/^idempotencyKey: /);
    const c = await bt.cancel(a.providerReference, { paymentId: PAYMENT_ID, idempotencyKey: 'c' });
    expect(c).toMatchObject({ status: 'canceled', nextAction: { type: 'none' } });
  });

  test('refused: other currencies, bad configuration, refunds, capture; no webhooks', async () => {
    const bt = createBankTransferProvider({ config: CONFIG });
    await expect(bt.create(input({ currency: 'CHF' }))).rejects.toThrow(/^currency: /);
    expect(() => createBankTransferProvider({ config: { ...CONFIG, iban: 'DE89370400440532013001' } })).toThrow(
      expect.objectContaining({ field: 'iban' }),
    );
    expect(() => createBankTransferProvider({ config: { ...CONFIG, bic: 'COBA' } })).toThrow(
      expect.objectContaining({ field: 'bic' }),
    );
    const p = await bt.create(input());
    await expect(
      bt.refund(p.providerReference, {
        paymentId: PAYMENT_ID,
        refundId: 'r',
        amountMinor: 1,
        currency: 'EUR',
        idempotencyKey: 'r',
      }),
    ).rejects.toThrow(/^refund: /);
    await expect(bt.parseWebhook({ headers: {}, body: Buffer.from('') })).rejects.toMatchObject({
      reason: 'malformed',
    });
  });
});
