/**
 * An SMS provider simulator that speaks Twilio's Messages API: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`
 * with a form body and Basic auth, answering with the Message resource or Twilio's error body, and status callbacks
 * to `StatusCallback` signed with `X-Twilio-Signature` (HMAC-SHA1 of the URL and the sorted form fields, keyed with the
 * auth token). Callbacks go out when the test calls `deliverAll()`, so nothing depends on timing.
 *
 * It counts segments itself (GSM 03.38 or UCS-2), independently of the code under test.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type NumberBehaviour = 'landline' | 'opted-out' | 'unreachable' | 'filtered';

export interface SmsSimulatorOptions {
  accountSid: string;
  authToken: string;
  /** How particular numbers behave; every other valid number is delivered. */
  numbers?: Readonly<Record<string, NumberBehaviour>>;
}

export interface SimulatedSms {
  sid: string;
  to: string;
  from: string;
  body: string;
  segments: number;
  encoding: 'GSM-7' | 'UCS-2';
  statusCallback?: string;
  /** The `Idempotency-Key` header the client sent, if any. */
  idempotencyKey?: string;
  status: 'queued' | 'sent' | 'delivered' | 'undelivered';
}

export interface SmsSimulator {
  /** Base URL to configure as the provider's `baseUrl`. */
  url: string;
  messages: SimulatedSms[];
  /** Requests refused, with the error code. */
  refusals: { to: string; code: number }[];
  /** Posts `sent` and then `delivered` or `undelivered` callbacks for every queued message; resolves when answered. */
  deliverAll(): Promise<{ sid: string; status: string; callbackStatus: number }[]>;
  /** Answers the next `n` sends with this HTTP status (e.g. 500, 429). */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

const GSM7 =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿' +
  'abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXT = '^{}\\[~]|€\f';

function segmentsOf(body: string): { segments: number; encoding: 'GSM-7' | 'UCS-2' } {
  let septets = 0;
  for (const ch of body) {
    if (GSM7.includes(ch)) septets += 1;
    else if (GSM7_EXT.includes(ch)) septets += 2;
    else {
      const units = body.length;
      return { encoding: 'UCS-2', segments: units <= 70 ? 1 : Math.ceil(units / 67) };
    }
  }
  return { encoding: 'GSM-7', segments: septets <= 160 ? 1 : Math.ceil(septets / 153) };
}

function sign(authToken: string, url: string, params: Record<string, string>): string {
  const data =
    url +
    Object.keys(params)
      .sort()
      .map((k) => `${k}${params[k]}`)
      .join('');
  return createHmac('sha1', authToken).update(data).digest('base64');
}

export async function startSmsSimulator(opts: SmsSimulatorOptions): Promise<SmsSimulator> {
  const messages: SimulatedSms[] = [];
  const refusals: { to: string; code: number }[] = [];
  let failing = 0;
  let failStatus = 500;
  const path = `/2010-04-01/Accounts/${opts.accountSid}/Messages.json`;
  const expectedAuth = `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString('base64')}`;

  const error = (res: ServerResponse, status: number, code: number, message: string) => {
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    if (req.method !== 'POST' || !req.url?.startsWith('/2010-04-01/Accounts/')) {
      error(res, 404, 20404, `The requested resource ${req.url} was not found`);
      return;
    }
    if (req.headers.authorization !== expectedAuth) {
      error(res, 401, 20003, 'Authenticate');
      return;
    }
    if (req.url !== path) {
      error(res, 404, 20404, `The requested resource ${req.url} was not found`);
      return;
    }
    if (failing > 0) {
      failing--;
      if (failStatus === 429) error(res, 429, 20429, 'Too Many Requests');
      else res.writeHead(failStatus, { 'content-type': 'application/json' }).end('{"message":"Internal error"}');
      return;
    }
    const form = new URLSearchParams(raw);
    const to = form.get('To') ?? '';
    const body = form.get('Body') ?? '';
    const from = form.get('From') ?? form.get('MessagingServiceSid') ?? '';
    if (!from) return error(res, 400, 21603, "A 'From' phone number is required.");
    if (!/^\+[1-9]\d{6,14}$/.test(to)) {
      refusals.push({ to, code: 21211 });
      return error(res, 400, 21211, `The 'To' number ${to} is not a valid phone number.`);
    }
    if (body === '') return error(res, 400, 21602, 'Message body is required.');
    if (body.length > 1600)
      return error(res, 400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    const behaviour = opts.numbers?.[to];
    if (behaviour === 'landline') {
      refusals.push({ to, code: 21614 });
      return error(res, 400, 21614, `'To' number ${to} is not a valid mobile number`);
    }
    if (behaviour === 'opted-out') {
      refusals.push({ to, code: 21610 });
      return error(res, 400, 21610, 'Attempt to send to unsubscribed recipient');
    }
    const { segments, encoding } = segmentsOf(body);
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const msg: SimulatedSms = {
      sid,
      to,
      from,
      body,
      segments,
      encoding,
      statusCallback: form.get('StatusCallback') ?? undefined,
      idempotencyKey: typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined,
      status: 'queued',
    };
    messages.push(msg);
    res.writeHead(201, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        sid,
        account_sid: opts.accountSid,
        status: 'queued',
        to,
        from,
        body,
        num_segments: String(segments),
        num_media: '0',
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        price: null,
        date_created: new Date().toUTCString(),
        date_sent: null,
        api_version: '2010-04-01',
        uri: `${path.replace('.json', '')}/${sid}.json`,
      }),
    );
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const post = async (msg: SimulatedSms, status: string, errorCode?: string) => {
    const params: Record<string, string> = {
      AccountSid: opts.accountSid,
      ApiVersion: '2010-04-01',
      From: msg.from,
      MessageSid: msg.sid,
      MessageStatus: status,
      SmsSid: msg.sid,
      SmsStatus: status,
      To: msg.to,
      ...(errorCode ? { ErrorCode: errorCode } : {}),
    };
    const url = msg.statusCallback!;
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': sign(opts.authToken, url, params),
      },
      body: new URLSearchParams(params),
    });
    await res.text();
    return res.status;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    refusals,
    async deliverAll() {
      const out: { sid: string; status: string; callbackStatus: number }[] = [];
      for (const msg of messages) {
        if (msg.status !== 'queued') continue;
        const behaviour = opts.numbers?.[msg.to];
        const final = behaviour === 'unreachable' || behaviour === 'filtered' ? 'undelivered' : 'delivered';
        const code = behaviour === 'unreachable' ? '30003' : behaviour === 'filtered' ? '30007' : undefined;
        msg.status = 'sent';
        if (msg.statusCallback) await post(msg, 'sent');
        msg.status = final;
        const callbackStatus = msg.statusCallback ? await post(msg, final, code) : 0;
        out.push({ sid: msg.sid, status: final, callbackStatus });
      }
      return out;
    },
    failNext(n, status = 500) {
      failing = n;
      failStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
