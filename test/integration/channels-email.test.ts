import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import type { Channel } from '../../src/channels/channel';
import { createEmailChannel, type EmailChannel } from '../../src/channels/email';
import { createEmailNoticeChannel } from '../../src/channels/email-notice';
import { type SmtpSink, startSmtpSink } from '../../src/channels/smtp-sink';
import {
  COMBINATIONS,
  DU_WORDS,
  ESCALATION,
  GOLDEN,
  goldenView,
  outboundOf,
  pdfText,
  plain,
  SIE_WORDS,
  TONE_WORDS,
} from './channels-fixtures';

let dir: string;
let sink: SmtpSink;
let smtp: EmailChannel;
let channel: Channel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clearhub-notice-mail-'));
  sink = await startSmtpSink({ dir, rejectRecipients: (a) => a.endsWith('@gone.example') });
  smtp = createEmailChannel({ host: sink.host, port: sink.port, from: '"Acme Mobil" <forderungen@acme.example>' });
  channel = createEmailNoticeChannel({ email: smtp });
});
afterAll(async () => {
  smtp.close();
  await sink.close();
  await rm(dir, { recursive: true, force: true });
});

/** The message the sink received with this Message-ID, parsed as a mail client would. */
async function received(messageId: string): Promise<ParsedMail> {
  for (const f of (await readdir(dir)).filter((x) => x.endsWith('.eml'))) {
    const raw = await readFile(join(dir, f));
    if (!raw.includes(`Message-ID: ${messageId}`)) continue;
    // Keep the cid: links as a mail client sees them (mailparser would inline them as data: URIs).
    const mail = await simpleParser(raw, { keepCidLinks: true });
    if (mail.messageId === messageId) return mail;
  }
  throw new Error(`no mail ${messageId}`);
}

describe('golden notices by e-mail, received by an SMTP server and parsed', () => {
  it.each(COMBINATIONS)('%s/%s/%s', async (locale, tone, address) => {
    const noticeId = `ntc-${locale}-${tone}-${address}`;
    const base = goldenView(locale, tone, address);
    const view = { ...base, noticeId, debtor: { ...base.debtor, email: `${noticeId}@kunde.example` } };
    const result = await channel.send(outboundOf(view));
    expect(result).toMatchObject({ channel: 'email', status: 'sent', recipient: `${noticeId}@kunde.example` });

    const mail = await received(`<${noticeId}@clearhub>`);
    expect(mail.headers.get('x-clearhub-notice')).toBe(noticeId);
    const subject = plain(mail.subject ?? '');
    const text = plain(mail.text ?? '');
    const html = plain(String(mail.html));
    expect(subject).toContain(GOLDEN.total[locale]);
    expect(`${subject}\n${text}`).toMatch(TONE_WORDS[locale][tone]);
    for (const item of GOLDEN.items) {
      expect(text).toContain(`${item.doc} (${item.source})`);
      expect(text).toContain(item.due[locale]);
      expect(text).toContain(item.open[locale]);
      expect(html).toContain(item.doc);
    }
    expect(text).toContain(GOLDEN.fee[locale]);
    expect(text).toContain(GOLDEN.interest[locale]);
    expect(text).toContain(`${locale === 'de' ? 'Gesamtbetrag' : 'Total'}: ${GOLDEN.total[locale]}`);
    expect(text).toContain(GOLDEN.payLink);
    expect(text).toContain(GOLDEN.referenceGrouped);
    expect(text).toContain(GOLDEN.callbackUrl);
    if (tone === 'final') expect(text).toMatch(ESCALATION[locale]);
    else expect(text).not.toMatch(ESCALATION[locale]);
    if (locale === 'de') expect(text).not.toMatch(address === 'du' ? SIE_WORDS : DU_WORDS);

    // The QR codes travel inline, referenced from the HTML by Content-ID.
    const inline = mail.attachments.filter((a) => a.contentType === 'image/png');
    expect(inline.map((a) => a.cid).sort()).toEqual(['qr-girocode@clearhub', 'qr-paylink@clearhub']);
    for (const a of inline) expect(html).toContain(`cid:${a.cid}`);

    // A Mahnung carries the letter as PDF; the friendly reminder does not.
    const pdfs = mail.attachments.filter((a) => a.contentType === 'application/pdf');
    if (tone === 'friendly') {
      expect(pdfs).toHaveLength(0);
    } else {
      expect(pdfs).toHaveLength(1);
      expect(pdfs[0]!.filename).toMatch(/-2025-03-31\.pdf$/);
      const letter = pdfText(pdfs[0]!.content);
      expect(letter).toContain('Erika Mustermann');
      for (const item of GOLDEN.items) expect(letter).toContain(item.doc);
      expect(letter).toContain(GOLDEN.total[locale]);
    }
  });

  it('a mailbox that does not exist bounces, and nothing is stored for it', async () => {
    const before = (await readdir(dir)).length;
    const base = goldenView('de', 'neutral');
    const view = { ...base, noticeId: 'ntc-gone', debtor: { ...base.debtor, email: 'erika@gone.example' } };
    const r = await channel.send(outboundOf(view));
    expect(r.status).toBe('bounced');
    expect(r.code).toBe('550');
    expect((await readdir(dir)).length).toBe(before);
  });

  it('a debtor without an e-mail address is a failed attempt, not an error', async () => {
    const base = goldenView('de', 'neutral');
    const r = await channel.send(
      outboundOf({ ...base, noticeId: 'ntc-none', debtor: { ...base.debtor, email: undefined } }),
    );
    expect(r).toMatchObject({ status: 'failed', reason: 'debtor has no e-mail address' });
  });

  it('the same notice sent twice goes out once', async () => {
    const base = goldenView('en', 'firm');
    const view = { ...base, noticeId: 'ntc-twice', debtor: { ...base.debtor, email: 'twice@kunde.example' } };
    const first = await channel.send(outboundOf(view));
    const second = await channel.send(outboundOf(view));
    expect(second).toEqual(first);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.eml'));
    const mails = await Promise.all(files.map(async (f) => simpleParser(await readFile(join(dir, f)))));
    expect(mails.filter((m) => m.messageId === '<ntc-twice@clearhub>')).toHaveLength(1);
  });
});
