import { inspect } from 'node:util';
import { smsLength } from '../../src/channels/sms/segments';
import { parseTwilioConfig } from '../../src/channels/sms/twilio/config';
import {
  fromWire,
  receiptFromWire,
  type TwilioMessageResource,
  toWire,
  twilioSignature,
  verifyTwilioSignature,
} from '../../src/channels/sms/twilio/transformers';
import { IntegrationError } from '../../src/domain/errors';

const SID = `AC${'0123456789abcdef'.repeat(2)}`;
const TOKEN = 'f3c1d2e4b5a6978812345678abcdef00';

describe('SMS length', () => {
  it('counts GSM-7 characters, two for the extension table, and splits into 153-septet parts', () => {
    expect(smsLength('a'.repeat(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(smsLength('a'.repeat(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(smsLength('a'.repeat(306)).segments).toBe(2);
    expect(smsLength('a'.repeat(307)).segments).toBe(3);
    // € is in the extension table: 2 septets.
    expect(smsLength('12,50 €')).toEqual({ encoding: 'GSM-7', units: 8, segments: 1 });
    // German umlauts and ß are in the basic alphabet.
    expect(smsLength('Grüße aus Köln, Straße').encoding).toBe('GSM-7');
  });

  it('falls back to UCS-2 for one character outside the GSM alphabet: 70, then 67 per part', () => {
    expect(smsLength(`${'a'.repeat(69)}–`)).toEqual({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsLength(`${'a'.repeat(70)}–`)).toEqual({ encoding: 'UCS-2', units: 71, segments: 2 });
    expect(smsLength('12,50\u00a0€').encoding).toBe('UCS-2'); // a no-break space costs the whole GSM alphabet
  });
});

describe('Twilio Messages API on the wire', () => {
  const cfg = parseTwilioConfig({ accountSid: SID, authToken: TOKEN, from: 'ACME' });

  it('sends To, From, Body and the status callback as a form', () => {
    const form = toWire(
      { to: '+4915112345678', body: 'ACME: 20 € offen', statusCallbackUrl: 'https://x.example/cb' },
      cfg,
    );
    expect(Object.fromEntries(form)).toEqual({
      To: '+4915112345678',
      From: 'ACME',
      Body: 'ACME: 20 € offen',
      StatusCallback: 'https://x.example/cb',
    });
    expect(form.toString()).toContain('Body=ACME%3A+20+%E2%82%AC+offen');
  });

  it('uses the messaging service instead of a sender when configured', () => {
    const svc = parseTwilioConfig({ accountSid: SID, authToken: TOKEN, messagingServiceSid: `MG${'a'.repeat(32)}` });
    const form = toWire({ to: '+4915112345678', body: 'x' }, svc);
    expect(form.get('MessagingServiceSid')).toBe(`MG${'a'.repeat(32)}`);
    expect(form.has('From')).toBe(false);
  });

  it('refuses a number that is not E.164 before anything is sent', () => {
    expect(() => toWire({ to: '0151 12345678', body: 'x' }, cfg)).toThrow(/E\.164/);
  });

  const resource = (over: Partial<TwilioMessageResource>): TwilioMessageResource => ({
    sid: 'SM0123456789abcdef0123456789abcdef',
    account_sid: SID,
    status: 'queued',
    to: '+4915112345678',
    from: 'ACME',
    body: 'x',
    num_segments: '2',
    error_code: null,
    error_message: null,
    date_created: 'Mon, 31 Mar 2025 10:00:00 +0000',
    ...over,
  });

  it('reads a queued message as accepted with its sid and segments', () => {
    const r = fromWire(resource({}), { to: '+4915112345678', body: 'x' });
    expect(r).toMatchObject({
      status: 'accepted',
      providerReference: 'SM0123456789abcdef0123456789abcdef',
      segments: 2,
    });
  });

  it('reads a message failed at once as rejected, a number problem as the recipient', () => {
    const r = fromWire(resource({ status: 'failed', error_code: 30006, error_message: null }), {
      to: '+4915112345678',
      body: 'x',
    });
    expect(r).toMatchObject({ status: 'rejected', permanence: 'recipient', code: '30006' });
  });

  it('refuses an answer for another number (echo check)', () => {
    expect(() => fromWire(resource({ to: '+4915199999999' }), { to: '+4915112345678', body: 'x' })).toThrow(/echoed/);
  });

  it("signs like Twilio's documentation example", () => {
    // https://www.twilio.com/docs/usage/security#validating-requests: this URL, these fields, token 12345.
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    const form = new URLSearchParams({
      CallSid: 'CA1234567890ABCDE',
      Caller: '+12349013030',
      Digits: '1234',
      From: '+12349013030',
      To: '+18005551212',
    });
    expect(twilioSignature('12345', url, form)).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
    expect(verifyTwilioSignature('12345', url, form, '0/KCTR6DLpKmkAf8muzZqo1nDgQ=')).toBe(true);
    form.set('Digits', '1235');
    expect(verifyTwilioSignature('12345', url, form, '0/KCTR6DLpKmkAf8muzZqo1nDgQ=')).toBe(false);
  });

  it('maps status callbacks: delivered, and undelivered with the reason and who is at fault', () => {
    const delivered = receiptFromWire(new URLSearchParams({ MessageSid: 'SM1', MessageStatus: 'delivered' }));
    expect(delivered).toMatchObject({ providerReference: 'SM1', status: 'delivered' });
    const gone = receiptFromWire(
      new URLSearchParams({ MessageSid: 'SM2', MessageStatus: 'undelivered', ErrorCode: '30003' }),
    );
    expect(gone).toMatchObject({ status: 'undelivered', code: '30003', permanence: 'recipient' });
    expect(gone.reason).toMatch(/unreachable/);
    const filtered = receiptFromWire(
      new URLSearchParams({ MessageSid: 'SM3', MessageStatus: 'undelivered', ErrorCode: '30007' }),
    );
    expect(filtered.permanence).toBe('message');
    expect(receiptFromWire(new URLSearchParams({ MessageSid: 'SM4', MessageStatus: 'sent' })).status).toBe('pending');
  });

  it('config errors name the field and never echo the token; the token prints as [REDACTED]', () => {
    let err: Error | undefined;
    try {
      parseTwilioConfig({ accountSid: 'AC123', authToken: TOKEN, from: 'ACME' });
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err!.message).toContain('sms.accountSid');
    expect(err!.message).not.toContain(TOKEN);
    expect(inspect(cfg)).not.toContain(TOKEN);
    expect(JSON.stringify(cfg)).not.toContain(TOKEN);
    expect(String(cfg.authToken)).toBe('[REDACTED]');
  });
});
