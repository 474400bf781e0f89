/**
 * The contract of an SMS provider: send one text, read one delivery receipt. One folder per provider
 * (`sms/<provider>/`: connector, transformers, errors, config, README), like the payment providers.
 *
 * @example
 * const provider = createTwilioProvider(parseTwilioConfig({ accountSid: 'AC…', authToken: process.env.TWILIO_AUTH_TOKEN, from: 'ACME' }));
 * const r = await provider.send({ to: '+4915112345678', body: 'ACME: 72,39 € sind offen …' }, { idempotencyKey: noticeId });
 */

/** One text to one number. */
export interface SmsSendRequest {
  /** E.164, e.g. `+4915112345678`. */
  to: string;
  body: string;
  /** Where the provider posts delivery receipts for this message; the provider's configured one when absent. */
  statusCallbackUrl?: string;
}

/**
 * The provider's answer. `accepted`: queued for delivery (the delivery receipt tells whether it arrived).
 * `rejected`: refused for good; `permanence` says whether the number is the problem (`recipient`: bounced) or
 * something else about this message (`message`: failed).
 */
export interface SmsSendResponse {
  status: 'accepted' | 'rejected';
  /** The provider's id of the message (Twilio: `SM…`); delivery receipts carry it. */
  providerReference?: string;
  segments?: number;
  permanence?: 'recipient' | 'message';
  /** The provider's error code, e.g. `21614`. */
  code?: string;
  message?: string;
  /** The response body, for the audit log (no secrets in it). */
  raw: unknown;
}

/** What a delivery receipt says about a message. */
export type SmsReceiptStatus = 'pending' | 'delivered' | 'undelivered' | 'failed';

export interface SmsReceipt {
  providerReference: string;
  status: SmsReceiptStatus;
  /** The provider's status word, e.g. `undelivered`. */
  providerStatus: string;
  code?: string;
  /** What the code means, when the provider documents it. */
  reason?: string;
  /** For undelivered and failed messages: whether the number is the problem (the notice bounced). */
  permanence?: 'recipient' | 'message';
  raw: unknown;
}

/** An HTTP request as a receipt endpoint received it: the full public URL, lower-case header names, the raw body. */
export interface SmsCallbackRequest {
  url: string;
  headers: Readonly<Record<string, string>>;
  body: Buffer | string;
}

export interface SmsProvider {
  readonly name: string;
  /**
   * Sends one text.
   * @throws {ConnectorError} timeouts, 5xx, 429 (indeterminate when the request may have been taken).
   * @throws {IntegrationError} credentials or sender refused: wrong for every message.
   */
  send(req: SmsSendRequest, ctx: { idempotencyKey: string }): Promise<SmsSendResponse>;
  /**
   * Verifies and reads a delivery receipt callback.
   * @throws {IntegrationError} the signature does not verify or the body is not a receipt.
   */
  parseReceipt(req: SmsCallbackRequest): SmsReceipt;
}
