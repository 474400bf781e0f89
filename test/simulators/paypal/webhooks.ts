/**
 * Webhook delivery of the PayPal simulator, the way PayPal does it: the event JSON is POSTed with
 * `PAYPAL-TRANSMISSION-ID`, `-TIME`, `-SIG`, `PAYPAL-CERT-URL` and `PAYPAL-AUTH-ALGO: SHA256withRSA`, the signature
 * being RSA-SHA256 (PKCS#1 v1.5) over `transmissionId|transmissionTime|webhookId|crc32(body)` (CRC32 as an unsigned
 * decimal). A delivery answered with anything but 2xx is retried with a new transmission (id, time, signature).
 * Test controls: deliver each event twice, or hold events and release them in reverse order.
 */
import { randomUUID, sign } from 'node:crypto';
import { request } from 'node:http';
import { crc32 } from 'node:zlib';
import { signingIdentity } from './certificate';

export interface SignOptions {
  /** RFC 3339 time to put in `PAYPAL-TRANSMISSION-TIME`. @defaultValue now */
  transmissionTime?: string;
  transmissionId?: string;
  /** Sign with another identity (forgeries). @defaultValue 'simulator' */
  identity?: string;
  /** The certificate URL to name. @defaultValue the simulator's own */
  certUrl?: string;
  /** Webhook id in the signed message. @defaultValue the simulator's */
  webhookId?: string;
}

/** One POST the simulator made, with how the receiver answered (status 0: not reachable). */
export interface DeliveryAttempt {
  eventId: string;
  eventType: string;
  attempt: number;
  status: number;
}

export interface RetryOptions {
  /** Tries per event in all (PayPal: 25 over three days). @defaultValue 6 */
  attempts?: number;
  /** Wait before the first retry, doubled each time up to a second. @defaultValue 50 */
  delayMs?: number;
}

export function signedMessage(id: string, time: string, webhookId: string, body: Buffer): string {
  return `${id}|${time}|${webhookId}|${crc32(body) >>> 0}`;
}

/** PayPal's transmission time format: seconds, `Z`. */
export function transmissionTimeNow(at = Date.now()): string {
  return `${new Date(at).toISOString().slice(0, 19)}Z`;
}

export class WebhookDispatcher {
  url: string | undefined;
  duplicate = false;
  hold = false;
  readonly attempts: DeliveryAttempt[] = [];
  private readonly held: { id: string; type: string; body: Buffer }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly certUrl: () => string,
    readonly webhookId: string,
    private readonly retry: Required<RetryOptions>,
  ) {}

  /** The PAYPAL-* headers for `body`. */
  sign(body: Buffer, o: SignOptions = {}): Record<string, string> {
    const transmissionId = o.transmissionId ?? randomUUID();
    const transmissionTime = o.transmissionTime ?? transmissionTimeNow();
    const identity = signingIdentity(o.identity ?? 'simulator');
    const msg = signedMessage(transmissionId, transmissionTime, o.webhookId ?? this.webhookId, body);
    return {
      'paypal-transmission-id': transmissionId,
      'paypal-transmission-time': transmissionTime,
      'paypal-transmission-sig': sign('sha256', Buffer.from(msg, 'utf8'), identity.privateKey).toString('base64'),
      'paypal-cert-url': o.certUrl ?? this.certUrl(),
      'paypal-auth-algo': 'SHA256withRSA',
    };
  }

  send(id: string, type: string, body: Buffer): void {
    if (this.hold) {
      this.held.push({ id, type, body });
      return;
    }
    const copies = this.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) this.enqueue(id, type, body);
  }

  /** Sends the held events, newest first when `reverse`. */
  flush(reverse = true): void {
    const events = this.held.splice(0);
    this.hold = false;
    for (const e of reverse ? events.reverse() : events) this.send(e.id, e.type, e.body);
  }

  private enqueue(id: string, type: string, body: Buffer): void {
    this.chain = this.chain.then(() => this.attempt(id, type, body, 1));
  }

  private async attempt(id: string, type: string, body: Buffer, n: number): Promise<void> {
    if (this.closed || !this.url) return;
    const status = await this.post(this.url, body);
    this.attempts.push({ eventId: id, eventType: type, attempt: n, status });
    if (status >= 200 && status < 300) return;
    if (n >= this.retry.attempts || this.closed) return;
    const wait = Math.min(this.retry.delayMs * 2 ** (n - 1), 1000);
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.attempt(id, type, body, n + 1);
    }, wait);
    this.timers.add(t);
  }

  private post(url: string, body: Buffer): Promise<number> {
    const headers = { ...this.sign(body), 'content-type': 'application/json', 'user-agent': 'PayPal/AUHD-sim' };
    return new Promise((resolve) => {
      const req = request(url, { method: 'POST', headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      });
      req.on('error', () => resolve(0));
      req.setTimeout(5000, () => req.destroy());
      req.end(body);
    });
  }

  /** Resolves when every first attempt queued so far has been made. */
  idle(): Promise<void> {
    return this.chain;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
