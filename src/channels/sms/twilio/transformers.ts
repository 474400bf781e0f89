/**
 * Twilio's Messages API on the wire (https://www.twilio.com/docs/messaging/api/message-resource): the form body of
 * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, the Message resource it answers with, the error body, the
 * status callback and its `X-Twilio-Signature`. Pure functions; the transport is connector.ts.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { IntegrationError, IntegrityError } from '../../../domain/errors';
import type { SmsReceipt, SmsReceiptStatus, SmsSendRequest, SmsSendResponse } from '../provider';
import type { TwilioConfig } from './config';
import { TWILIO_ERRORS } from './errors';

export interface TwilioMessageCreateRequest {
  To: string;
  From?: string;
  MessagingServiceSid?: string;
  Body: string;
  StatusCallback?: string;
}

/** The statuses a Message resource can have. */
export const TWILIO_STATUSES = [
  'accepted',
  'scheduled',
  'queued',
  'sending',
  'sent',
  'receiving',
  'received',
  'delivered',
  'undelivered',
  'failed',
  'read',
  'canceled',
  'partially_delivered',
] as const;
export type TwilioMessageStatus = (typeof TWILIO_STATUSES)[number];

/** The fields of the Message resource we read (Twilio sends more). */
export interface TwilioMessageResource {
  sid: string;
  account_sid: string;
  status: TwilioMessageStatus;
  to: string;
  from: string | null;
  body: string;
  /** A string of digits in Twilio's JSON. */
  num_segments: string;
  error_code: number | null;
  error_message: string | null;
  date_created: string;
}

export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info?: string;
  status: number;
}

const E164 = /^\+[1-9]\d{6,14}$/;

/** The form body of a send. @throws IntegrationError when the number is not E.164 or the text is empty. */
export function toWire(req: SmsSendRequest, cfg: TwilioConfig): URLSearchParams {
  if (!E164.test(req.to)) throw new IntegrationError(`"${req.to}" is not an E.164 number such as +4915112345678`, 'to');
  if (req.body.trim() === '') throw new IntegrationError('the SMS text is empty', 'body');
  const wire: TwilioMessageCreateRequest = { To: req.to, Body: req.body };
  if (cfg.messagingServiceSid) wire.MessagingServiceSid = cfg.messagingServiceSid;
  else if (cfg.from) wire.From = cfg.from;
  const callback = req.statusCallbackUrl ?? cfg.statusCallbackUrl;
  if (callback) wire.StatusCallback = callback;
  return new URLSearchParams(Object.entries(wire) as [string, string][]);
}

/** A created message → our response: accepted unless Twilio already marks it failed. */
export function fromWire(res: TwilioMessageResource, sent: SmsSendRequest): SmsSendResponse {
  if (!(TWILIO_STATUSES as readonly string[]).includes(res.status)) {
    throw new IntegrityError(`Twilio answered with an unknown message status "${res.status}"`);
  }
  if (res.to !== sent.to) throw new IntegrityError(`Twilio echoed the number ${res.to}, we sent ${sent.to}`);
  const segments = Number(res.num_segments) || undefined;
  const status = receiptStatus(res.status);
  if (status === 'failed' || status === 'undelivered') {
    const code = res.error_code === null ? undefined : String(res.error_code);
    const known = code ? TWILIO_ERRORS[code] : undefined;
    return {
      status: 'rejected',
      providerReference: res.sid,
      segments,
      permanence: known?.class === 'recipient' ? 'recipient' : 'message',
      code,
      message: res.error_message ?? known?.reason ?? res.status,
      raw: res,
    };
  }
  return { status: 'accepted', providerReference: res.sid, segments, raw: res };
}

/** What a Twilio status says about delivery. Exhaustive: a new status is a compile error here. */
export function receiptStatus(status: TwilioMessageStatus): SmsReceiptStatus {
  switch (status) {
    case 'accepted':
    case 'scheduled':
    case 'queued':
    case 'sending':
    case 'sent':
      return 'pending';
    case 'delivered':
    case 'read':
    case 'partially_delivered':
    case 'receiving':
    case 'received':
      return 'delivered';
    case 'undelivered':
      return 'undelivered';
    case 'failed':
    case 'canceled':
      return 'failed';
    default: {
      const never: never = status;
      throw new IntegrityError(`unknown Twilio status ${String(never)}`);
    }
  }
}

/**
 * The status callback's form body → a receipt. Twilio posts `MessageSid`, `MessageStatus` and, for failures,
 * `ErrorCode`.
 */
export function receiptFromWire(form: URLSearchParams): SmsReceipt {
  const sid = form.get('MessageSid') ?? form.get('SmsSid');
  const providerStatus = form.get('MessageStatus') ?? form.get('SmsStatus');
  if (!sid || !providerStatus)
    throw new IntegrationError('is not a Twilio status callback (MessageSid, MessageStatus)', 'body');
  if (!(TWILIO_STATUSES as readonly string[]).includes(providerStatus)) {
    throw new IntegrationError(`unknown MessageStatus "${providerStatus}"`, 'MessageStatus');
  }
  const code = form.get('ErrorCode') || undefined;
  const status = receiptStatus(providerStatus as TwilioMessageStatus);
  const known = code ? TWILIO_ERRORS[code] : undefined;
  return {
    providerReference: sid,
    status,
    providerStatus,
    code,
    reason: code ? (known?.reason ?? `Twilio error ${code}`) : undefined,
    permanence:
      status === 'undelivered' || status === 'failed'
        ? known?.class === 'recipient'
          ? 'recipient'
          : 'message'
        : undefined,
    raw: Object.fromEntries(form),
  };
}

/**
 * `X-Twilio-Signature`: base64 HMAC-SHA1, keyed with the auth token, over the full URL followed by every POST
 * parameter's name and value, sorted by name, without separators.
 */
export function twilioSignature(authToken: string, url: string, form: URLSearchParams): string {
  const pairs = [...form].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const data = url + pairs.map(([k, v]) => `${k}${v}`).join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** Timing-safe check of `X-Twilio-Signature`. */
export function verifyTwilioSignature(authToken: string, url: string, form: URLSearchParams, header: string): boolean {
  const expected = Buffer.from(twilioSignature(authToken, url, form));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
