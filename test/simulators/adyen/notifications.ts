/**
 * Standard webhooks of the Adyen simulator: items signed with Adyen's HMAC scheme (written here from the
 * documentation, independently of the SDK's validator the provider uses), one item per delivery, delivered in order
 * to a configured URL with optional Basic auth, retried on anything but 2xx, and on request duplicated or held back
 * and released out of order.
 */
import { createHmac } from 'node:crypto';

export interface NotificationAmount {
  value: number;
  currency: string;
}

/** A NotificationRequestItem as Adyen sends it (Webhooks v1). */
export interface NotificationItem {
  additionalData: Record<string, string>;
  amount: NotificationAmount;
  eventCode: string;
  eventDate: string;
  merchantAccountCode: string;
  merchantReference: string;
  originalReference?: string;
  paymentMethod?: string;
  pspReference: string;
  reason?: string;
  success: 'true' | 'false';
}

/** `pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success`. */
export function signedData(item: Omit<NotificationItem, 'additionalData'>): string {
  return [
    item.pspReference,
    item.originalReference ?? '',
    item.merchantAccountCode,
    item.merchantReference,
    String(item.amount.value),
    item.amount.currency,
    item.eventCode,
    item.success,
  ].join(':');
}

/** base64(HMAC-SHA256(key = hex-decoded HMAC key, message = the signed data)). */
export function hmacSignature(item: Omit<NotificationItem, 'additionalData'>, hmacKeyHex: string): string {
  return createHmac('sha256', Buffer.from(hmacKeyHex, 'hex')).update(signedData(item), 'utf8').digest('base64');
}

/** The item with `additionalData.hmacSignature` set (any earlier signature replaced). */
export function sign(item: NotificationItem, hmacKeyHex: string): NotificationItem {
  const { hmacSignature: _old, ...rest } = item.additionalData;
  return { ...item, additionalData: { ...rest, hmacSignature: hmacSignature(item, hmacKeyHex) } };
}

/** Adyen's date format with an offset, e.g. `2026-03-01T10:15:30+00:00`. */
export function eventDate(d = new Date()): string {
  return `${d.toISOString().slice(0, 19)}+00:00`;
}

export interface DeliveryOptions {
  url?: string;
  basicAuth?: { username: string; password: string };
  /** Attempts per delivery before it is given up. @defaultValue 8 */
  attempts?: number;
  /** Pause before retry n is n × this. @defaultValue 20 */
  retryDelayMs?: number;
  /** `live` of every body. @defaultValue 'false' */
  live?: 'true' | 'false';
}

/** One delivery attempt's outcome, for tests of the retries. */
export interface DeliveryAttempt {
  pspReference: string;
  eventCode: string;
  status: number | string;
}

export class NotificationQueue {
  /** Bodies delivered (answered 2xx), in order; a duplicated delivery shows twice. */
  readonly sent: string[] = [];
  readonly attempts: DeliveryAttempt[] = [];
  private readonly queue: string[] = [];
  private held: string[] | undefined;
  private duplicates = 0;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly waiters: (() => void)[] = [];

  constructor(private opts: DeliveryOptions) {}

  configure(opts: Partial<DeliveryOptions>): void {
    this.opts = { ...this.opts, ...opts };
  }

  /** Queues one signed item as its own delivery. */
  push(item: NotificationItem): void {
    const body = JSON.stringify({
      live: this.opts.live ?? 'false',
      notificationItems: [{ NotificationRequestItem: item }],
    });
    const copies = this.duplicates > 0 ? 2 : 1;
    if (this.duplicates > 0) this.duplicates--;
    for (let i = 0; i < copies; i++) {
      if (this.held) this.held.push(body);
      else this.queue.push(body);
    }
    this.pump();
  }

  /** The next `n` deliveries are sent twice (Adyen delivers at least once). */
  duplicateNext(n: number): void {
    this.duplicates = n;
  }

  /** Keeps deliveries back until {@link release}. */
  hold(): void {
    this.held ??= [];
  }

  /** Sends what was held, newest first when `reverse` (out of order). */
  release(opts: { reverse?: boolean } = {}): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.queue.push(...(opts.reverse ? held.reverse() : held));
    this.pump();
  }

  /** Resolves when nothing is queued or being delivered. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = (async () => {
      while (this.queue.length > 0 && !this.closed) {
        const body = this.queue.shift()!;
        await this.deliver(body);
      }
      this.running = undefined;
      for (const w of this.waiters.splice(0)) w();
    })();
  }

  private async deliver(body: string): Promise<void> {
    const url = this.opts.url;
    if (!url) return;
    const item = (JSON.parse(body) as { notificationItems: { NotificationRequestItem: NotificationItem }[] })
      .notificationItems[0]!.NotificationRequestItem;
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': 'Adyen HttpClient 1.0',
    };
    if (this.opts.basicAuth) {
      const { username, password } = this.opts.basicAuth;
      headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    const attempts = this.opts.attempts ?? 8;
    for (let n = 1; n <= attempts && !this.closed; n++) {
      let status: number | string;
      try {
        const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
        status = res.status;
        await res.arrayBuffer();
      } catch (err) {
        status = (err as { code?: string }).code ?? 'error';
      }
      this.attempts.push({ pspReference: item.pspReference, eventCode: item.eventCode, status });
      if (typeof status === 'number' && status >= 200 && status < 300) {
        this.sent.push(body);
        return;
      }
      await new Promise((r) => setTimeout(r, (this.opts.retryDelayMs ?? 20) * n));
    }
  }
}
