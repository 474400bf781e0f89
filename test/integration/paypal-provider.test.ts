import { inspect } from 'node:util';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { newId } from '../../src/domain/ids';
import { createPayPalProvider, type PayPalLogLine, type PayPalProvider } from '../../src/gateway/providers/paypal';
import {
  type CreatePaymentInput,
  type ProviderPayment,
  type RawWebhook,
  type WebhookEvent,
  WebhookRejected,
} from '../../src/gateway/providers/types';
import { paymentProviderConformance } from '../conformance/payment-provider.conformance';
import type { ProviderHarness } from '../conformance/payment-provider.harness';
import { type PayPalSimulator, type PayPalSimulatorOptions, startPayPalSimulator } from '../simulators/paypal/server';
import { transmissionTimeNow } from '../simulators/paypal/webhooks';
import { startWebhookSink, type WebhookSink } from '../simulators/shared/webhook-sink';

type PayPalHarness = ProviderHarness & { sim: PayPalSimulator; paypal: PayPalProvider; logs: PayPalLogLine[] };

async function makeHarness(simOptions: PayPalSimulatorOptions = {}): Promise<PayPalHarness> {
  const sink = await startWebhookSink();
  const sim = await startPayPalSimulator({ webhookUrl: sink.url, ...simOptions });
  const logs: PayPalLogLine[] = [];
  const paypal = createPayPalProvider(
    {
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      webhookId: sim.webhookId,
      environment: 'sandbox',
      baseUrl: sim.url,
      certHosts: ['127.0.0.1'],
      allowHttpCertUrlsForTests: true,
      timeoutMs: 2000,
    },
    { log: (l) => logs.push(l) },
  );
  return {
    provider: paypal,
    paypal,
    sim,
    logs,
    sink,
    method: { id: 'paypal', providerType: 'paypal' },
    currency: 'EUR',
    // Every PayPal order needs the payer's approval; amounts ending in 51 are refused (simulator README).
    scenarios: { success: {}, decline: { amountMinor: 123_51 }, challenge: {} },
    declineCode: 'card_declined',
    completeAction: (payment, outcome) => playPayer(payment, outcome),
    timeoutNextMoneyMovement: async () => sim.stallNextMoneyMovement(),
    paymentsFor: async (paymentId) => sim.ordersFor(paymentId),
    capturesFor: async (ref) => sim.capturesFor(ref),
    chargeback: async (ref) => {
      sim.openDispute(ref);
    },
    forgeries(genuine) {
      const h = genuine.headers;
      const body = genuine.body;
      const certUrl = h['paypal-cert-url'] ?? '';
      return [
        {
          name: 'certificate on a host off the allow-list',
          webhook: { headers: { ...h, 'paypal-cert-url': certUrl.replace('127.0.0.1', 'localhost') }, body },
          reason: 'certificate' as const,
        },
        {
          name: 'certificate on a look-alike of a PayPal host',
          webhook: {
            headers: { ...h, 'paypal-cert-url': 'https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1' },
            body,
          },
          reason: 'certificate' as const,
        },
        {
          name: 'an hour-old transmission, correctly signed',
          webhook: {
            headers: { ...h, ...sim.sign(body, { transmissionTime: transmissionTimeNow(Date.now() - 3_600_000) }) },
            body,
          },
          reason: 'timestamp' as const,
        },
        {
          name: 'signed by another key',
          webhook: { headers: { ...h, ...sim.sign(body, { identity: 'forger' }) }, body },
          reason: 'signature' as const,
        },
        {
          name: 'signed for another webhook id',
          webhook: { headers: { ...h, ...sim.sign(body, { webhookId: 'OTHERWEBHOOK1' }) }, body },
          reason: 'signature' as const,
        },
      ];
    },
    async close() {
      await paypal.close();
      await sim.close();
      await sink.close();
    },
  };
}

/** The payer in the browser: opens the approval link with the outcome and follows PayPal's redirect back. */
async function playPayer(payment: ProviderPayment, outcome: 'approve' | 'reject'): Promise<Record<string, string>> {
  if (payment.nextAction.type !== 'redirect') throw new Error(`expected a redirect, got ${payment.nextAction.type}`);
  const u = new URL(payment.nextAction.url);
  u.searchParams.set('outcome', outcome);
  const res = await fetch(u, { redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`approval page answered ${res.status}`);
  return Object.fromEntries(new URL(location).searchParams);
}

paymentProviderConformance('paypal', () => makeHarness());
