/**
 * Error tables of the SOAP connector: SOAP fault codes, HTTP statuses and socket error codes mapped to our tiers
 * (DESIGN §3). Data, not logic: add a row when a new code shows up.
 */
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { faultCodeParts, faultMatches, faultOf, type SoapFault, textOf } from './transformers';

type Tier = 'integration' | 'connector' | 'auth';

/**
 * SOAP fault codes (1.1 and 1.2, and common WS-Security ones), compared with the code without prefix and its first
 * dotted part (`soap:Client.InvoiceUnknown` → `Client`). Codes not listed are `integration`: a business rejection that
 * a retry will not change; list codes that mean "try later" in the `faults.retryable` option.
 */
export const FAULT_CODES: Readonly<Record<string, Tier>> = {
  Client: 'integration', // SOAP 1.1: the request is wrong
  Sender: 'integration', // SOAP 1.2
  VersionMismatch: 'integration',
  MustUnderstand: 'integration',
  DataEncodingUnknown: 'integration',
  Server: 'connector', // SOAP 1.1: the server failed, the request may succeed later
  Receiver: 'connector', // SOAP 1.2
  FailedAuthentication: 'auth', // WS-Security
  InvalidSecurity: 'auth',
  InvalidSecurityToken: 'auth',
  FailedCheck: 'auth',
};

/** HTTP statuses without a SOAP fault in the body. Other 4xx are `integration`, other 5xx `connector`. */
export const HTTP_STATUSES: Readonly<Record<number, { tier: Tier; meaning: string }>> = {
  401: { tier: 'auth', meaning: 'authentication required or rejected' },
  403: { tier: 'auth', meaning: 'forbidden for these credentials' },
  404: { tier: 'integration', meaning: 'no service at this endpoint (check endpoint)' },
  405: { tier: 'integration', meaning: 'method not allowed (is this the SOAP endpoint?)' },
  408: { tier: 'connector', meaning: 'request timeout' },
  415: { tier: 'integration', meaning: 'unsupported media type (SOAP 1.1 vs 1.2? see soap12)' },
  429: { tier: 'connector', meaning: 'too many requests' },
  500: { tier: 'connector', meaning: 'internal server error' },
  502: { tier: 'connector', meaning: 'bad gateway' },
  503: { tier: 'connector', meaning: 'service unavailable' },
  504: { tier: 'connector', meaning: 'gateway timeout' },
};

/**
 * Socket and DNS codes. `sent: false`: the request never reached the server, so even a write certainly did not
 * happen. Codes not listed are treated as `sent: true` (a write's outcome is unknown).
 */
export const NETWORK_CODES: Readonly<Record<string, { sent: boolean; meaning: string }>> = {
  ECONNREFUSED: { sent: false, meaning: 'connection refused' },
  ENOTFOUND: { sent: false, meaning: 'host not found' },
  EAI_AGAIN: { sent: false, meaning: 'DNS lookup failed for now' },
  EHOSTUNREACH: { sent: false, meaning: 'host unreachable' },
  ENETUNREACH: { sent: false, meaning: 'network unreachable' },
  ECONNRESET: { sent: true, meaning: 'connection reset' },
  ECONNABORTED: { sent: true, meaning: 'connection aborted (timeout)' },
  ETIMEDOUT: { sent: true, meaning: 'timed out' },
  EPIPE: { sent: true, meaning: 'broken pipe' },
  ERR_CANCELED: { sent: true, meaning: 'cancelled (timeout or abort)' },
  ERR_BAD_RESPONSE: { sent: true, meaning: 'unreadable response' },
};

/** What the error wrapper needs to know about the call. */
export interface CallContext {
  operation: string;
  /** A mutating call: a transport failure leaves its outcome unknown (indeterminate). */
  write: boolean;
  /** For auth failures: which credential to name, e.g. `auth.basic (user "clearhub", password from TELCO_PW)`. */
  credential: string;
  /** Fault codes configured as retryable. */
  retryable: readonly string[];
}

function faultTier(f: SoapFault, retryable: readonly string[]): Tier {
  if (faultMatches(f.code, retryable)) return 'connector';
  const tiers = faultCodeParts(f.code).map((p) => FAULT_CODES[p]);
  if (tiers.includes('auth')) return 'auth';
  return tiers.find((t) => t !== undefined) ?? 'integration';
}

function authError(ctx: CallContext, what: string, details: Record<string, unknown>): IntegrationError {
  return new IntegrationError(
    `${ctx.operation}: the server rejected the credentials (${what}); check ${ctx.credential}`,
    'auth',
    details,
  );
}

/** Wraps anything the `soap` client threw in our tiers (an IntegrationError or ConnectorError passes through). */
export function toSoapError(err: unknown, ctx: CallContext): Error {
  if (err instanceof IntegrationError || err instanceof ConnectorError) return err;
  const fault = faultOf(err);
  const status = getStatus(err);
  if (fault) {
    const tier = faultTier(fault, ctx.retryable);
    const what = `SOAP fault ${fault.code}: ${fault.message}`;
    const details = { code: fault.code, detail: fault.detail, status };
    if (tier === 'auth') return authError(ctx, what, details);
    if (tier === 'integration') return new IntegrationError(`${ctx.operation}: ${what}`, ctx.operation, details);
    return new ConnectorError(`${ctx.operation}: ${what}`, { code: fault.code, indeterminate: ctx.write, cause: err });
  }
  if (status !== undefined && status >= 400) {
    const known = HTTP_STATUSES[status];
    const tier = known?.tier ?? (status >= 500 ? 'connector' : 'integration');
    const what = `HTTP ${status}${known ? ` ${known.meaning}` : ''}`;
    if (tier === 'auth') return authError(ctx, what, { status });
    if (tier === 'integration') return new IntegrationError(`${ctx.operation}: ${what}`, ctx.operation, { status });
    return new ConnectorError(`${ctx.operation}: ${what}`, {
      code: `HTTP_${status}`,
      indeterminate: ctx.write,
      cause: err,
    });
  }
  const code = getCode(err);
  const net = code ? NETWORK_CODES[code] : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (net) {
    return new ConnectorError(`${ctx.operation}: ${net.meaning} (${code})`, {
      code,
      indeterminate: ctx.write && net.sent,
      cause: err,
    });
  }
  // A response that is no SOAP envelope (an HTML error page with status 200, a truncated body): the server may have
  // acted on a write.
  return new ConnectorError(`${ctx.operation}: ${message}`, {
    code: code ?? 'SOAP_ERROR',
    indeterminate: ctx.write,
    cause: err,
  });
}

function getStatus(err: unknown): number | undefined {
  const s = (err as { response?: { status?: unknown } } | null)?.response?.status;
  return typeof s === 'number' ? s : undefined;
}

function getCode(err: unknown): string | undefined {
  const c = textOf((err as { code?: unknown } | null)?.code);
  if (c) return c;
  const msg = err instanceof Error ? err.message : '';
  if (/socket hang up/i.test(msg)) return 'ECONNRESET';
  return undefined;
}
