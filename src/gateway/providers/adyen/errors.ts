/**
 * Error tables of the Adyen provider: refusal reasons mapped to our unified decline codes, and HTTP statuses, Adyen
 * error codes and socket codes mapped to our tiers (DESIGN §3). Data, not logic: add a row when a new code shows up.
 */
import { HttpClientException } from '@adyen/api-library';
import { ConnectorError, IntegrationError } from '../../../domain/errors';
import type { Decline, DeclineCode } from '../types';

/**
 * Adyen's refusal reasons (docs.adyen.com/development-resources/refusal-reasons): `refusalReasonCode`, the
 * `refusalReason` text Adyen sends with it (also the `reason` of a failed AUTHORISATION webhook), and our code.
 */
export const REFUSAL_REASONS: readonly { code: string; reason: string; decline: DeclineCode }[] = [
  { code: '0', reason: 'Unknown', decline: 'processing_error' },
  { code: '2', reason: 'Refused', decline: 'card_declined' },
  { code: '3', reason: 'Referral', decline: 'card_declined' },
  { code: '4', reason: 'Acquirer Error', decline: 'processing_error' },
  { code: '5', reason: 'Blocked Card', decline: 'card_declined' },
  { code: '6', reason: 'Expired Card', decline: 'expired_card' },
  { code: '7', reason: 'Invalid Amount', decline: 'other' },
  { code: '8', reason: 'Invalid Card Number', decline: 'invalid_account' },
  { code: '9', reason: 'Issuer Unavailable', decline: 'processing_error' },
  { code: '10', reason: 'Not supported', decline: 'not_supported' },
  { code: '11', reason: '3D Not Authenticated', decline: 'authentication_failed' },
  { code: '12', reason: 'Not enough balance', decline: 'insufficient_funds' },
  { code: '14', reason: 'Acquirer Fraud', decline: 'fraud_suspected' },
  { code: '15', reason: 'Cancelled', decline: 'other' },
  { code: '16', reason: 'Shopper Cancelled', decline: 'canceled_by_shopper' },
  { code: '17', reason: 'Invalid Pin', decline: 'authentication_failed' },
  { code: '18', reason: 'Pin tries exceeded', decline: 'authentication_failed' },
  { code: '19', reason: 'Pin validation not possible', decline: 'authentication_failed' },
  { code: '20', reason: 'FRAUD', decline: 'fraud_suspected' },
  { code: '21', reason: 'Not Submitted', decline: 'processing_error' },
  { code: '22', reason: 'FRAUD-CANCELLED', decline: 'fraud_suspected' },
  { code: '23', reason: 'Transaction Not Permitted', decline: 'not_supported' },
  { code: '24', reason: 'CVC Declined', decline: 'incorrect_cvc' },
  { code: '25', reason: 'Restricted Card', decline: 'card_declined' },
  { code: '26', reason: 'Revocation Of Auth', decline: 'card_declined' },
  { code: '27', reason: 'Declined Non Generic', decline: 'card_declined' },
  { code: '28', reason: 'Withdrawal amount exceeded', decline: 'limit_exceeded' },
  { code: '29', reason: 'Withdrawal count exceeded', decline: 'limit_exceeded' },
  { code: '31', reason: 'Issuer Suspected Fraud', decline: 'fraud_suspected' },
  { code: '32', reason: 'AVS Declined', decline: 'card_declined' },
  { code: '33', reason: 'Card requires online pin', decline: 'authentication_failed' },
  { code: '34', reason: 'No checking account available on Card', decline: 'invalid_account' },
  { code: '35', reason: 'No savings account available on Card', decline: 'invalid_account' },
  { code: '36', reason: 'Mobile pin required', decline: 'authentication_failed' },
  { code: '37', reason: 'Contactless fallback', decline: 'processing_error' },
  { code: '38', reason: 'Authentication required', decline: 'authentication_failed' },
  { code: '39', reason: 'RReq not received from DS', decline: 'authentication_failed' },
  { code: '40', reason: 'Current AID is in Penalty Box', decline: 'processing_error' },
  { code: '41', reason: 'CVM Required Restart Payment', decline: 'authentication_failed' },
  { code: '42', reason: '3DS Authentication Error', decline: 'authentication_failed' },
  { code: '46', reason: 'Transaction blocked by Adyen to prevent excessive retry fees', decline: 'card_declined' },
];

const BY_CODE = new Map(REFUSAL_REASONS.map((r) => [r.code, r]));
const BY_REASON = new Map(REFUSAL_REASONS.map((r) => [r.reason.toLowerCase(), r]));

/**
 * The decline of a refused payment: by `refusalReasonCode` first, then by the reason text (webhooks carry only the
 * text), else `other` (or `processing_error` for resultCode Error). `providerCode` keeps Adyen's code or text.
 */
export function declineOf(
  refusalReasonCode: string | undefined,
  refusalReason: string | undefined,
  fallback: DeclineCode = 'other',
): Decline {
  const reason = refusalReason?.trim() || undefined;
  const row =
    (refusalReasonCode !== undefined ? BY_CODE.get(refusalReasonCode) : undefined) ??
    (reason ? BY_REASON.get(reason.toLowerCase()) : undefined);
  return {
    code: row?.decline ?? fallback,
    providerCode: refusalReasonCode || reason || 'Refused',
    message: reason ?? row?.reason ?? 'refused',
  };
}

/** Which config field a 4xx points at, for Adyen error codes seen on Checkout (ServiceError.errorCode). */
export const ERROR_CODE_FIELDS: Readonly<Record<string, { field: string; hint?: string }>> = {
  '000': { field: 'request' },
  '010': { field: 'apiKey', hint: 'the API credential lacks the role for this call' },
  '100': { field: 'amount' },
  '101': { field: 'paymentMethod.encryptedCardNumber' },
  '103': { field: 'paymentMethod.encryptedSecurityCode' },
  '107': { field: 'recurring', hint: 'recurring is not enabled on the merchant account' },
  '125': { field: 'methodData.mandateId', hint: 'the stored payment method is unknown for this shopperReference' },
  '128': { field: 'paymentMethod.holderName' },
  '129': { field: 'paymentMethod.encryptedExpiryMonth' },
  '130': { field: 'paymentId', hint: 'sent as the reference' },
  '137': { field: 'amount' },
  '138': { field: 'currency' },
  '14_030': { field: 'returnUrl' },
  '167': { field: 'providerReference', hint: 'Adyen does not know this pspReference' },
  '702': { field: 'request', hint: 'Adyen could not read the request' },
  '800': { field: 'methodData.mandateId', hint: 'no stored payment method with this id' },
  '901': { field: 'merchantAccount' },
  '905': { field: 'providerType', hint: 'the payment method is not configured for the merchant account' },
};

/** Socket and client codes. `sent: false`: the request certainly never reached Adyen, so nothing happened. */
export const NETWORK_CODES: Readonly<Record<string, { meaning: string; sent: boolean }>> = {
  ECONNREFUSED: { meaning: 'connection refused', sent: false },
  ENOTFOUND: { meaning: 'host not found', sent: false },
  EAI_AGAIN: { meaning: 'DNS lookup failed for now', sent: false },
  EHOSTUNREACH: { meaning: 'host unreachable', sent: false },
  ENETUNREACH: { meaning: 'network unreachable', sent: false },
  ECONNRESET: { meaning: 'connection reset', sent: true },
  EPIPE: { meaning: 'connection closed while sending', sent: true },
  ETIMEDOUT: { meaning: 'no answer within the timeout', sent: true },
  ECONNABORTED: { meaning: 'request aborted', sent: true },
};

/** The fields of Adyen's error body (ServiceError) we use. */
interface ServiceErrorBody {
  status?: number;
  errorCode?: string;
  message?: string;
  errorType?: string;
  pspReference?: string;
}

function serviceError(e: HttpClientException): ServiceErrorBody {
  if (e.apiError) return e.apiError as ServiceErrorBody;
  if (!e.responseBody) return {};
  try {
    const b: unknown = JSON.parse(e.responseBody);
    return b && typeof b === 'object' ? (b as ServiceErrorBody) : {};
  } catch {
    return {};
  }
}

function header(e: HttpClientException, name: string): string | undefined {
  const v = e.responseHeaders?.[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Wraps a failed call in the right tier. Messages name config fields and Adyen's own error text, never a credential.
 * @param what - the call, e.g. `POST /payments`.
 * @param ctx.mutating - the call moves money or changes state (all of ours do): an unknown outcome is indeterminate.
 */
export function toAdyenError(
  err: unknown,
  what: string,
  ctx: { merchantAccount: string; environment: string; mutating: boolean },
): IntegrationError | ConnectorError {
  if (err instanceof IntegrationError || err instanceof ConnectorError) return err;
  if (err instanceof HttpClientException) {
    const status = err.statusCode;
    const body = serviceError(err);
    const code = body.errorCode;
    const text = body.message
      ? `: ${body.message}${code ? ` (errorCode ${code})` : ''}`
      : code
        ? ` (errorCode ${code})`
        : '';
    const details = { status, errorCode: code, errorType: body.errorType, pspReference: body.pspReference };
    if (status === 401) {
      return new IntegrationError(
        `${what}: HTTP 401, Adyen rejected the API key (check apiKey: the key of a web service user of the company account that owns ${ctx.merchantAccount}, made in the ${ctx.environment} Customer Area)`,
        'apiKey',
        details,
      );
    }
    if (status === 403) {
      return new IntegrationError(
        `${what}: HTTP 403, Adyen refused the request for merchant account "${ctx.merchantAccount}"${text} (check merchantAccount and that the API credential may use it, with the Checkout webservice role)`,
        'merchantAccount',
        details,
      );
    }
    if (code === '704') {
      // Idempotency: the key is in use by a request still running (transient) or was used for another request.
      if (header(err, 'transient-error') === 'true') {
        return new ConnectorError(`${what}: HTTP ${status}, a request with this Idempotency-Key is still in progress`, {
          code: 'ADYEN_704',
          indeterminate: true,
        });
      }
      return new IntegrationError(
        `${what}: HTTP ${status}, this Idempotency-Key was already used for a different request${text}`,
        'idempotencyKey',
        { ...details, conflict: true },
      );
    }
    if (status === 429) {
      return new ConnectorError(`${what}: HTTP 429, too many requests${text}`, { code: 'HTTP_429' });
    }
    if (status >= 500 || status === 408) {
      return new ConnectorError(`${what}: HTTP ${status}${text}`, {
        code: code ? `ADYEN_${code}` : `HTTP_${status}`,
        indeterminate: ctx.mutating,
      });
    }
    const row = code ? ERROR_CODE_FIELDS[code] : undefined;
    return new IntegrationError(
      `${what}: HTTP ${status}, Adyen rejected the request${text}${row?.hint ? ` (${row.hint})` : ''}`,
      row?.field,
      details,
    );
  }
  const code = err && typeof err === 'object' && 'code' in err ? String((err as { code: unknown }).code) : undefined;
  const net = code ? NETWORK_CODES[code] : undefined;
  return new ConnectorError(`${what}: ${net?.meaning ?? 'transport error'}${code ? ` (${code})` : ''}`, {
    code: code ?? 'TRANSPORT',
    indeterminate: ctx.mutating && (net?.sent ?? true),
    cause: err,
  });
}
