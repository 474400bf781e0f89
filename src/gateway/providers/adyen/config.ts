import { z } from 'zod';
import { IntegrationError } from '../../../domain/errors';

import { Secret } from '../../../domain/secret';

export { Secret };

const secret = (what: string) =>
  z
    .string()
    .min(1, { error: `${what} is required` })
    .transform((s) => new Secret(s));

const hmacKey = z
  .string()
  .regex(/^(?:[0-9A-Fa-f]{2}){16,}$/, {
    error: 'expected the HMAC key as hex, as the Customer Area shows it (64 hex digits)',
  })
  .transform((s) => new Secret(s));

/**
 * Options of the Adyen provider (Checkout API v72 through `@adyen/api-library`).
 *
 * @example
 * ```yaml
 * gateway:
 *   providers:
 *     adyen:
 *       apiKey: "${env:ADYEN_API_KEY}"
 *       merchantAccount: ClearhubECOM
 *       hmacKeyHex: "${env:ADYEN_HMAC_KEY}"
 *       environment: LIVE
 *       liveEndpointUrlPrefix: 1797a841fbb37ca7-AdyenDemo
 *       timeoutMs: 30000
 *       webhookBasicAuth: { username: clearhub, password: "${env:ADYEN_WEBHOOK_PASSWORD}" }
 * ```
 */
export const adyenProviderConfigSchema = z
  .strictObject({
    /** API key of the web service user (Checkout webservice role). Write it as `${env:ADYEN_API_KEY}`. */
    apiKey: secret('apiKey'),
    /** The merchant account every request names and every webhook item must name. */
    merchantAccount: z.string().min(1),
    /** HMAC key of the Standard webhook, hex as the Customer Area shows it. */
    hmacKeyHex: hmacKey,
    /** The key before the last rotation, accepted too while Adyen may still sign with it. */
    previousHmacKeyHex: hmacKey.optional(),
    /** @defaultValue 'TEST' */
    environment: z.enum(['TEST', 'LIVE']).default('TEST'),
    /** The prefix of the LIVE endpoints (Customer Area > Developers > API URLs); required for LIVE. */
    liveEndpointUrlPrefix: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, { error: 'expected the prefix only, e.g. 1797a841fbb37ca7-AdyenDemo' })
      .optional(),
    /**
     * Where `https://checkout-test.adyen.com` is sent instead (our Adyen simulator, a recording proxy). TEST only.
     * @example 'http://127.0.0.1:8089'
     */
    baseUrl: z.url().optional(),
    /** Time a call may take before its outcome counts as unknown (indeterminate). @defaultValue 30000 */
    timeoutMs: z.int().min(100).max(300_000).default(30_000),
    /** Basic-auth credentials the webhook listener expects (Customer Area > Webhooks > Authentication). */
    webhookBasicAuth: z
      .strictObject({ username: z.string().min(1), password: secret('webhookBasicAuth.password') })
      .optional(),
    /**
     * `recurringProcessingModel` of recurring payments: `UnscheduledCardOnFile` suits invoices collected when due
     * with varying amounts; `Subscription` fixed-schedule charges; `CardOnFile` shopper-present one-click.
     * @defaultValue 'UnscheduledCardOnFile'
     */
    recurringProcessingModel: z
      .enum(['CardOnFile', 'Subscription', 'UnscheduledCardOnFile'])
      .default('UnscheduledCardOnFile'),
    /**
     * Several partial captures of one authorisation; Adyen's support enables it per merchant account. Off: the rest
     * of a partial capture is released, as Adyen does by default. @defaultValue false
     */
    multiplePartialCaptures: z.boolean().default(false),
    /** Payments `retrieve` can answer for (what this process learned synchronously, oldest forgotten first). @defaultValue 1000 */
    rememberPayments: z.int().min(0).max(100_000).default(1000),
  })
  .superRefine((c, ctx) => {
    if (c.environment === 'LIVE' && !c.liveEndpointUrlPrefix) {
      ctx.addIssue({ code: 'custom', path: ['liveEndpointUrlPrefix'], message: 'required when environment is LIVE' });
    }
    if (c.environment === 'LIVE' && c.baseUrl) {
      ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: 'only for TEST (a simulator); LIVE goes to Adyen' });
    }
  });

export type AdyenProviderConfigInput = z.input<typeof adyenProviderConfigSchema>;
export type AdyenProviderConfig = z.output<typeof adyenProviderConfigSchema>;

/**
 * Validates the provider's options.
 * @throws IntegrationError naming each bad option (never its value: several are secrets).
 */
export function parseAdyenProviderConfig(input: unknown): AdyenProviderConfig {
  const r = adyenProviderConfigSchema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new IntegrationError(`invalid adyen provider options: ${problems.join('; ')}`, 'options');
  }
  return r.data;
}
