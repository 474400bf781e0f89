import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { applyDeliveryReceipt } from '../../src/channels/deliveries';
import { createEmailChannel, type EmailChannel } from '../../src/channels/email';
import { createLetterChannel } from '../../src/channels/letter/channel';
import { createSmsChannel, smsReceiptToDelivery } from '../../src/channels/sms/channel';
import type { SmsProvider } from '../../src/channels/sms/provider';
import { parseTwilioConfig } from '../../src/channels/sms/twilio/config';
import { createTwilioProvider } from '../../src/channels/sms/twilio/connector';
import { type SmtpSink, startSmtpSink } from '../../src/channels/smtp-sink';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { sendPendingNotices } from '../../src/dunning/send';
import type { Store } from '../../src/store/db';
import { STORE_FACTORIES } from '../helpers/stores';
import { startWebhookSink, type WebhookSink } from '../simulators/shared/webhook-sink';
import { type SmsSimulator, startSmsSimulator } from '../simulators/sms/server';
import {
  GOLDEN,
  goldenView,
  noticeStatuses,
  outboundOf,
  seedNotices,
  sendOptions,
  smsDebtor,
  TEMPLATES,
} from './channels-fixtures';

const ACCOUNT = `AC${'7'.repeat(32)}`;
const TOKEN = 'sim-token-9d8c7b6a5f4e3d2c1b0a';
const LANDLINE = '+493012345678';
const UNREACHABLE = '+4915100000003';
const OPTED_OUT = '+4915100000004';

let sim: SmsSimulator;
let receipts: WebhookSink;
let provider: SmsProvider;
const logLines: string[] = [];

beforeAll(async () => {
  sim = await startSmsSimulator({
    accountSid: ACCOUNT,
    authToken: TOKEN,
    numbers: { [LANDLINE]: 'landline', [UNREACHABLE]: 'unreachable', [OPTED_OUT]: 'opted-out' },
  });
  receipts = await startWebhookSink();
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      logLines.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = winston.createLogger({
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
  provider = createTwilioProvider(
    parseTwilioConfig({
      baseUrl: sim.url,
      accountSid: ACCOUNT,
      authToken: TOKEN,
      from: 'ACME',
      statusCallbackUrl: receipts.url,
    }),
    { logger },
  );
});
afterAll(async () => {
  await sim.close();
  await receipts.close();
});

describe('SMS through a Twilio-compatible provider', () => {
  it('the debtor receives the tone text with the pay link, in GSM-7 and at most two parts', async () => {
    const channel = createSmsChannel({ provider });
    for (const [locale, tone, address] of [
      ['de', 'friendly', 'du'],
      ['de', 'final', 'Sie'],
      ['en', 'firm', 'Sie'],
    ] as const) {
      const view = goldenView(locale, tone, address, { noticeId: `ntc-sms-${locale}-${tone}` });
      const r = await channel.send(outboundOf(view));
      expect(r).toMatchObject({ channel: 'sms', status: 'sent', recipient: '+4915112345678' });
      const got = sim.messages.find((m) => m.sid === r.providerMessageId)!;
      expect(got.to).toBe('+4915112345678');
      expect(got.from).toBe('ACME');
      expect(got.body).toContain(GOLDEN.payLink);
      expect(got.body).toContain(locale === 'de' ? '201,76 €' : '€201.76');
      expect(got.body).toContain('Acme Mobil GmbH');
      expect(got.encoding).toBe('GSM-7');
      expect(got.segments).toBeLessThanOrEqual(2);
      expect(got.idempotencyKey).toBe(view.noticeId);
      expect(got.statusCallback).toBe(receipts.url);
    }
  });

  it('a landline or an opted-out number bounces; a number that is not E.164 never reaches the provider', async () => {
    const channel = createSmsChannel({ provider });
    const base = goldenView('de', 'neutral');
    const send = (noticeId: string, phone: string) =>
      channel.send(outboundOf({ ...base, noticeId, debtor: { ...base.debtor, phone } }));
    expect(await send('ntc-land', LANDLINE)).toMatchObject({ status: 'bounced', code: '21614' });
    expect(await send('ntc-stop', OPTED_OUT)).toMatchObject({ status: 'bounced', code: '21610' });
    const before = sim.refusals.length + sim.messages.length;
    expect(await send('ntc-local', '0151 1234')).toMatchObject({ status: 'bounced' });
    expect(sim.refusals.length + sim.messages.length).toBe(before);
  });

  it('5xx and 429 are transient; refused credentials are configuration, and the token never shows', async () => {
    const channel = createSmsChannel({ provider });
    const base = goldenView('de', 'neutral');
    sim.failNext(1, 500);
    const e500 = await channel.send(outboundOf({ ...base, noticeId: 'ntc-500' })).catch((e: unknown) => e);
    expect(e500).toBeInstanceOf(ConnectorError);
    expect((e500 as ConnectorError).indeterminate).toBe(true);
    sim.failNext(1, 429);
    const e429 = await channel.send(outboundOf({ ...base, noticeId: 'ntc-429' })).catch((e: unknown) => e);
    expect(e429).toBeInstanceOf(ConnectorError);

    const wrong = createSmsChannel({
      provider: createTwilioProvider(
        parseTwilioConfig({ baseUrl: sim.url, accountSid: ACCOUNT, authToken: 'wrong-token-0123456789', from: 'ACME' }),
      ),
    });
    const e401 = await wrong.send(outboundOf({ ...base, noticeId: 'ntc-401' })).catch((e: unknown) => e);
    expect(e401).toBeInstanceOf(IntegrationError);
    expect(String((e401 as Error).message)).toMatch(/auth/i);
    expect(String((e401 as Error).message)).not.toContain('wrong-token-0123456789');
    const log = logLines.join('');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain(Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64'));
    expect(log).not.toContain('+4915112345678'); // no phone numbers in the call log
    expect(log).toContain('"idempotencyKey":"ntc-500"');
  });

  it('delivery receipts are signed; a forged one is refused', async () => {
    const channel = createSmsChannel({ provider });
    const r = await channel.send(outboundOf(goldenView('en', 'neutral', 'Sie', { noticeId: 'ntc-receipt' })));
    await sim.deliverAll();
    const delivery = await receipts.waitFor(
      (w) => w.body.toString().includes(`MessageSid=${r.providerMessageId}`) && w.body.toString().includes('delivered'),
    );
    const receipt = provider.parseReceipt({ url: receipts.url, headers: delivery.headers, body: delivery.body });
    expect(receipt).toMatchObject({ providerReference: r.providerMessageId, status: 'delivered' });
    const forged = delivery.body.toString().replace('delivered', 'undelivered');
    expect(() => provider.parseReceipt({ url: receipts.url, headers: delivery.headers, body: forged })).toThrow(
      IntegrationError,
    );
  });
});

describe.each(STORE_FACTORIES.filter((f) => f.name === 'pglite'))('SMS in the send path on %s', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let smtpSink: SmtpSink;
  let email: EmailChannel;
  const mailDir = mkdtempSync(join(tmpdir(), 'clearhub-sms-mail-'));
  const printDir = mkdtempSync(join(tmpdir(), 'clearhub-sms-print-'));

  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
    smtpSink = await startSmtpSink({ dir: mailDir });
    email = createEmailChannel({ host: smtpSink.host, port: smtpSink.port, from: 'forderungen@acme.example' });
  });
  afterAll(async () => {
    email.close();
    await smtpSink.close();
    await dispose();
  });

  it('falls back to a letter when the SMS bounces, at once or later by receipt, and never sends twice', async () => {
    const tenantId = 't-sms';
    await seedNotices(store, tenantId, [
      smsDebtor('d1', 'Anna Fröhlich', '+4915112340001'),
      smsDebtor('d2', 'Bernd Brandt', LANDLINE),
      smsDebtor('d3', 'Carla Chen', UNREACHABLE),
    ]);
    const channels = {
      sms: createSmsChannel({ provider }),
      letter: createLetterChannel({ outDir: printDir, templatesDir: TEMPLATES }),
    };
    const send = () =>
      sendPendingNotices(
        store,
        sendOptions(tenantId, email, {
          channels,
          viewModel: (v, n) => ({ ...v, payLink: `https://pay.acme.example/n/${n.noticeId}` }),
        }),
      );

    const smsBefore = sim.messages.length;
    expect(await send()).toEqual({ sent: 3, bounced: 0, failed: 0, deferred: 0 });
    const texts = sim.messages.slice(smsBefore);
    expect(texts.map((m) => m.to).sort()).toEqual([UNREACHABLE, '+4915112340001'].sort());
    for (const m of texts) expect(m.body).toMatch(/https:\/\/pay\.acme\.example\/n\/ntc-t-sms-d[13]/);

    // Bernd's landline bounced at once: his letter is in the first print batch.
    const manifests = () =>
      readdirSync(printDir).flatMap((b) =>
        readFileSync(join(printDir, b, 'manifest.csv'), 'utf8')
          .trim()
          .split('\r\n')
          .slice(1),
      );
    expect(manifests().map((r) => r.split(',')[2])).toEqual(['ntc-t-sms-d2']);

    // The receipts arrive: Anna's text was delivered, Carla's phone was unreachable.
    await sim.deliverAll();
    let carla: ReturnType<typeof smsReceiptToDelivery> | undefined;
    for (const m of texts) {
      const w = await receipts.waitFor(
        (x) => x.body.toString().includes(m.sid) && /MessageStatus=(delivered|undelivered)/.test(x.body.toString()),
      );
      const receipt = provider.parseReceipt({ url: receipts.url, headers: w.headers, body: w.body });
      if (m.to === UNREACHABLE) carla = smsReceiptToDelivery(receipt);
      const applied = await applyDeliveryReceipt(store, tenantId, smsReceiptToDelivery(receipt));
      expect(applied.matched).toBe(true);
      expect(applied.fallback).toBe(m.to === UNREACHABLE);
    }
    const status = () => noticeStatuses(store, tenantId);
    expect(await status()).toEqual({ d1: 'sent', d2: 'sent', d3: 'pending' });

    // The next send takes Carla's notice to the letter, without texting her again.
    const smsNow = sim.messages.length;
    expect(await send()).toEqual({ sent: 1, bounced: 0, failed: 0, deferred: 0 });
    expect(sim.messages.length).toBe(smsNow);
    expect(
      manifests()
        .map((r) => r.split(',')[2])
        .sort(),
    ).toEqual(['ntc-t-sms-d2', 'ntc-t-sms-d3']);
    expect(await status()).toEqual({ d1: 'sent', d2: 'sent', d3: 'sent' });

    const attempts = await store.db
      .selectFrom('notice_deliveries')
      .select(['notice_id', 'attempt', 'channel', 'status', 'code'])
      .where('tenant_id', '=', tenantId)
      .orderBy('notice_id')
      .orderBy('attempt')
      .execute();
    expect(
      attempts.map((a) => `${a.notice_id.slice(-2)} ${a.attempt} ${a.channel} ${a.status} ${a.code ?? ''}`.trim()),
    ).toEqual([
      'd1 1 sms delivered',
      'd2 1 sms bounced 21614',
      'd2 2 letter sent',
      'd3 1 sms bounced 30003',
      'd3 2 letter sent',
    ]);
    // A repeated receipt changes nothing; a third send finds nothing to do.
    expect(await applyDeliveryReceipt(store, tenantId, carla!)).toMatchObject({ matched: true, fallback: false });
    expect(await status()).toEqual({ d1: 'sent', d2: 'sent', d3: 'sent' });
    expect(await send()).toEqual({ sent: 0, bounced: 0, failed: 0, deferred: 0 });
  });
});
