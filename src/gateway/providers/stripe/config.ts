import { z } from 'zod';
import { Secret } from '../../../domain/secret';
import { parseProviderOptions } from '../options';

export { Secret };

const secretString = (pattern: RegExp, expected: string) =>
  z
    .string()
    .regex(pattern, { error: `expected ${expected}` })
    .transform((s) => new Secret(s));

/**
 * Options of the Stripe provider. Endpoints in config, secrets from the environment.
 *
 * @example
 * ```yaml
 * provider: stripe
 * secretKey: "${env:STRIPE_SECRET_KEY}"          # sk_live_… / sk_test_… or a restricted key rk_…
 * webhookSecret: "${env:STRIPE_WEBHOOK_SECRET}"  # whsec_… of the webhook endpoint
 * publishableKey: pk_test_…                      # handed to the browser with a client secret
 * timeoutMs: 20000
 * webhookToleranceSec: 300
 * # host/port/protocol only to point the SDK at a simulator
 * ```
 */
export const stripeProviderConfigSchema = z.strictObject({
  /** Secret API key (`sk_live_…`, `sk_test_…`) or restricted key (`rk_…`). Write it as `${env:STRIPE_SECRET_KEY}`. */
  secretKey: secretString(/^(sk|rk)_(live|test)_[A-Za-z0-9_]+$/, 'a Stripe secret key such as sk_test_…'),
  /** Signing secret of the webhook endpoint (`whsec_…`). Write it as `${env:STRIPE_WEBHOOK_SECRET}`. */
  webhookSecret: secretString(/^whsec_[A-Za-z0-9_+/=]+$/, 'a webhook signing secret such as whsec_…'),
  /** Publishable key returned with a client secret, for Stripe.js in the browser. */
  publishableKey: z
    .string()
    .regex(/^pk_(live|test)_[A-Za-z0-9_]+$/, { error: 'expected a publishable key such as pk_test_…' })
    .optional(),
  /** API host; only for a simulator or a proxy. @defaultValue 'api.stripe.com' (the SDK's) */
  host: z.string().min(1).optional(),
  /** @defaultValue 443 (the SDK's) */
  port: z.int().min(1).max(65_535).optional(),
  /** @defaultValue 'https' (the SDK's) */
  protocol: z.enum(['http', 'https']).optional(),
  /** Per-request timeout; a mutating call that times out is indeterminate. @defaultValue 20000 */
  timeoutMs: z.int().min(1).max(120_000).default(20_000),
  /** How old a webhook signature may be, in seconds; 0 turns the check off (as in the SDK). @defaultValue 300 */
  webhookToleranceSec: z.int().min(0).max(86_400).default(300),
});

export type StripeProviderConfigInput = z.input<typeof stripeProviderConfigSchema>;
export type StripeProviderConfig = z.output<typeof stripeProviderConfigSchema>;

/**
 * Validates the options. Messages name the option and never repeat a secret's value.
 * @throws IntegrationError `invalid stripe provider options: secretKey: expected …; …`
 */
export function parseStripeProviderConfig(input: unknown): StripeProviderConfig {
  return parseProviderOptions('stripe', stripeProviderConfigSchema, input);
}
