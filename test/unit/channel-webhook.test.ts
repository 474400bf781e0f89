import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhookSignature } from '../../src/channels/webhook/signature';

const SECRET = 'whsec_test_5f1d0c9a';
const BODY = '{"id":"evt_ntc-1","type":"dunning.notice"}';

describe('webhook signatures (Stripe scheme: t=…,v1=HMAC-SHA256 of "t.body")', () => {
  it('is the HMAC-SHA256 of the timestamp, a dot and the raw body, in hex', () => {
    const header = signWebhook(SECRET, BODY, 1743415200);
    const expected = createHmac('sha256', SECRET).update(`1743415200.${BODY}`).digest('hex');
    expect(header).toBe(`t=1743415200,v1=${expected}`);
  });

  it('verifies within the tolerance and refuses a tampered body, another secret or an old timestamp', () => {
    const header = signWebhook(SECRET, BODY, 1743415200);
    expect(verifyWebhookSignature({ secret: SECRET, header, body: BODY, now: 1743415260 })).toEqual({
      ok: true,
      timestamp: 1743415200,
    });
    expect(verifyWebhookSignature({ secret: SECRET, header, body: `${BODY} `, now: 1743415260 })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verifyWebhookSignature({ secret: 'whsec_other', header, body: BODY, now: 1743415260 }).ok).toBe(false);
    expect(verifyWebhookSignature({ secret: SECRET, header, body: BODY, now: 1743415200 + 301 })).toEqual({
      ok: false,
      reason: 'too-old',
    });
    expect(verifyWebhookSignature({ secret: SECRET, header, body: BODY, now: 1743419999, toleranceSec: 0 }).ok).toBe(
      true,
    );
  });

  it('accepts any of several v1 signatures while a secret is rolled, and refuses garbage', () => {
    const good = signWebhook(SECRET, BODY, 1743415200).split('v1=')[1];
    const header = `t=1743415200,v1=${'0'.repeat(64)},v1=${good}`;
    expect(verifyWebhookSignature({ secret: SECRET, header, body: BODY, now: 1743415200 }).ok).toBe(true);
    expect(verifyWebhookSignature({ secret: SECRET, header: undefined, body: BODY })).toEqual({
      ok: false,
      reason: 'missing',
    });
    expect(verifyWebhookSignature({ secret: SECRET, header: 'v1=abc', body: BODY })).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });
});
