import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/api/logger';
import { createEmailChannel, type EmailChannel } from '../../src/channels/email';
import { createLetterChannel } from '../../src/channels/letter/channel';
import { createSmsChannel } from '../../src/channels/sms/channel';
import { type SmsReceiptEndpoint, smsReceiptsUrl } from '../../src/channels/sms/receipts';
import { parseTwilioConfig } from '../../src/channels/sms/twilio/config';
import { createTwilioProvider } from '../../src/channels/sms/twilio/connector';
import { type SmtpSink, startSmtpSink } from '../../src/channels/smtp-sink';
import { sendPendingNotices } from '../../src/dunning/send';
import type { Store } from '../../src/store/db';
import { STORE_FACTORIES } from '../helpers/stores';
import { type SmsSimulator, startSmsSimulator } from '../simulators/sms/server';
import { noticeStatuses, seedNotices, sendOptions, smsDebtor, TEMPLATES } from './channels-fixtures';

const ACCOUNT = `AC${'5'.repeat(32)}`;
const TOKEN = 'sim-token-receipts-0a1b2c3d4e5f';
const UNREACHABLE = '+4915100000003';
const TENANT = 't-receipts';

describe.each(STORE_FACTORIES)('SMS delivery receipts through the HTTP API on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let sim: SmsSimulator;
  let server: Server;
  let base: string;
  let endpoint: SmsReceiptEndpoint | undefined;
  let smtp: SmtpSink;
  let email: EmailChannel;
  const printDir = mkdtempSync(join(tmpdir(), 'clearhub-receipts-print-'));

  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
    sim = await startSmsSimulator({ accountSid: ACCOUNT, authToken: TOKEN, numbers: { [UNREACHABLE]: 'unreachable' } });
    smtp = await startSmtpSink({ dir: mkdtempSync(join(tmpdir(), 'clearhub-receipts-mail-')) });
    email = createEmailChannel({ host: smtp.host, port: smtp.port, from: 'forderungen@acme.example' });
    const quiet = new Writable({ write: (_c, _e, cb) => cb() });
    const app = createApp({
      store,
      logger: createLogger({ level: 'error', json: true, stream: quiet }),
      services: {
        recordPayment: async () => {
          throw new Error('not used');
        },
        smsReceipts: (tenantId) => (tenantId === TENANT ? endpoint : undefined),
      },
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // As the runtime does: the provider is told the receipt URL below the public address, and verifies with it.
    const url = smsReceiptsUrl(base, TENANT);
    endpoint = {
      url,
      provider: createTwilioProvider(
        parseTwilioConfig({
          baseUrl: sim.url,
          accountSid: ACCOUNT,
          authToken: TOKEN,
          from: 'ACME',
          statusCallbackUrl: url,
        }),
      ),
    };
  });
  afterAll(async () => {
    server.close();
    email.close();
    await smtp.close();
    await sim.close();
    await dispose();
  });

  it('a text that was not delivered sends the notice on to its letter; a delivered one stays sent', async () => {
    await seedNotices(store, TENANT, [
      smsDebtor('d1', 'Anna Fröhlich', '+4915112340001'),
      smsDebtor('d2', 'Carla Chen', UNREACHABLE),
    ]);
    const send = () =>
      sendPendingNotices(
        store,
        sendOptions(TENANT, email, {
          channels: {
            sms: createSmsChannel({ provider: endpoint!.provider }),
            letter: createLetterChannel({ outDir: printDir, templatesDir: TEMPLATES }),
          },
        }),
      );
    expect(await send()).toMatchObject({ sent: 2 });

    // The provider posts its receipts to the API, signed; both are answered 200.
    const posted = await sim.deliverAll();
    expect(posted.map((p) => p.callbackStatus)).toEqual([200, 200]);
    expect(await noticeStatuses(store, TENANT)).toEqual({ d1: 'sent', d2: 'pending' });
    const deliveries = await store.db
      .selectFrom('notice_deliveries')
      .select(['notice_id', 'channel', 'status'])
      .where('tenant_id', '=', TENANT)
      .orderBy('notice_id')
      .execute();
    expect(deliveries.map((d) => d.status).sort()).toEqual(['bounced', 'delivered']);

    // The next send takes Carla's notice to the letter.
    expect(await send()).toMatchObject({ sent: 1 });
    const letters = await store.db
      .selectFrom('notice_deliveries')
      .select('notice_id')
      .where('tenant_id', '=', TENANT)
      .where('channel', '=', 'letter')
      .execute();
    expect(letters).toHaveLength(1);
  });

  it('a forged receipt is answered 400 and changes nothing; a tenant without SMS receipts is 404', async () => {
    const before = await store.db.selectFrom('notice_deliveries').selectAll().where('tenant_id', '=', TENANT).execute();
    const forged = await fetch(smsReceiptsUrl(base, TENANT), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'bm90IGEgc2lnbmF0dXJl' },
      body: new URLSearchParams({ MessageSid: 'SM00000000000000000000000000000000', MessageStatus: 'undelivered' }),
    });
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { detail: string }).detail).toMatch(/signature/i);
    const after = await store.db.selectFrom('notice_deliveries').selectAll().where('tenant_id', '=', TENANT).execute();
    expect(after).toEqual(before);

    const other = await fetch(smsReceiptsUrl(base, 'someone-else'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'MessageSid=SM1&MessageStatus=delivered',
    });
    expect(other.status).toBe(404);
  });
});
