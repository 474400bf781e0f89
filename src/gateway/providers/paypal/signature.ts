/**
 * PayPal webhook self-verification (no shared secret): PayPal signs
 * `transmissionId|transmissionTime|webhookId|crc32(rawBody)` — the CRC32 of the raw body as an unsigned decimal —
 * with RSA-SHA256 (PKCS#1 v1.5) and names the certificate in `PAYPAL-CERT-URL`. The certificate is fetched only over
 * https (http only with the explicit test option), only from an allow-listed host, without following redirects, and
 * cached until it expires. The order of checks decides the reason: certificate host, then transmission time, then the
 * signature.
 */
import { verify, X509Certificate } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ConnectorError } from '../../../domain/errors';
import { type RawWebhook, WebhookRejected } from '../types';

export const AUTH_ALGO = 'SHA256withRSA';
const MAX_CERT_BYTES = 64 * 1024;
const MAX_CACHED = 16;

/** The string PayPal signs. */
export function signedMessage(
  transmissionId: string,
  transmissionTime: string,
  webhookId: string,
  body: Buffer,
): string {
  return `${transmissionId}|${transmissionTime}|${webhookId}|${crc32(body) >>> 0}`;
}

export interface VerifierOptions {
  webhookId: string;
  certHosts: readonly string[];
  allowHttpCertUrlsForTests: boolean;
  toleranceSec: number;
  timeoutMs: number;
  /** Clock, for tests. @defaultValue Date.now */
  now?: () => number;
  /** Fetches a certificate URL; the default uses `fetch` with redirects refused. */
  fetchText?: (url: URL, timeoutMs: number) => Promise<{ status: number; text: string }>;
}

interface CachedCert {
  cert: X509Certificate;
  validTo: number;
}

async function defaultFetch(url: URL, timeoutMs: number): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  const buf = Buffer.from(await res.arrayBuffer());
  if (buf.length > MAX_CERT_BYTES) return { status: 413, text: '' };
  return { status: res.status, text: buf.toString('utf8') };
}

function header(h: Record<string, string>, name: string): string | undefined {
  const v = h[name] ?? Object.entries(h).find(([k]) => k.toLowerCase() === name)?.[1];
  return v?.trim() || undefined;
}

export class WebhookSignatureVerifier {
  private readonly certs = new Map<string, Promise<CachedCert>>();
  private readonly hosts: Set<string>;
  private readonly now: () => number;
  /** How many certificates were downloaded (the rest came from the cache). */
  fetches = 0;

  constructor(private readonly o: VerifierOptions) {
    this.hosts = new Set(o.certHosts.map((h) => h.toLowerCase()));
    this.now = o.now ?? Date.now;
  }

  /** Resolves when the delivery is PayPal's; throws {@link WebhookRejected} otherwise (ConnectorError: retry later). */
  async verify(raw: RawWebhook): Promise<void> {
    const h = raw.headers;
    const transmissionId = header(h, 'paypal-transmission-id');
    const transmissionTime = header(h, 'paypal-transmission-time');
    const signature = header(h, 'paypal-transmission-sig');
    const certUrl = header(h, 'paypal-cert-url');
    const algo = header(h, 'paypal-auth-algo');
    if (!transmissionId || !transmissionTime || !signature || !certUrl) {
      throw new WebhookRejected('PAYPAL-TRANSMISSION-* or PAYPAL-CERT-URL header missing', 'signature');
    }
    if (algo && algo.toLowerCase() !== AUTH_ALGO.toLowerCase()) {
      throw new WebhookRejected(`PAYPAL-AUTH-ALGO ${algo} is not ${AUTH_ALGO}`, 'signature');
    }
    const url = this.allowedCertUrl(certUrl);
    const sent = Date.parse(transmissionTime);
    if (!Number.isFinite(sent)) throw new WebhookRejected('PAYPAL-TRANSMISSION-TIME is not a date', 'timestamp');
    const skew = Math.abs(this.now() - sent);
    if (skew > this.o.toleranceSec * 1000) {
      throw new WebhookRejected(
        `transmission time ${transmissionTime} is more than ${this.o.toleranceSec} s from now`,
        'timestamp',
      );
    }
    const { cert } = await this.certificate(url);
    const message = signedMessage(transmissionId, transmissionTime, this.o.webhookId, raw.body);
    let ok = false;
    try {
      ok = verify('sha256', Buffer.from(message, 'utf8'), cert.publicKey, Buffer.from(signature, 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) throw new WebhookRejected('PAYPAL-TRANSMISSION-SIG does not verify', 'signature');
  }

  private allowedCertUrl(text: string): URL {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new WebhookRejected('PAYPAL-CERT-URL is not a URL', 'certificate');
    }
    const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && this.o.allowHttpCertUrlsForTests);
    if (!schemeOk) throw new WebhookRejected(`certificate URL scheme ${url.protocol} is not https`, 'certificate');
    if (url.username || url.password || !this.hosts.has(url.hostname.toLowerCase())) {
      throw new WebhookRejected(`certificate host ${url.hostname} is not on the allow-list`, 'certificate');
    }
    return url;
  }

  private async certificate(url: URL): Promise<CachedCert> {
    const key = url.toString();
    const hit = this.certs.get(key);
    if (hit) {
      const c = await hit.catch(() => undefined);
      if (c && c.validTo > this.now()) return c;
      this.certs.delete(key);
    }
    const pending = this.download(url);
    this.certs.set(key, pending);
    pending.catch(() => this.certs.delete(key));
    if (this.certs.size > MAX_CACHED) this.certs.delete(this.certs.keys().next().value as string);
    return pending;
  }

  private async download(url: URL): Promise<CachedCert> {
    this.fetches++;
    let res: { status: number; text: string };
    try {
      res = await (this.o.fetchText ?? defaultFetch)(url, this.o.timeoutMs);
    } catch (err) {
      throw new ConnectorError(`could not fetch the webhook certificate from ${url.host}`, {
        code: (err as { name?: string }).name === 'TimeoutError' ? 'ETIMEDOUT' : 'CERT_FETCH',
      });
    }
    if (res.status >= 500 || res.status === 429) {
      throw new ConnectorError(`certificate host ${url.host} answered HTTP ${res.status}`, { code: 'CERT_FETCH' });
    }
    if (res.status !== 200) {
      throw new WebhookRejected(`certificate URL answered HTTP ${res.status}`, 'certificate');
    }
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(res.text);
    } catch {
      throw new WebhookRejected('the certificate URL did not return an X.509 certificate', 'certificate');
    }
    const validFrom = Date.parse(cert.validFrom);
    const validTo = Date.parse(cert.validTo);
    const now = this.now();
    if (!(validFrom <= now && now <= validTo)) {
      throw new WebhookRejected('the signing certificate is expired or not yet valid', 'certificate');
    }
    if (cert.publicKey.asymmetricKeyType !== 'rsa') {
      throw new WebhookRejected('the signing certificate does not hold an RSA key', 'certificate');
    }
    return { cert, validTo };
  }
}
