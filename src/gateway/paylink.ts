/**
 * Pay links: a signed, expiring token in a URL a notice carries (`/pay/{token}`), naming the tenant, the debtor and
 * the notice. Nothing about the debtor's items is in the token; the page reads them when it is opened, so the link
 * always shows what is open now. Signed with HMAC-SHA256 under the tenant's `gateway.payLinkSecret`; the tenant id is
 * readable (it says which secret to check with), everything is covered by the signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { IntegrationError } from '../domain/errors';

export interface PayLinkClaims {
  tenantId: string;
  debtorId: string;
  noticeId?: string;
  /** Language the page opens in (`de`, `en`); the payer can switch. */
  lang?: string;
  /** Unix seconds. */
  expiresAt: number;
}

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export function signPayLink(claims: PayLinkClaims, secret: string): string {
  if (secret.length < 32) throw new IntegrationError('must be at least 32 characters', 'gateway.payLinkSecret');
  const body = b64(
    JSON.stringify({
      t: claims.tenantId,
      d: claims.debtorId,
      ...(claims.noticeId ? { n: claims.noticeId } : {}),
      ...(claims.lang ? { l: claims.lang } : {}),
      x: claims.expiresAt,
    }),
  );
  return `${body}.${b64(createHmac('sha256', secret).update(body).digest())}`;
}

/** The tenant a token claims, before its signature is checked (to pick the secret). */
export function tenantOfPayLink(token: string): string | undefined {
  try {
    const t = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { t?: unknown };
    return typeof t.t === 'string' ? t.t : undefined;
  } catch {
    return undefined;
  }
}

export type PayLinkCheck = { ok: true; claims: PayLinkClaims } | { ok: false; reason: 'invalid' | 'expired' };

export function verifyPayLink(token: string, secret: string, now = Date.now()): PayLinkCheck {
  const [body, sig, extra] = token.split('.');
  if (!body || !sig || extra !== undefined) return { ok: false, reason: 'invalid' };
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
  let raw: { t: string; d: string; n?: string; l?: string; x: number };
  try {
    raw = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'invalid' };
  }
  if (raw.x * 1000 < now) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    claims: {
      tenantId: raw.t,
      debtorId: raw.d,
      ...(raw.n ? { noticeId: raw.n } : {}),
      ...(raw.l ? { lang: raw.l } : {}),
      expiresAt: raw.x,
    },
  };
}

/** The pay link for a notice: `<publicUrl>/pay/<token>`, valid for `ttlDays` from `from`. */
export function payLinkUrl(
  o: { publicUrl: string; secret: string; ttlDays: number },
  claims: Omit<PayLinkClaims, 'expiresAt'>,
  from = new Date(),
): string {
  const expiresAt = Math.floor(from.getTime() / 1000) + o.ttlDays * 86_400;
  return `${o.publicUrl.replace(/\/$/, '')}/pay/${signPayLink({ ...claims, expiresAt }, o.secret)}`;
}
