import { z } from 'zod';
import { IntegrationError } from '../../../domain/errors';
import { Secret } from '../../secret';

/**
 * Options of the Twilio SMS provider (and of any provider that speaks Twilio's Messages API). Endpoints in config,
 * the token from the environment.
 *
 * @example
 * ```yaml
 * provider: twilio
 * accountSid: AC0123456789abcdef0123456789abcdef
 * authToken: "${env:TWILIO_AUTH_TOKEN}"     # or an API key: apiKeySid SK… + authToken = the key's secret
 * from: ACME                                 # alphanumeric sender id, an E.164 number, or messagingServiceSid: MG…
 * statusCallbackUrl: https://clearhub.example.com/v1/channels/sms/receipts/acme
 * ```
 */
export const twilioConfigSchema = z
  .strictObject({
    /** @defaultValue `https://api.twilio.com` (the simulator's URL in tests) */
    baseUrl: z.url().default('https://api.twilio.com'),
    accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, { error: 'expected AC followed by 32 hex digits' }),
    /** Basic auth user when the token is an API key's secret; the account SID otherwise. */
    apiKeySid: z
      .string()
      .regex(/^SK[0-9a-fA-F]{32}$/, { error: 'expected SK followed by 32 hex digits' })
      .optional(),
    /** The account's Auth Token (or the API key's secret); also the key of the receipts' `X-Twilio-Signature`. */
    authToken: z
      .string()
      .min(16, { error: 'expected the auth token (32 characters)' })
      .transform((s) => new Secret(s)),
    /** Alphanumeric sender id (at most 11 characters) or an E.164 number. */
    from: z
      .string()
      .regex(/^(?:[A-Za-z0-9 ]{1,11}|\+[1-9]\d{6,14})$/, {
        error: 'expected an alphanumeric sender id of at most 11 characters or an E.164 number',
      })
      .optional(),
    messagingServiceSid: z
      .string()
      .regex(/^MG[0-9a-fA-F]{32}$/, { error: 'expected MG followed by 32 hex digits' })
      .optional(),
    /** Where Twilio posts delivery receipts; exactly the URL the receipt endpoint is reached at (it is signed). */
    statusCallbackUrl: z.url().optional(),
    /** Per request. @defaultValue `15000` */
    timeoutMs: z.number().int().min(100).max(120_000).default(15_000),
  })
  .refine((c) => Boolean(c.from) !== Boolean(c.messagingServiceSid), {
    error: 'give either from or messagingServiceSid',
    path: ['from'],
  });

export type TwilioConfig = z.output<typeof twilioConfigSchema>;

/** Parses the options; an error names the field and says what was expected, never echoing the token. */
export function parseTwilioConfig(input: unknown): TwilioConfig {
  const r = twilioConfigSchema.safeParse(input);
  if (!r.success) {
    const first = r.error.issues[0]!;
    throw new IntegrationError(first.message, `sms.${first.path.join('.')}`);
  }
  return r.data;
}
