/**
 * The contract every notice channel implements (e-mail, SMS, letter, webhook): one method, one input, one output.
 *
 * A channel delivers one rendered notice and says what became of it: `sent` (accepted by the SMTP server, the SMS
 * provider, the print drop or the webhook receiver), `bounced` (the recipient does not exist or cannot receive: the
 * address, the number) or `failed` (refused for good for another reason, including "this debtor cannot be reached on
 * this channel"). Both of the latter let the dispatcher fall back to the next channel of the notice.
 *
 * Transient trouble is not a result: a channel throws a retryable `ConnectorError` (with `indeterminate` when the
 * other side may have taken the notice), and the notice stays pending for the next attempt. Configuration that is
 * wrong for every notice (refused credentials, a sender the server refuses) throws an `IntegrationError`.
 *
 * Idempotency: the notice id is the idempotency key. A channel sends the same notice id at most once per process
 * and gives the receiver what it needs to recognise a resend (e-mail: the Message-ID; webhook: the event id and
 * `Idempotency-Key`; letter: one letter per notice id and batch); across processes the dispatcher consults the
 * delivery record (deliveries.ts) before it calls a channel again.
 *
 * @example
 * const result = await channel.send({ tenantId, view, rendered });
 * switch (result.status) { case 'sent': …; case 'bounced': …; case 'failed': …; default: assertNever(result.status) }
 */
import type { RenderedNotice } from './templates';
import type { NoticeViewModel } from './view-model';

export const CHANNEL_NAMES = ['email', 'sms', 'letter', 'webhook'] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

export type DeliveryStatus = 'sent' | 'bounced' | 'failed';

/** A notice ready to go out: its view model and what was rendered from it. */
export interface OutboundNotice {
  tenantId: string;
  /** The template it was rendered from; the letter channel draws only the standard notice. @defaultValue `notice` */
  template?: string;
  view: NoticeViewModel;
  /** Subject, text, HTML, SMS text and, when the template has a letter form, the letter PDF (rendered on first use). */
  rendered: Required<Pick<RenderedNotice, 'subject' | 'text' | 'html' | 'sms' | 'title'>> & Pick<RenderedNotice, 'pdf'>;
}

export interface ChannelSendResult {
  channel: ChannelName;
  status: DeliveryStatus;
  /**
   * The provider's reference of what was sent (e-mail: our Message-ID; SMS: the provider's message id; letter:
   * `<batch>/<sequence>`; webhook: the receiver's id or our event id). Delivery receipts refer to it.
   */
  providerMessageId?: string;
  /** Where it went, for the notice record: the e-mail address, the phone number, the first address line, the host. */
  recipient?: string;
  /** What went wrong, for `bounced` and `failed`; never carries a secret. */
  reason?: string;
  /** The provider's code (SMTP reply, SMS error code, HTTP status). */
  code?: string;
}

export interface Channel {
  readonly name: ChannelName;
  /**
   * Delivers one notice.
   * @throws {ConnectorError} transient trouble; retry later (the notice stays pending).
   * @throws {IntegrationError} configuration wrong for every notice; stop and fix it.
   */
  send(notice: OutboundNotice): Promise<ChannelSendResult>;
  /**
   * Completes what `send` accepted but has not handed over yet (the letter channel's print batch). Results of such
   * sends become true only once this resolves; callers record them after it.
   */
  flush?(): Promise<void>;
  close?(): Promise<void> | void;
}

/** The channels a tenant has configured, by name. */
export type ChannelSet = Partial<Record<ChannelName, Channel>>;

/**
 * The channels of a notice in order of preference: `email,letter` (the form the `notices.channel` column holds) or
 * one name. Unknown names are kept, so the dispatcher can record that they are not available.
 */
export function channelPlan(spec: string): string[] {
  return spec
    .split(/[,>]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function isChannelName(name: string): name is ChannelName {
  return (CHANNEL_NAMES as readonly string[]).includes(name);
}
