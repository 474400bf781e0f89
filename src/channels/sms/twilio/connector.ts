/**
 * The Twilio SMS provider: transport (URL, Basic auth, timeouts, error bodies) over `fetch`. Wire shapes and the
 * signature are in transformers.ts, error codes in errors.ts.
 */
import { ConnectorError, IntegrationError } from '../../../domain/errors';
import { scrubSecrets } from '../../secret';
import type { SmsCallbackRequest, SmsProvider, SmsSendResponse } from '../provider';
import type { TwilioConfig } from './config';
import { classifyTwilioError } from './errors';
import {
  fromWire,
  receiptFromWire,
  type TwilioErrorBody,
  type TwilioMessageResource,
  toWire,
  verifyTwilioSignature,
} from './transformers';

/** One structured line per call: no number, no text, no token. */
export interface SmsLogLine {
  provider: 'twilio';
  flow: 'send';
  idempotencyKey: string;
  status: 'accepted' | 'rejected' | 'retry' | 'config-error';
  ms: number;
  code?: string;
}

export interface TwilioProviderOptions {
  /** Receives one line per call (winston's `Logger` fits). */
  logger?: { info(message: string, meta: SmsLogLine): unknown; warn(message: string, meta: SmsLogLine): unknown };
  /** @defaultValue global `fetch` */
  fetch?: typeof fetch;
}

export function createTwilioProvider(cfg: TwilioConfig, opts: TwilioProviderOptions = {}): SmsProvider {
  const doFetch = opts.fetch ?? fetch;
  const base = cfg.baseUrl.replace(/\/+$/, '');
  const url = `${base}/2010-04-01/Accounts/${cfg.accountSid}/Messages.json`;
  const user = cfg.apiKeySid ?? cfg.accountSid;
  const clean = (text: string) => scrubSecrets(text, [cfg.authToken]);
  const log = (line: SmsLogLine) => {
    if (!opts.logger) return;
    if (line.status === 'accepted') opts.logger.info('sms send', line);
    else opts.logger.warn('sms send', line);
  };

  return {
    name: 'twilio',
    async send(req, ctx) {
      const body = toWire(req, cfg);
      const started = performance.now();
      const ms = () => Math.round(performance.now() - started);
      let res: Response;
      try {
        res = await doFetch(url, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${user}:${cfg.authToken.reveal()}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
            // Twilio ignores it on the Messages API; the simulator and proxies that honour it de-duplicate by it.
            'idempotency-key': ctx.idempotencyKey,
          },
          body,
          signal: AbortSignal.timeout(cfg.timeoutMs),
        });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        const code = e.name === 'TimeoutError' ? 'ETIMEDOUT' : (e.cause?.code ?? e.name);
        log({ provider: 'twilio', flow: 'send', idempotencyKey: ctx.idempotencyKey, status: 'retry', ms: ms(), code });
        // A timeout may have been taken by Twilio; a refused connection was not.
        throw new ConnectorError(`SMS provider unreachable (${code}): ${clean(e.message)}`, {
          code,
          indeterminate: code !== 'ECONNREFUSED' && code !== 'ENOTFOUND',
        });
      }
      const text = await res.text();
      if (res.ok) {
        let resource: TwilioMessageResource;
        try {
          resource = JSON.parse(text) as TwilioMessageResource;
        } catch {
          log({ provider: 'twilio', flow: 'send', idempotencyKey: ctx.idempotencyKey, status: 'retry', ms: ms() });
          throw new ConnectorError(`SMS provider answered ${res.status} with a body that is not JSON`, {
            indeterminate: true,
          });
        }
        const out = fromWire(resource, req);
        log({
          provider: 'twilio',
          flow: 'send',
          idempotencyKey: ctx.idempotencyKey,
          status: out.status,
          ms: ms(),
          code: out.code,
        });
        return out;
      }
      let error: Partial<TwilioErrorBody> = {};
      try {
        error = JSON.parse(text) as TwilioErrorBody;
      } catch {
        // not JSON: the HTTP status decides
      }
      const code = error.code === undefined ? undefined : String(error.code);
      const kind = classifyTwilioError(code, res.status);
      const message = clean(error.message ?? kind.reason ?? `HTTP ${res.status}`);
      switch (kind.class) {
        case 'transient':
          log({
            provider: 'twilio',
            flow: 'send',
            idempotencyKey: ctx.idempotencyKey,
            status: 'retry',
            ms: ms(),
            code,
          });
          throw new ConnectorError(`SMS provider: ${message}`, {
            code: code ?? String(res.status),
            indeterminate: res.status >= 500,
          });
        case 'config':
          log({
            provider: 'twilio',
            flow: 'send',
            idempotencyKey: ctx.idempotencyKey,
            status: 'config-error',
            ms: ms(),
            code,
          });
          throw new IntegrationError(`Twilio refused the request: ${message}`, 'sms');
        case 'recipient':
        case 'message': {
          const out: SmsSendResponse = {
            status: 'rejected',
            permanence: kind.class,
            code,
            message,
            raw: error,
          };
          log({
            provider: 'twilio',
            flow: 'send',
            idempotencyKey: ctx.idempotencyKey,
            status: 'rejected',
            ms: ms(),
            code,
          });
          return out;
        }
        default: {
          const never: never = kind.class;
          throw new Error(`unhandled class ${String(never)}`);
        }
      }
    },

    parseReceipt(req: SmsCallbackRequest) {
      const form = new URLSearchParams(typeof req.body === 'string' ? req.body : req.body.toString('utf8'));
      const signature = req.headers['x-twilio-signature'];
      if (!signature || !verifyTwilioSignature(cfg.authToken.reveal(), req.url, form, signature)) {
        throw new IntegrationError('the X-Twilio-Signature does not verify', 'x-twilio-signature');
      }
      return receiptFromWire(form);
    },
  };
}
