/**
 * PayPal webhook self-verification: the signed message (CRC32 of the raw body as an unsigned decimal), RSA-SHA256
 * with the certificate from an allow-listed https host, the transmission-time window, and the certificate cache.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { ConnectorError } from '../../src/domain/errors';
import { signedMessage, WebhookSignatureVerifier } from '../../src/gateway/providers/paypal/signature';
import { type RawWebhook, WebhookRejected } from '../../src/gateway/providers/types';
import { selfSignedCertificate, signingIdentity } from '../simulators/paypal/certificate';

const WEBHOOK_ID = '1JE4291016473214C';
const CERT_URL = 'https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270';
const NOW = Date.now();
/** PayPal's transmission time format, `offsetSec` from now. */
const at = (offsetSec: number) => `${new Date(NOW + offsetSec * 1000).toISOString().slice(0, 19)}Z`;
const identity = signingIdentity('unit-paypal');

test('the signed message is id|time|webhook id|CRC32 of the body as an unsigned decimal', () => {
  // 0xCBF43926 is the CRC-32 check value of "123456789": above 2^31, so a signed rendering would be negative.
  expect(signedMessage('a1', '2026-11-29T12:00:00Z', 'WH1', Buffer.from('123456789'))).toBe(
    'a1|2026-11-29T12:00:00Z|WH1|3421780262',
  );
  expect(signedMessage('a1', 't', 'WH1', Buffer.from('hello'))).toBe(`a1|t|WH1|${0x3610a686}`);
});

function delivery(body: string, o: { time?: string; certUrl?: string; key?: typeof identity.privateKey } = {}) {
  const raw = Buffer.from(body);
  const time = o.time ?? at(-30);
  const id = 'b2d4f6a0-d67a-11e5-baa3-778b53f4ae55';
  const sig = sign('sha256', Buffer.from(signedMessage(id, time, WEBHOOK_ID, raw)), o.key ?? identity.privateKey);
  return {
    headers: {
      'paypal-transmission-id': id,
      'paypal-transmission-time': time,
      'paypal-transmission-sig': sig.toString('base64'),
      'paypal-cert-url': o.certUrl ?? CERT_URL,
      'paypal-auth-algo': 'SHA256withRSA',
    },
    body: raw,
  } satisfies RawWebhook;
}

function verifier(over: { pem?: string; status?: number; allowHttp?: boolean; throws?: boolean } = {}) {
  const fetched: string[] = [];
  const v = new WebhookSignatureVerifier({
    webhookId: WEBHOOK_ID,
    certHosts: ['api.paypal.com', 'api.sandbox.paypal.com'],
    allowHttpCertUrlsForTests: over.allowHttp ?? false,
    toleranceSec: 300,
    timeoutMs: 1000,
    now: () => NOW,
    fetchText: async (url) => {
      fetched.push(url.toString());
      if (over.throws) throw new Error('ECONNRESET');
      return { status: over.status ?? 200, text: over.pem ?? identity.certificatePem };
    },
  });
  return { v, fetched };
}

const reason = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: unknown) => (e instanceof WebhookRejected ? e.reason : (e as Error).name),
  );

test('a genuine delivery verifies; the certificate is fetched once and cached', async () => {
  const { v, fetched } = verifier();
  await v.verify(delivery('{"id":"WH-1"}'));
  await v.verify(delivery('{"id":"WH-2"}'));
  expect(fetched).toEqual([CERT_URL]);
});

test.each([
  ['a changed body', (d: RawWebhook) => ({ ...d, body: Buffer.from('{"id":"WH-X"}') }), 'signature'],
  [
    'another key',
    () => delivery('{"id":"WH-1"}', { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }),
    'signature',
  ],
  [
    'no signature header',
    (d: RawWebhook) => ({ ...d, headers: { ...d.headers, 'paypal-transmission-sig': '' } }),
    'signature',
  ],
  [
    'another algorithm',
    (d: RawWebhook) => ({ ...d, headers: { ...d.headers, 'paypal-auth-algo': 'SHA1withRSA' } }),
    'signature',
  ],
  ['a time six minutes old', () => delivery('{"id":"WH-1"}', { time: at(-360) }), 'timestamp'],
  ['a time six minutes ahead', () => delivery('{"id":"WH-1"}', { time: at(360) }), 'timestamp'],
  ['a time that is no date', () => delivery('{"id":"WH-1"}', { time: 'yesterday' }), 'timestamp'],
  ['a host off the list', () => delivery('{"id":"WH-1"}', { certUrl: 'https://evil.example/cert' }), 'certificate'],
  [
    'a look-alike host',
    () => delivery('{"id":"WH-1"}', { certUrl: 'https://api.paypal.com.evil.example/c' }),
    'certificate',
  ],
  [
    'credentials in the URL',
    () => delivery('{"id":"WH-1"}', { certUrl: 'https://api.paypal.com@evil.example/c' }),
    'certificate',
  ],
  ['plain http', () => delivery('{"id":"WH-1"}', { certUrl: CERT_URL.replace('https:', 'http:') }), 'certificate'],
] as const)('%s is rejected (%s)', async (_name, make, expected) => {
  const { v } = verifier();
  expect(await reason(v.verify(make(delivery('{"id":"WH-1"}'))))).toBe(expected);
});

test('http certificate URLs pass only with the test option', async () => {
  const d = delivery('{"id":"WH-1"}', { certUrl: CERT_URL.replace('https:', 'http:') });
  expect(await reason(verifier({ allowHttp: true }).v.verify(d))).toBe('accepted');
});

test('a certificate URL that answers 404, no certificate, or an expired one is a certificate rejection', async () => {
  const d = delivery('{"id":"WH-1"}');
  expect(await reason(verifier({ status: 404 }).v.verify(d))).toBe('certificate');
  expect(await reason(verifier({ pem: 'hello' }).v.verify(d))).toBe('certificate');
  const expired = selfSignedCertificate(identity.privateKey, 'old.clearhub.test', -400);
  expect(await reason(verifier({ pem: expired }).v.verify(d))).toBe('certificate');
});

test('a certificate host that is down is a ConnectorError (retry later), not a rejection', async () => {
  const d = delivery('{"id":"WH-1"}');
  await expect(verifier({ status: 503 }).v.verify(d)).rejects.toBeInstanceOf(ConnectorError);
  await expect(verifier({ throws: true }).v.verify(d)).rejects.toBeInstanceOf(ConnectorError);
});
