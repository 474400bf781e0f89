import { z } from 'zod';
import { Amount, AmountInput, id, named, requestSchemas, responseSchemas } from './schemas';

// Where the payer's browser is sent: a web page, not a javascript:, data: or ftp: URL.
const url = z.url({ protocol: /^https?$/, error: 'expected an absolute http(s) URL' });
const methodData = z
  .strictObject({
    token: z.string().min(1).max(500).optional().describe('PSP token or test handle (never a card number)'),
    iban: z.string().min(15).max(42).optional().describe('SEPA direct debit: the payer IBAN'),
    accountHolder: z.string().min(1).max(70).optional(),
    mandateId: z.string().min(1).max(35).optional(),
    extra: z.record(z.string(), z.unknown()).optional().describe('Provider-specific fields, passed through'),
  })
  .describe('The means of payment, as the PSP front end hands it over');

export const PayRequest = named(
  requestSchemas,
  'PayRequest',
  z.strictObject({
    method: id('Canonical method id, e.g. card, paypal, sepa_direct_debit, sepa_credit_transfer'),
    provider: id('Only this provider (it must carry the method for the tenant)').optional(),
    methodData: methodData.optional(),
    capture: z.enum(['automatic', 'manual']).default('automatic'),
    payer: z.strictObject({ name: z.string().max(140).optional(), email: z.email().optional() }).optional(),
  }),
);

export const CheckoutSessionRequest = named(
  requestSchemas,
  'CheckoutSessionRequest',
  z
    .strictObject({
      debtorId: id('Our debtor id: the session pays their open items (all, or itemIds)').optional(),
      itemIds: z.array(id('Item id')).min(1).max(500).optional(),
      amount: AmountInput.optional().describe('A free amount instead of items'),
      country: z.string().length(2).optional().describe('ISO 3166-1 alpha-2; defaults to the tenant'),
      locale: z.string().min(2).max(10).optional().describe('BCP 47, e.g. de-DE'),
      returnUrl: url.optional(),
      cancelUrl: url.optional(),
      description: z.string().max(140).optional(),
      pay: PayRequest.optional().describe(
        'Start paying at once with this method; the response carries the next action',
      ),
    })
    .refine((b) => b.debtorId || b.amount, { error: 'give a debtorId or an amount', path: ['debtorId'] }),
);

export const CaptureRequest = named(
  requestSchemas,
  'CaptureRequest',
  z.strictObject({ amount: AmountInput.optional().describe('Less than authorised: a partial capture') }),
);

export const RefundRequest = named(
  requestSchemas,
  'RefundRequest',
  z.strictObject({
    amount: AmountInput.optional().describe('Omitted: everything still refundable'),
    reason: z.string().max(140).optional(),
  }),
);

export const CompleteRequest = named(
  requestSchemas,
  'CompleteRequest',
  z.strictObject({
    returnParams: z
      .record(z.string(), z.string())
      .describe('The query parameters the provider appended to the return URL'),
  }),
);

export const SessionParams = z.strictObject({ id: id('Checkout session id') });
export const PaymentParams = z.strictObject({ id: id('Payment id') });
export const WebhookParams = z.strictObject({
  provider: z.enum(['stripe', 'adyen', 'paypal']),
  tenant: z.string().min(2).max(40).optional(),
});

export const NextActionSchema = z
  .object({ type: z.enum(['none', 'redirect', 'client_secret', 'bank_instructions', 'await']) })
  .loose()
  .describe('What the payer has to do next: redirect URL, client secret, bank instructions with QR payload, or wait');

export const PaymentView = named(
  responseSchemas,
  'CheckoutPayment',
  z.object({
    id: z.string(),
    sessionId: z.string().nullable(),
    state: z.string().describe('created, requires_action, pending, authorized, succeeded, failed, canceled, …'),
    method: z.string(),
    provider: z.string(),
    providerReference: z.string().nullable(),
    amount: Amount,
    captured: Amount,
    refunded: Amount,
    allocated: Amount,
    nextAction: NextActionSchema.nullable(),
    decline: z.object({ code: z.string(), providerCode: z.string(), message: z.string() }).nullable(),
    attempts: z.array(z.object({ provider: z.string(), outcome: z.string(), at: z.string() }).loose()),
  }),
);

export const SessionView = named(
  responseSchemas,
  'CheckoutSession',
  z.object({
    id: z.string(),
    status: z.enum(['open', 'processing', 'completed', 'expired', 'canceled']),
    debtorId: z.string().nullable(),
    amount: Amount,
    country: z.string(),
    locale: z.string(),
    items: z.array(
      z.object({
        itemId: z.string(),
        source: z.string(),
        documentNumber: z.string(),
        dueDate: z.string(),
        open: Amount,
      }),
    ),
    methods: z.array(z.object({ method: z.string(), name: z.string(), flow: z.string(), provider: z.string() })),
    withdrawn: z.array(z.object({ method: z.string(), reason: z.string() })),
    returnUrl: z.string().nullable(),
    cancelUrl: z.string().nullable(),
    expiresAt: z.string(),
    payment: PaymentView.nullable(),
  }),
);

export const RefundView = named(
  responseSchemas,
  'Refund',
  z.object({
    id: z.string(),
    paymentId: z.string(),
    amount: Amount,
    status: z.enum(['pending', 'succeeded', 'failed']),
  }),
);

export const WebhookAck = named(
  responseSchemas,
  'WebhookAck',
  z.object({ received: z.boolean(), events: z.int(), fresh: z.int() }),
);
