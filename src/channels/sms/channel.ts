import type { Channel, ChannelSendResult, OutboundNotice } from '../channel';
import type { DeliveryReceipt } from '../deliveries';
import type { SmsProvider, SmsReceipt } from './provider';
import { smsLength } from './segments';

/**
 * Options of {@link createSmsChannel}.
 *
 * @example createSmsChannel({ provider: createTwilioProvider(cfg), maxSegments: 2 })
 */
export interface SmsChannelOptions {
  provider: SmsProvider;
  /** Where the provider posts delivery receipts; the provider's configured URL when absent. */
  statusCallbackUrl?: string;
  /** A text needing more parts is not sent (the tone's SMS template is too long): `failed`. @defaultValue `3` */
  maxSegments?: number;
}

const E164 = /^\+[1-9]\d{6,14}$/;

/** Notices by SMS: the tone's short text with the pay link, through one provider. */
export function createSmsChannel(opts: SmsChannelOptions): Channel {
  const maxSegments = opts.maxSegments ?? 3;
  const done = new Map<string, ChannelSendResult>();
  return {
    name: 'sms',
    async send(notice: OutboundNotice): Promise<ChannelSendResult> {
      const { view, rendered } = notice;
      const seen = done.get(view.noticeId);
      if (seen) return seen;
      const to = view.debtor.phone?.replace(/[\s/()-]/g, '');
      if (!to) return { channel: 'sms', status: 'failed', reason: 'debtor has no mobile number' };
      if (!E164.test(to)) {
        return { channel: 'sms', status: 'bounced', recipient: to, reason: `${to} is not an E.164 number` };
      }
      const length = smsLength(rendered.sms);
      if (length.segments > maxSegments) {
        return {
          channel: 'sms',
          status: 'failed',
          recipient: to,
          reason: `the SMS text needs ${length.segments} parts (${length.encoding}); at most ${maxSegments} are allowed`,
        };
      }
      const r = await opts.provider.send(
        { to, body: rendered.sms, statusCallbackUrl: opts.statusCallbackUrl },
        { idempotencyKey: view.noticeId },
      );
      const result: ChannelSendResult =
        r.status === 'accepted'
          ? { channel: 'sms', status: 'sent', providerMessageId: r.providerReference, recipient: to }
          : {
              channel: 'sms',
              status: r.permanence === 'recipient' ? 'bounced' : 'failed',
              providerMessageId: r.providerReference,
              recipient: to,
              reason: r.message,
              code: r.code,
            };
      done.set(view.noticeId, result);
      return result;
    },
  };
}

/** What an SMS delivery receipt means for the notice's delivery record (deliveries.ts). */
export function smsReceiptToDelivery(r: SmsReceipt): DeliveryReceipt {
  const status =
    r.status === 'delivered'
      ? 'delivered'
      : r.status === 'pending'
        ? 'pending'
        : r.permanence === 'recipient'
          ? 'bounced'
          : 'failed';
  return { channel: 'sms', providerMessageId: r.providerReference, status, code: r.code, reason: r.reason };
}
