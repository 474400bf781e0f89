import type { Channel, ChannelSendResult, OutboundNotice } from './channel';
import type { EmailAttachment, EmailChannel } from './email';
import { noticeImages } from './qr';
import type { Tone } from './view-model';

/**
 * Options of {@link createEmailNoticeChannel}.
 *
 * @example createEmailNoticeChannel({ email: createEmailChannel({ … }), attachLetter: ['neutral', 'firm', 'final'] })
 */
export interface EmailNoticeChannelOptions {
  /** The SMTP channel (email.ts). */
  email: EmailChannel;
  /**
   * Tones whose e-mail carries the letter PDF as an attachment: the notices that are a Mahnung. A friendly reminder
   * goes without (rendering a PDF costs about 5 ms of CPU per notice).
   * @defaultValue `['neutral', 'firm', 'final']`
   */
  attachLetter?: readonly Tone[];
}

/**
 * Notices by e-mail: text and HTML, the QR codes inline (`cid:`), the letter PDF attached for the tones that want it.
 * The Message-ID is `<notice id@clearhub>`, so a resend after an unknown outcome is the same mail to the receiver.
 */
export function createEmailNoticeChannel(opts: EmailNoticeChannelOptions): Channel {
  const attachFor = new Set<Tone>(opts.attachLetter ?? ['neutral', 'firm', 'final']);
  const done = new Map<string, ChannelSendResult>();
  return {
    name: 'email',
    async send(notice: OutboundNotice): Promise<ChannelSendResult> {
      const { view, rendered } = notice;
      const seen = done.get(view.noticeId);
      if (seen) return seen;
      const to = view.debtor.email;
      if (!to) return { channel: 'email', status: 'failed', reason: 'debtor has no e-mail address' };
      const attachments: EmailAttachment[] = [];
      if (/\bsrc="cid:/.test(rendered.html)) {
        for (const img of await noticeImages(view)) {
          attachments.push({ filename: img.filename, content: img.content, contentType: 'image/png', cid: img.cid });
        }
      }
      if (attachFor.has(view.tone) && rendered.pdf) {
        const pdf = await rendered.pdf();
        attachments.push({
          filename: attachmentName(rendered.title, view),
          content: pdf,
          contentType: 'application/pdf',
        });
      }
      const r = await opts.email.send({
        to,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        attachments,
        messageId: `<${view.noticeId}@clearhub>`,
        headers: { 'X-Clearhub-Notice': view.noticeId },
      });
      const result: ChannelSendResult = {
        channel: 'email',
        status: r.status,
        providerMessageId: r.messageId,
        recipient: to,
        reason: r.error,
        code: r.response?.match(/^\d{3}/)?.[0],
      };
      done.set(view.noticeId, result);
      return result;
    },
    close() {
      opts.email.close();
    },
  };
}

/** `Letzte-Mahnung-2025-03-31.pdf`: the tone's document title and the date, safe for any mail client. */
function attachmentName(title: string, view: OutboundNotice['view']): string {
  const head = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ß/g, 'ss')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);
  return `${head || 'notice'}-${view.asOf}.pdf`;
}
