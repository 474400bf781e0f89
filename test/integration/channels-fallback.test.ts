import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { createEmailChannel, type EmailChannel } from '../../src/channels/email';
import { createLetterChannel } from '../../src/channels/letter/channel';
import { type SmtpSink, startSmtpSink } from '../../src/channels/smtp-sink';
import { sendPendingNotices } from '../../src/dunning/send';
import type { Store } from '../../src/store/db';
import { STORE_FACTORIES } from '../helpers/stores';
import { pdfText, seedNotices, sendOptions, TEMPLATES } from './channels-fixtures';

describe.each(STORE_FACTORIES)('sending with fallback on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let sink: SmtpSink;
  let email: EmailChannel;
  const mailDir = mkdtempSync(join(tmpdir(), 'clearhub-fb-mail-'));
  const printDir = mkdtempSync(join(tmpdir(), 'clearhub-fb-print-'));

  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
    sink = await startSmtpSink({ dir: mailDir, rejectRecipients: (a) => a.endsWith('@gone.example') });
    email = createEmailChannel({ host: sink.host, port: sink.port, from: 'forderungen@acme.example' });
  });
  afterAll(async () => {
    email.close();
    await sink.close();
    await dispose();
  });

  it('a bounced e-mail becomes a letter; the delivered e-mail carries the letter PDF; a re-send sends nothing', async () => {
    const tenantId = 't-fallback';
    const items = [
      { doc: 'R-7001', due: '2025-03-01', openMinor: 11900, source: 'billing' },
      { doc: 'F-88', due: '2025-03-10', openMinor: 5990, source: 'fica' },
    ];
    await seedNotices(store, tenantId, [
      {
        debtorId: 'anna',
        name: 'Anna Albers',
        email: 'anna@kunde.example',
        address: ['Anna Albers', 'Am Markt 1', '20095 Hamburg'],
        channel: 'email,letter',
        items,
        feeMinor: 250,
      },
      {
        debtorId: 'gone',
        name: 'Gerd Gone',
        email: 'gerd@gone.example',
        address: ['Gerd Gone', 'Hauptstraße 9', '10115 Berlin'],
        channel: 'email,letter',
        items,
        feeMinor: 250,
      },
      { debtorId: 'mute', name: 'Mia Mute', channel: 'email', items },
    ]);
    const letter = createLetterChannel({ outDir: printDir, templatesDir: TEMPLATES });
    const send = () =>
      sendPendingNotices(
        store,
        sendOptions(tenantId, email, {
          channels: { letter },
          settings: {
            creditor: { name: 'Acme Mobil GmbH', addressLines: ['Hafenstraße 1', '20457 Hamburg'] },
            bankAccount: { iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
          },
        }),
      );

    expect(await send()).toEqual({ sent: 2, bounced: 0, failed: 1, deferred: 0 });

    // Anna: one e-mail with the Mahnung as PDF (template "first" is the neutral tone).
    const mails = await Promise.all(
      readdirSync(mailDir)
        .filter((f) => f.endsWith('.eml'))
        .map(async (f) => simpleParser(readFileSync(join(mailDir, f)))),
    );
    expect(mails.map((m) => (m.to as { text: string }).text)).toEqual(['anna@kunde.example']);
    const anna = mails[0]!;
    expect(anna.subject).toMatch(/Mahnung/);
    expect(anna.text).toMatch(/Gesamtbetrag: 181,40\s€/); // 119.00 + 59.90 + 2.50
    const pdf = anna.attachments.find((a) => a.contentType === 'application/pdf');
    expect(pdf).toBeDefined();
    expect(pdfText(pdf!.content)).toMatch(/Gesamtbetrag\s+181,40 €/);

    // Gerd: the mailbox does not exist, so his notice went to the print service.
    const batches = readdirSync(printDir);
    expect(batches).toHaveLength(1);
    const manifest = readFileSync(join(printDir, batches[0]!, 'manifest.csv'), 'utf8')
      .trim()
      .split('\r\n');
    expect(manifest.slice(1).map((r) => r.split(',').slice(2, 3).concat(r.split(',').slice(6, 9)))).toEqual([
      ['ntc-t-fallback-gone', 'Gerd Gone', 'Hauptstraße 9', '10115 Berlin'],
    ]);
    const printed = pdfText(readFileSync(join(printDir, batches[0]!, 'letters.pdf')));
    expect(printed).toContain('Gerd Gone');
    expect(printed).toContain('R-7001');
    expect(printed).toMatch(/Gesamtbetrag\s+181,40 €/);
    expect(printed).toMatch(/IBAN\s+DE89 3704 0044 0532 0130 00/);

    const notices = await store.db
      .selectFrom('notices')
      .select(['debtor_id', 'status', 'recipient', 'message_id', 'error'])
      .where('tenant_id', '=', tenantId)
      .orderBy('debtor_id')
      .execute();
    expect(notices).toMatchObject([
      {
        debtor_id: 'anna',
        status: 'sent',
        recipient: 'anna@kunde.example',
        message_id: '<ntc-t-fallback-anna@clearhub>',
      },
      { debtor_id: 'gone', status: 'sent', recipient: 'Gerd Gone, Hauptstraße 9, 10115 Berlin' },
      { debtor_id: 'mute', status: 'failed', error: 'email: debtor has no e-mail address' },
    ]);
    const attempts = await store.db
      .selectFrom('notice_deliveries')
      .select(['notice_id', 'channel', 'status', 'code'])
      .where('tenant_id', '=', tenantId)
      .orderBy('notice_id')
      .orderBy('attempt')
      .execute();
    expect(
      attempts.map((a) =>
        `${a.notice_id.replace('ntc-t-fallback-', '')} ${a.channel} ${a.status} ${a.code ?? ''}`.trim(),
      ),
    ).toEqual(['anna email sent 250', 'gone email bounced 550', 'gone letter sent', 'mute email failed']);
    const events = await store.db
      .selectFrom('events')
      .select(['type', 'payload'])
      .where('tenant_id', '=', tenantId)
      .where('type', 'in', ['notice.sent', 'notice.failed'])
      .execute();
    expect(events.map((e) => `${e.type} ${(e.payload as { channel: string }).channel}`).sort()).toEqual([
      'notice.failed email',
      'notice.sent email',
      'notice.sent letter',
    ]);

    expect(await send()).toEqual({ sent: 0, bounced: 0, failed: 0, deferred: 0 });
    expect(readdirSync(mailDir).filter((f) => f.endsWith('.eml'))).toHaveLength(1);
    expect(readdirSync(printDir)).toHaveLength(1);
  });

  it('tells what the run recorded: tone, form of address, default interest and the lump sum', async () => {
    const tenantId = 't-recorded';
    await seedNotices(store, tenantId, [
      {
        debtorId: 'kiosk',
        name: 'Kiosk Kaya',
        email: 'kaya@kunde.example',
        channel: 'email',
        template: 'first',
        tone: 'final',
        addressForm: 'du',
        items: [{ doc: 'R-9001', due: '2025-01-31', openMinor: 100000 }],
        feeMinor: 500,
        lumpSumMinor: 4000,
        // 1,000.00 at 12.27 % for 59 days (1 Feb – 31 Mar 2025), act/365, worked out by hand: 19.83
        interest: [{ doc: 'R-9001', minor: 1983, from: '2025-02-01', to: '2025-03-31', rateBasisPoints: 1227 }],
      },
    ]);
    const r = await sendPendingNotices(store, sendOptions(tenantId, email));
    expect(r.sent).toBe(1);
    const file = readdirSync(mailDir)
      .filter((f) => f.endsWith('.eml'))
      .find((f) => readFileSync(join(mailDir, f), 'utf8').includes('kaya@kunde.example'))!;
    const mail = await simpleParser(readFileSync(join(mailDir, file)));
    const text = (mail.text ?? '').replace(/\u00a0/g, ' ');
    expect(mail.subject).toMatch(/^Letzte Mahnung/);
    expect(text).toMatch(/^Hallo Kiosk Kaya,/);
    expect(text).toContain('Mahngebühr: 5,00 €');
    expect(text).toContain('Verzugspauschale (§ 288 Abs. 5 BGB): 40,00 €');
    expect(text).toContain('Verzugszinsen 12,27 % p. a. auf 1.000,00 € vom 01.02.2025 bis 31.03.2025: 19,83 €');
    expect(text).toContain('Gesamtbetrag: 1.064,83 €'); // 1,000.00 + 5.00 + 40.00 + 19.83
    expect(text).toMatch(/Inkasso/);
  });
});
