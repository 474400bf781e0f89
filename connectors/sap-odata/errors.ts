/**
 * Error tables of the sap-odata connector: HTTP statuses and socket codes mapped to our tiers (DESIGN §3), plus SAP's
 * error body. Data, not logic: add a row when a new status or code shows up.
 */
import { ConnectorError, IntegrationError } from '../../src/domain/errors';

type Tier = 'integration' | 'connector';

/**
 * HTTP statuses of SAP Gateway. `integration`: our configuration, credentials or request are wrong, a retry cannot
 * help. `connector`: the system is busy or down; retried (reads) or indeterminate (writes). Unlisted 4xx are
 * `integration`, unlisted 5xx `connector`.
 */
export const HTTP_STATUS: Readonly<Record<number, { tier: Tier; meaning: string }>> = {
  400: { tier: 'integration', meaning: 'SAP rejected the request' },
  401: { tier: 'integration', meaning: 'authentication failed' },
  403: { tier: 'integration', meaning: 'not authorized' },
  404: { tier: 'integration', meaning: 'not found (service not activated, wrong path or sap-client?)' },
  405: { tier: 'integration', meaning: 'method not allowed on this entity set (read-only)' },
  406: { tier: 'integration', meaning: 'format not acceptable' },
  408: { tier: 'connector', meaning: 'request timeout' },
  409: { tier: 'connector', meaning: 'conflict (record locked by another user?)' },
  412: { tier: 'integration', meaning: 'precondition failed (ETag)' },
  423: { tier: 'connector', meaning: 'locked' },
  429: { tier: 'connector', meaning: 'too many requests' },
  500: { tier: 'connector', meaning: 'internal server error' },
  502: { tier: 'connector', meaning: 'bad gateway' },
  503: { tier: 'connector', meaning: 'service unavailable' },
  504: { tier: 'connector', meaning: 'gateway timeout' },
};

/** Socket and client codes; all transport trouble, so `connector`. */
export const NETWORK_CODES: Readonly<Record<string, string>> = {
  ECONNRESET: 'connection reset',
  ECONNREFUSED: 'connection refused',
  ECONNABORTED: 'request aborted (timeout)',
  ETIMEDOUT: 'timed out',
  EPIPE: 'connection closed while sending',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed for now',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ERR_SOCKET_CONNECTION_TIMEOUT: 'connect timeout',
  ERR_BAD_RESPONSE: 'unreadable response',
};

/** What went wrong on the wire, independent of the HTTP client. */
export interface HttpFailure {
  status?: number;
  /** Socket / client error code (ECONNRESET …). */
  code?: string;
  body?: unknown;
  message?: string;
}

/** Which credential a 401 points at. */
export type CredentialKind = 'basic' | 'oauth2' | 'oauth2-token';

/** The message of SAP's V2 error body `{"error":{"code","message":{"value"}}}`, or undefined. */
export function sapErrorMessage(body: unknown): string | undefined {
  let b = body;
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body);
    } catch {
      const m = /<message[^>]*>([^<]*)<\/message>/.exec(body);
      return m?.[1] || undefined;
    }
  }
  if (!b || typeof b !== 'object' || !('error' in b)) return undefined;
  const e = (b as { error: unknown }).error;
  if (!e || typeof e !== 'object') return undefined;
  const code = 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  const msg = 'message' in e ? e.message : undefined;
  const text =
    typeof msg === 'string'
      ? msg
      : msg && typeof msg === 'object' && 'value' in msg && typeof msg.value === 'string'
        ? msg.value
        : undefined;
  if (!text) return code;
  return code ? `${text} (${code})` : text;
}

const CREDENTIAL_HINT: Record<CredentialKind, { field: string; text: string }> = {
  basic: { field: 'auth.user', text: 'SAP rejected the user or password (check auth.user and auth.password)' },
  'oauth2-token': {
    field: 'auth.clientId',
    text: 'the token endpoint rejected the client id or secret (check auth.clientId and auth.clientSecret)',
  },
  oauth2: {
    field: 'auth.clientId',
    text: 'SAP rejected the OAuth token although the token endpoint issued it (check the communication arrangement and auth.scope)',
  },
};

/**
 * Wraps a failed call in the right tier.
 * @param what - the call, for the message, e.g. `GET A_OperationalAcctgDocItemCube`.
 * @param credential - which credential a 401 blames.
 * @param indeterminate - the call may have taken effect (writes).
 */
export function toSapError(f: HttpFailure, what: string, credential: CredentialKind, indeterminate = false): Error {
  const sap = sapErrorMessage(f.body);
  if (f.status !== undefined) {
    const row = HTTP_STATUS[f.status];
    const tier: Tier = row?.tier ?? (f.status >= 500 ? 'connector' : 'integration');
    if (f.status === 401) {
      const hint = CREDENTIAL_HINT[credential];
      return new IntegrationError(`${what}: HTTP 401, ${hint.text}`, hint.field, { status: 401 });
    }
    if (f.status === 403) {
      return new IntegrationError(
        `${what}: HTTP 403, the user is not authorized for this service or entity set (check its roles / communication arrangement)${sap ? `: ${sap}` : ''}`,
        'auth',
        { status: 403 },
      );
    }
    const text = `${what}: HTTP ${f.status} ${row?.meaning ?? ''}${sap ? `: ${sap}` : ''}`.replace(/ +:/, ':').trim();
    if (tier === 'integration') return new IntegrationError(text, undefined, { status: f.status, sap });
    return new ConnectorError(text, { code: `HTTP_${f.status}`, indeterminate });
  }
  const meaning = f.code ? NETWORK_CODES[f.code] : undefined;
  return new ConnectorError(`${what}: ${meaning ?? f.message ?? 'transport error'}${f.code ? ` (${f.code})` : ''}`, {
    code: f.code ?? 'TRANSPORT',
    indeterminate,
  });
}
