/**
 * Twilio error codes → what they mean for a notice (https://www.twilio.com/docs/api/errors). `recipient`: the number
 * cannot receive (the notice bounced); `message`: this message was refused (failed); `config`: our account or sender
 * is wrong for every message (an IntegrationError); `transient`: try again later.
 */
export type TwilioErrorClass = 'recipient' | 'message' | 'config' | 'transient';

export const TWILIO_ERRORS: Readonly<Record<string, { class: TwilioErrorClass; reason: string }>> = Object.freeze({
  '20003': { class: 'config', reason: 'authentication failed: check the account SID and auth token' },
  '20404': { class: 'config', reason: 'account or resource not found: check the account SID' },
  '20429': { class: 'transient', reason: 'too many requests' },
  '21211': { class: 'recipient', reason: "invalid 'To' phone number" },
  '21212': { class: 'config', reason: "invalid 'From' number or sender id" },
  '21408': { class: 'message', reason: 'sending to this region is not enabled on the account' },
  '21606': { class: 'config', reason: "the 'From' number cannot send SMS" },
  '21610': { class: 'recipient', reason: 'the recipient has opted out (STOP)' },
  '21612': { class: 'recipient', reason: 'the number cannot be reached from this sender' },
  '21614': { class: 'recipient', reason: "the 'To' number is not a mobile number" },
  '21617': { class: 'message', reason: 'the text is longer than 1600 characters' },
  '30003': { class: 'recipient', reason: 'unreachable destination handset' },
  '30004': { class: 'message', reason: 'message blocked' },
  '30005': { class: 'recipient', reason: 'unknown destination handset' },
  '30006': { class: 'recipient', reason: 'landline or unreachable carrier' },
  '30007': { class: 'message', reason: 'message filtered by the carrier' },
  '30008': { class: 'message', reason: 'unknown delivery error' },
});

/** Unknown codes: the HTTP status decides (4xx → the message, 5xx → transient). */
export function classifyTwilioError(
  code: string | undefined,
  httpStatus: number,
): { class: TwilioErrorClass; reason?: string } {
  const known = code ? TWILIO_ERRORS[code] : undefined;
  if (known) return known;
  if (httpStatus === 401 || httpStatus === 403) return { class: 'config', reason: 'authentication failed' };
  if (httpStatus === 429 || httpStatus >= 500) return { class: 'transient' };
  return { class: 'message' };
}
