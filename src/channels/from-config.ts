/**
 * The channels a tenant configures under `channels:` (config/schema.ts), built for `sendPendingNotices`. E-mail is
 * built by the runtime (it is verified before every run); this adds SMS and letter. A webhook channel has no config
 * section yet: build it with `createWebhookChannel` where one is needed.
 */
import { isAbsolute, resolve } from 'node:path';
import type { ChannelsConfig } from '../config/schema';
import { IntegrationError } from '../domain/errors';
import type { ChannelSet } from './channel';
import { createLetterChannel } from './letter/channel';
import { type LetterPdfOptions, letterFont } from './letter/pdf';
import { createSmsChannel } from './sms/channel';
import type { SmsProvider } from './sms/provider';
import { parseTwilioConfig } from './sms/twilio/config';
import { createTwilioProvider, type TwilioProviderOptions } from './sms/twilio/connector';

export interface ChannelsFromConfigOptions {
  /** The installation directory: a relative `letter.outDir` is below it. */
  home: string;
  templatesDir: string;
  /** Resolves a `${env:…}` secret (config/secrets.ts `secret`). */
  secret: (value: string | undefined, field: string) => string | undefined;
  smsLogger?: TwilioProviderOptions['logger'];
  /** Where the SMS provider posts delivery receipts (`smsReceiptsUrl`); none are asked for without it. */
  smsStatusCallbackUrl?: string;
}

const TWILIO_ACCOUNT = /^(https?:\/\/[^/]+)\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})\/?(?:Messages\.json)?$/;

/**
 * SMS: `endpoint` is the Twilio-compatible account URL (`https://api.twilio.com/2010-04-01/Accounts/AC…`), `apiKey`
 * the auth token (`${env:TWILIO_AUTH_TOKEN}`), `sender` the sender id. Letter: `outDir` and `returnAddress`, and the
 * tenant's `fonts`.
 * @throws IntegrationError naming the field when the endpoint is not such a URL or the token is not set.
 */
export function channelsFromConfig(cfg: ChannelsConfig, opts: ChannelsFromConfigOptions): ChannelSet {
  const out: ChannelSet = {};
  if (cfg.sms) out.sms = createSmsChannel({ provider: smsProviderFromConfig(cfg.sms, opts) });
  if (cfg.letter) {
    out.letter = createLetterChannel({
      outDir: underHome(opts.home, cfg.letter.outDir),
      templatesDir: opts.templatesDir,
      returnAddress: cfg.letter.returnAddress,
      ...letterPdfOptions(cfg, opts.home),
    });
  }
  return out;
}

/**
 * What the tenant's letter PDFs are set in (`channels.fonts`), for the letter channel, the PDF attached to e-mails and
 * the preview; the font files are read and checked here, so a wrong path stops the run before any notice is sent.
 * @throws IntegrationError naming `channels.fonts.regular` or `.bold` when a file is not a readable font.
 */
export function letterPdfOptions(cfg: ChannelsConfig, home: string): Pick<LetterPdfOptions, 'fonts'> {
  if (!cfg.fonts) return {};
  const fonts = { regular: underHome(home, cfg.fonts.regular), bold: underHome(home, cfg.fonts.bold) };
  letterFont(fonts.regular, 'channels.fonts.regular');
  letterFont(fonts.bold, 'channels.fonts.bold');
  return { fonts };
}

/** The tenant's SMS provider (Twilio-compatible): for sending, and for verifying its delivery receipts. */
export function smsProviderFromConfig(
  sms: NonNullable<ChannelsConfig['sms']>,
  opts: Pick<ChannelsFromConfigOptions, 'secret' | 'smsLogger' | 'smsStatusCallbackUrl'>,
): SmsProvider {
  const m = TWILIO_ACCOUNT.exec(sms.endpoint);
  if (!m) {
    throw new IntegrationError(
      `"${sms.endpoint}" is not a Twilio-compatible account URL such as https://api.twilio.com/2010-04-01/Accounts/AC…`,
      'channels.sms.endpoint',
    );
  }
  const token = opts.secret(sms.apiKey, 'channels.sms.apiKey');
  if (!token)
    throw new IntegrationError(
      'the SMS auth token is missing; take it from the environment, e.g. TWILIO_AUTH_TOKEN',
      'channels.sms.apiKey',
    );
  return createTwilioProvider(
    parseTwilioConfig({
      baseUrl: m[1],
      accountSid: m[2],
      authToken: token,
      from: sms.sender,
      ...(opts.smsStatusCallbackUrl ? { statusCallbackUrl: opts.smsStatusCallbackUrl } : {}),
    }),
    { logger: opts.smsLogger },
  );
}

/** A path of the tenant file: relative ones are below the installation directory. */
export const underHome = (home: string, path: string): string => (isAbsolute(path) ? path : resolve(home, path));
