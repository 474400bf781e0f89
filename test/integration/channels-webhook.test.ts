import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import winston from 'winston';
import { Secret } from '../../src/channels/secret';
import { createWebhookChannel, type WebhookNoticeEvent } from '../../src/channels/webhook/channel';
import { verifyWebhookSignature } from '../../src/channels/webhook/signature';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { startWebhookSink, type WebhookSink } from '../simulators/shared/webhook-sink';
import { GOLDEN, goldenView, outboundOf } from './channels-fixtures';

const SECRET = 'whsec_call_centre_3b9f2c7e';
let sink: WebhookSink;
const lines: string[] = [];
let logger: winston.Logger;

beforeAll(async () => {
  sink = await startWebhookSink();
  const stream = new Writable({
    write(chunk: Buffer, _e, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  logger = winston.createLogger({
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream })],
  });
});
afterAll(async () => {
  await sink.close();
});

describe('notices as signed webhooks to a call centre or CRM', () => {
  it('the receiver can verify the signature and finds the notice in minor units, with what the debtor reads', async () => {
    const channel = createWebhookChannel({ url: sink.url, secret: new Secret(SECRET), logger });
    const view = goldenView('de', 'final', 'Sie', { noticeId: 'ntc-hook-1' });
    const r = await channel.send(outboundOf(view, 't-hooks'));
    expect(r).toMatchObject({ channel: 'webhook', status: 'sent', providerMessageId: 'evt_ntc-hook-1' });

    const got = await sink.waitFor((w) => w.headers['idempotency-key'] === 'ntc-hook-1');
    const check = verifyWebhookSignature({ secret: SECRET, header: got.headers['clearhub-signature'], body: got.body });
    expect(check.ok).toBe(true);
    expect(
      verifyWebhookSignature({ secret: 'whsec_guess', header: got.headers['clearhub-signature'], body: got.body }).ok,
    ).toBe(false);
    const event = JSON.parse(got.body.toString('utf8')) as WebhookNoticeEvent;
    expect(event).toMatchObject({ id: 'evt_ntc-hook-1', type: 'dunning.notice' });
    expect(event.data).toMatchObject({
      tenantId: 't-hooks',
      noticeId: 'ntc-hook-1',
      tone: 'final',
      currency: 'EUR',
      totalMinor: GOLDEN.totalMinor,
      total: '201.76',
      interestMinor: 37,
      payLink: GOLDEN.payLink,
      reference: GOLDEN.reference,
      debtor: { debtorId: 'dbt-1', externalId: 'K-4711', phone: '+4915112345678' },
    });
    expect(event.data.items.map((i) => [i.documentNumber, i.openMinor])).toEqual([
      ['R-1001', 4999],
      ['R-1002', 1990],
      ['H-77', 12900],
    ]);
    expect(event.data.fees).toEqual([{ kind: 'dunning-fee', amountMinor: 250, amount: '2.50' }]);
    expect(event.data.subject).toContain('Letzte Mahnung');
    expect(event.data.text).toContain('Inkasso');
  });

  it('a receiver that is down is transient; one that refuses the notice is a failed attempt', async () => {
    const channel = createWebhookChannel({ url: sink.url, secret: new Secret(SECRET), logger });
    sink.failNext(1, 503);
    const down = await channel
      .send(outboundOf(goldenView('en', 'neutral', 'Sie', { noticeId: 'ntc-hook-2' })))
      .catch((e: unknown) => e);
    expect(down).toBeInstanceOf(ConnectorError);
    expect((down as ConnectorError).indeterminate).toBe(true);
    sink.failNext(1, 422);
    const refused = await channel.send(outboundOf(goldenView('en', 'neutral', 'Sie', { noticeId: 'ntc-hook-3' })));
    expect(refused).toMatchObject({ status: 'failed', code: '422' });
  });

  it('a receiver refusing our signature stops the run, and the secret shows nowhere', async () => {
    const channel = createWebhookChannel({ url: sink.url, secret: new Secret(SECRET), logger });
    sink.failNext(1, 401);
    const err = await channel
      .send(outboundOf(goldenView('en', 'neutral', 'Sie', { noticeId: 'ntc-hook-4' })))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as Error).message).toMatch(/secret/);
    expect((err as Error).message).not.toContain(SECRET);
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).toContain('"idempotencyKey":"ntc-hook-4"');
  });

  it('a receiver that cannot be reached at all is transient and not a guess about delivery', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise((r) => server.close(r));
    const channel = createWebhookChannel({ url: `http://127.0.0.1:${port}/hooks`, secret: new Secret(SECRET) });
    const err = await channel
      .send(outboundOf(goldenView('de', 'neutral', 'Sie', { noticeId: 'ntc-hook-5' })))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).indeterminate).toBe(false);
  });
});
