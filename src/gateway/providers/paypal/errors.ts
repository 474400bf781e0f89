/**
 * Error tables of the PayPal provider: PayPal's issue names and statuses mapped to unified decline codes, HTTP
 * statuses and socket codes mapped to our error tiers (DESIGN §3). Data, not logic: add a row when PayPal shows a new
 * issue. Messages carry PayPal's error name, issue, field and `debug_id` (what PayPal support asks for), never a
 * request header, a token or the client secret.
 */
import { ConnectorError, IntegrationError } from '../../../domain/errors';
import type { Decline, DeclineCode } from '../types';

/**
 * `details[].issue` values of a 422 that mean the payer's means was refused: a decline result, not an exception.
 * Issue names from PayPal's Orders v2 / Payments v2 error catalogues.
 */
export const DECLINE_ISSUES: Readonly<Record<string, DeclineCode>> = {
  INSTRUMENT_DECLINED: 'card_declined',
  TRANSACTION_REFUSED: 'card_declined',
  PAYER_CANNOT_PAY: 'card_declined',
  REDIRECT_PAYER_FOR_ALTERNATE_FUNDING: 'card_declined',
  DECLINED_DUE_TO_RELATED_TXN: 'card_declined',
  PAYMENT_SOURCE_DECLINED_BY_PROCESSOR: 'card_declined',
  PAYMENT_SOURCE_CANNOT_BE_USED: 'card_declined',
  AUTHORIZATION_DENIED: 'card_declined',
  CARD_EXPIRED: 'expired_card',
  REFERENCED_CARD_EXPIRED: 'expired_card',
  PAYMENT_SOURCE_INFO_CANNOT_BE_VERIFIED: 'incorrect_cvc',
  PAYER_ACCOUNT_LOCKED_OR_CLOSED: 'invalid_account',
  PAYER_ACCOUNT_RESTRICTED: 'invalid_account',
  TRANSACTION_LIMIT_EXCEEDED: 'limit_exceeded',
  TRANSACTION_RECEIVING_LIMIT_EXCEEDED: 'limit_exceeded',
  MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED: 'limit_exceeded',
  PAYEE_BLOCKED_TRANSACTION: 'fraud_suspected',
  TRANSACTION_BLOCKED_BY_PAYEE: 'fraud_suspected',
  COMPLIANCE_VIOLATION: 'fraud_suspected',
  CARD_BRAND_NOT_SUPPORTED: 'not_supported',
  DOMESTIC_TRANSACTION_REQUIRED: 'not_supported',
  CURRENCY_NOT_SUPPORTED_FOR_BANK: 'not_supported',
  ORDER_NOT_APPROVED: 'canceled_by_shopper',
  AUTHORIZATION_EXPIRED: 'other',
};

/**
 * Issues of a capture or authorize call after which the order itself tells the outcome (a retry found it done, or the
 * payer must go back to PayPal): the provider reads the order instead of failing.
 */
export const SETTLED_BY_ORDER_ISSUES: ReadonlySet<string> = new Set([
  'ORDER_ALREADY_CAPTURED',
  'ORDER_ALREADY_AUTHORIZED',
  'ORDER_COMPLETION_IN_PROGRESS',
  'PAYER_ACTION_REQUIRED',
  'AUTHORIZATION_ALREADY_CAPTURED',
  'PREVIOUSLY_VOIDED',
]);

/** Capture and authorization statuses that are a refusal, with their unified code. */
export const STATUS_DECLINES = {
  capture: { DECLINED: 'card_declined', FAILED: 'processing_error' },
  authorization: { DENIED: 'card_declined' },
} as const satisfies Record<string, Record<string, DeclineCode>>;

type Tier = 'integration' | 'connector';

/** HTTP statuses of PayPal's REST API. Unlisted 4xx are `integration`, unlisted 5xx `connector`. */
export const HTTP_STATUS: Readonly<Record<number, { tier: Tier; meaning: string; indeterminate: boolean }>> = {
  400: { tier: 'integration', meaning: 'PayPal rejected the request', indeterminate: false },
  401: { tier: 'integration', meaning: 'authentication failed', indeterminate: false },
  403: { tier: 'integration', meaning: 'the REST app is not permitted to do this', indeterminate: false },
  404: { tier: 'integration', meaning: 'PayPal does not know this resource', indeterminate: false },
  409: { tier: 'connector', meaning: 'a previous request with this id is still in progress', indeterminate: true },
  415: { tier: 'integration', meaning: 'unsupported media type', indeterminate: false },
  422: { tier: 'integration', meaning: 'PayPal refused the request', indeterminate: false },
  429: { tier: 'connector', meaning: 'rate limited', indeterminate: false },
  500: { tier: 'connector', meaning: 'internal server error', indeterminate: true },
  502: { tier: 'connector', meaning: 'bad gateway', indeterminate: true },
  503: { tier: 'connector', meaning: 'service unavailable', indeterminate: true },
  504: { tier: 'connector', meaning: 'gateway timeout', indeterminate: true },
};

/**
 * Socket and client codes. `indeterminate: false` only where the request certainly never reached PayPal.
 */
export const NETWORK_CODES: Readonly<Record<string, { meaning: string; indeterminate: boolean }>> = {
  ECONNABORTED: { meaning: 'timed out waiting for PayPal', indeterminate: true },
  ETIMEDOUT: { meaning: 'timed out waiting for PayPal', indeterminate: true },
  ECONNRESET: { meaning: 'connection reset', indeterminate: true },
  EPIPE: { meaning: 'connection closed while sending', indeterminate: true },
  ERR_BAD_RESPONSE: { meaning: 'unreadable response', indeterminate: true },
  ECONNREFUSED: { meaning: 'connection refused', indeterminate: false },
  ENOTFOUND: { meaning: 'host not found', indeterminate: false },
  EAI_AGAIN: { meaning: 'DNS lookup failed for now', indeterminate: false },
  EHOSTUNREACH: { meaning: 'host unreachable', indeterminate: false },
  ENETUNREACH: { meaning: 'network unreachable', indeterminate: false },
  ERR_SOCKET_CONNECTION_TIMEOUT: { meaning: 'connect timeout', indeterminate: false },
};

/** PayPal's error body (`{name, message, debug_id, details[]}`), or the OAuth one (`{error, error_description}`). */
export interface PayPalErrorBody {
  name?: string;
  message?: string;
  debug_id?: string;
  details?: { field?: string; value?: string; location?: string; issue: string; description?: string }[];
  error?: string;
  error_description?: string;
}

/** What went wrong, independent of the SDK and HTTP client. */
export interface PayPalFailure {
  status?: number;
  body?: PayPalErrorBody;
  /** Socket or client code (ECONNRESET …), or `PARSE` / `REQUEST_INVALID` for the SDK's schema checks. */
  code?: string;
  /** Only for failures that are neither HTTP nor socket errors (a bug); scrubbed. */
  message?: string;
  /** The failure came from the OAuth token endpoint. */
  token?: boolean;
}

function parseBody(body: unknown): PayPalErrorBody | undefined {
  let b = body;
  if (typeof b === 'string') {
    try {
      b = JSON.parse(b);
    } catch {
      return undefined;
    }
  }
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as PayPalErrorBody) : undefined;
}

const SECRETISH = /\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/g;

/**
 * Reads a thrown value of the SDK (`ApiError` subclasses with `statusCode` and `body`), axios (`code`) or the SDK's
 * schema validation into a {@link PayPalFailure}. It copies status, PayPal's error fields and the socket code only:
 * the SDK's error objects also hold the request with its Authorization header, which must not travel on.
 */
export function failureOf(err: unknown): PayPalFailure {
  if (!err || typeof err !== 'object') return { message: String(err).replace(SECRETISH, '$1 [REDACTED]') };
  const e = err as { statusCode?: unknown; body?: unknown; code?: unknown; name?: unknown; message?: unknown };
  if (typeof e.statusCode === 'number') return { status: e.statusCode, body: parseBody(e.body) };
  if (typeof e.code === 'string' && /^E[A-Z_]+$|^ERR_/.test(e.code)) return { code: e.code };
  if (e.name === 'ResponseValidationError') return { code: 'PARSE' };
  if (e.name === 'ArgumentsValidationError') return { code: 'REQUEST_INVALID' };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.message === 'string' ? e.message : '';
  return { message: `${name}: ${message}`.replace(SECRETISH, '$1 [REDACTED]') };
}

/** The first `details[].issue` of PayPal's error body. */
export function issueOf(f: PayPalFailure): string | undefined {
  return f.body?.details?.[0]?.issue ?? undefined;
}

/** A refusal of the payer's means (422 with an issue from {@link DECLINE_ISSUES}), as a decline result. */
export function declineOf(f: PayPalFailure): Decline | undefined {
  if (f.status !== 422) return undefined;
  const issue = issueOf(f);
  const code = issue ? DECLINE_ISSUES[issue] : undefined;
  if (!issue || !code) return undefined;
  return { code, providerCode: issue, message: f.body?.details?.[0]?.description ?? f.body?.message ?? issue };
}

/** A decline for a capture or authorization whose status is a refusal, or undefined. */
export function statusDecline(
  kind: keyof typeof STATUS_DECLINES,
  status: string,
  reason?: string,
): Decline | undefined {
  const table: Readonly<Record<string, DeclineCode>> = STATUS_DECLINES[kind];
  const code = table[status];
  if (!code) return undefined;
  return {
    code,
    providerCode: reason ? `${status}:${reason}` : status,
    message: `PayPal ${kind} ${status.toLowerCase()}${reason ? ` (${reason})` : ''}`,
  };
}

/** `/purchase_units/@reference_id=='default'/amount/value` → `purchase_units.@reference_id=='default'.amount.value`. */
export function fieldPath(pointer: string | undefined): string | undefined {
  if (!pointer) return undefined;
  const p = pointer.replace(/^\/+/, '').replace(/\//g, '.');
  return p || undefined;
}

export interface ErrorContext {
  /** The call, e.g. `capture order 5O190127TN364715T`. */
  what: string;
  /** The call may have moved money or changed state: an unknown outcome is then indeterminate. */
  mutating: boolean;
  environment: 'sandbox' | 'production';
}

/**
 * Wraps a failure in the right tier (a decline is not a failure: check {@link declineOf} first).
 * - the token endpoint's 401/400 (`invalid_client`) → IntegrationError naming `clientId`/`clientSecret`;
 * - 400/422 → IntegrationError naming the field PayPal gives in `details[].field`;
 * - 5xx, 409, timeouts and resets → ConnectorError, indeterminate when the call was mutating;
 * - 429, refused connections → ConnectorError, not indeterminate (the request never ran).
 */
export function toPayPalError(f: PayPalFailure, c: ErrorContext): Error {
  // A failed token request means the call itself never reached PayPal.
  const ctx = f.token ? { ...c, mutating: false, what: `${c.what} (token request)` } : c;
  const body = f.body;
  if (f.token && f.status !== undefined && f.status < 500) {
    return new IntegrationError(
      `PayPal's token endpoint rejected the client id or secret for the ${ctx.environment} environment (${body?.error ?? `HTTP ${f.status}`}); check clientId and clientSecret — sandbox and live apps have different credentials`,
      'clientId',
      { status: f.status, error: body?.error },
    );
  }
  if (f.status !== undefined) {
    const row = HTTP_STATUS[f.status];
    const tier: Tier = row?.tier ?? (f.status >= 500 ? 'connector' : 'integration');
    const detail = body?.details?.[0];
    const parts = [
      `${ctx.what}: HTTP ${f.status}`,
      body?.name ?? row?.meaning,
      detail?.issue,
      detail?.description ?? (detail ? undefined : body?.message),
    ].filter((p): p is string => Boolean(p));
    const debug = body?.debug_id ? ` (debug_id ${body.debug_id})` : '';
    const text = `${parts.join(', ')}${debug}`;
    if (tier === 'integration') {
      const field =
        f.status === 401
          ? 'clientId'
          : f.status === 404
            ? (fieldPath(detail?.field) ?? 'providerReference')
            : fieldPath(detail?.field);
      const hint = f.status === 401 ? '; the access token was refused, check clientId and clientSecret' : '';
      return new IntegrationError(`${text}${hint}`, field, {
        status: f.status,
        name: body?.name,
        issue: detail?.issue,
        debugId: body?.debug_id,
      });
    }
    return new ConnectorError(text, {
      code: `HTTP_${f.status}`,
      indeterminate: ctx.mutating && (row?.indeterminate ?? true),
    });
  }
  if (f.code === 'REQUEST_INVALID') {
    return new IntegrationError(`${ctx.what}: the request does not match the PayPal SDK's schema`, 'request');
  }
  if (f.code === 'PARSE') {
    return new ConnectorError(`${ctx.what}: PayPal's answer does not match the SDK's schema`, {
      code: 'PARSE',
      indeterminate: ctx.mutating,
    });
  }
  if (f.code) {
    const row = NETWORK_CODES[f.code];
    return new ConnectorError(`${ctx.what}: ${row?.meaning ?? 'transport error'} (${f.code})`, {
      code: f.code,
      indeterminate: ctx.mutating && (row?.indeterminate ?? true),
    });
  }
  return new ConnectorError(`${ctx.what}: ${f.message ?? 'unexpected error'}`, {
    code: 'UNKNOWN',
    indeterminate: ctx.mutating,
  });
}
