import { z } from 'zod';
import { IntegrationError } from '../../../domain/errors';

/**
 * Hosts PayPal serves its webhook signing certificates from (`PAYPAL-CERT-URL`). A certificate from any other host is
 * refused: whoever controls the certificate controls the signature.
 */
export const PAYPAL_CERT_HOSTS = [
  'api.paypal.com',
  'api-m.paypal.com',
  'api.sandbox.paypal.com',
  'api-m.sandbox.paypal.com',
] as const;

import { Secret } from '../../../domain/secret';

export { Secret };

/**
 * Options of the PayPal provider (Orders v2 through `@paypal/paypal-server-sdk` 2.5.0).
 *
 * @example
 * ```yaml
 * provider: paypal
 * environment: production
 * clientId: "${env:PAYPAL_CLIENT_ID}"
 * clientSecret: "${env:PAYPAL_CLIENT_SECRET}"
 * webhookId: "${env:PAYPAL_WEBHOOK_ID}"   # the id PayPal shows for the webhook you registered
 * brandName: Stadtwerke Musterstadt        # optional, shown on PayPal's pages
 * timeoutMs: 20000
 * webhookToleranceSec: 300
 * ```
 */
export const payPalConfigSchema = z.strictObject({
  /** REST app client id (Developer Dashboard → Apps & Credentials). Write it as `${env:PAYPAL_CLIENT_ID}`. */
  clientId: z.string().min(1),
  /** REST app secret. Write it as `${env:PAYPAL_CLIENT_SECRET}`; it is wrapped in a {@link Secret} at once. */
  clientSecret: z
    .union([z.string().min(1), z.instanceof(Secret)])
    .transform((s) => (s instanceof Secret ? s : new Secret(s))),
  /**
   * Id of the registered webhook; part of every signed message. PayPal's webhook simulator signs with the literal
   * `WEBHOOK_ID`, hence the underscore.
   */
  webhookId: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,50}$/, { error: 'expected the webhook id PayPal shows, e.g. 1JE4291016473214C' }),
  /** @defaultValue 'sandbox' */
  environment: z.enum(['sandbox', 'production']).default('sandbox'),
  /**
   * Base URL that replaces PayPal's API host (the simulator, e.g. `http://127.0.0.1:4010`). The SDK has no base-URL
   * option; requests are rewritten in its HTTP adapter. Leave it out in production.
   */
  baseUrl: z.url().optional(),
  /** Hosts a `PAYPAL-CERT-URL` may point at (exact host names, no wildcards). @defaultValue {@link PAYPAL_CERT_HOSTS} */
  certHosts: z
    .array(z.string().min(1))
    .min(1)
    .default([...PAYPAL_CERT_HOSTS]),
  /**
   * Accept `http:` certificate URLs on the allow-listed hosts. Only for a local simulator without TLS: over plain HTTP
   * anyone on the path can swap the certificate. @defaultValue false
   */
  allowHttpCertUrlsForTests: z.boolean().default(false),
  /** Timeout of every API call, in milliseconds; a money-moving call that times out is indeterminate. @defaultValue 30000 */
  timeoutMs: z.int().min(100).max(120_000).default(30_000),
  /** How far `PAYPAL-TRANSMISSION-TIME` may be from now, in seconds (older deliveries are replays). @defaultValue 300 */
  webhookToleranceSec: z.int().min(1).max(86_400).default(300),
  /** Shown instead of the account's business name on PayPal's approval pages (`experience_context.brand_name`). */
  brandName: z.string().min(1).max(127).optional(),
});

export type PayPalConfigInput = z.input<typeof payPalConfigSchema>;
export type PayPalConfig = z.output<typeof payPalConfigSchema>;

/**
 * Validates options from code or a tenant file. The message names each bad option and never echoes a value.
 * @throws IntegrationError
 */
export function parsePayPalConfig(input: unknown): PayPalConfig {
  const r = payPalConfigSchema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    const first = r.error.issues[0]?.path.map(String).join('.');
    throw new IntegrationError(
      `invalid paypal provider options: ${problems.join('; ')}`,
      first ? `options.${first}` : 'options',
    );
  }
  const data = r.data;
  return data.baseUrl ? { ...data, baseUrl: data.baseUrl.replace(/\/+$/, '') } : data;
}
