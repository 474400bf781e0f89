import type {
  PaymentMethodData,
  PaymentProvider,
  ProviderPayment,
  RawWebhook,
} from '../../src/gateway/providers/types';
import type { WebhookSink } from '../simulators/shared/webhook-sink';

/**
 * What a provider's test supplies so the shared payment-provider conformance suite can drive it against its
 * simulator (or, opt-in, the provider's sandbox). Every harness starts a fresh simulator whose webhooks go to `sink`.
 */
export interface ProviderHarness {
  provider: PaymentProvider;
  sink: WebhookSink;
  /** The canonical method and provider type string the suite pays with (a card for the SDK providers). */
  method: { id: string; providerType: string };
  currency: string;
  /**
   * Means that lead to each outcome in the simulator: `success` pays without a challenge (PayPal: after the
   * approval every order needs), `decline` is refused with `declineCode`, `challenge` needs a 3-D Secure or
   * redirect step.
   */
  scenarios: {
    success: PaymentMethodData;
    decline: PaymentMethodData & { amountMinor?: number };
    challenge: PaymentMethodData;
  };
  /** The unified code the `decline` scenario must produce. */
  declineCode: string;
  /**
   * Plays the payer in the browser: follows `payment.nextAction` (redirect URL or client secret) at the simulator,
   * approves or rejects the challenge, and returns the query parameters the simulator appended to the return URL.
   */
  completeAction(payment: ProviderPayment, outcome: 'approve' | 'reject'): Promise<Record<string, string>>;
  /**
   * Makes the simulator apply the next money-moving request (create with automatic capture, complete, capture) and
   * then stall past the client's timeout, so the caller cannot know it succeeded.
   */
  timeoutNextMoneyMovement(): Promise<void>;
  /** How many payments the simulator holds for this merchant reference (ours: the payment id); 1 after retries. */
  paymentsFor(paymentId: string): Promise<number>;
  /** How many captures the simulator has booked for this provider reference. */
  capturesFor(providerReference: string): Promise<number>;
  /** Opens a chargeback/dispute on a paid payment; the simulator then sends the webhook. */
  chargeback(providerReference: string): Promise<void>;
  /**
   * Deliveries that must be rejected, made from a genuine one: each with the reason `parseWebhook` must give
   * (a changed body is always tried by the suite itself; add old timestamps, certificate hosts off the allow-list …).
   */
  forgeries(
    genuine: RawWebhook,
  ): { name: string; webhook: RawWebhook; reason: 'signature' | 'timestamp' | 'certificate' }[];
  close(): Promise<void>;
}

export type ProviderHarnessFactory = () => Promise<ProviderHarness>;
