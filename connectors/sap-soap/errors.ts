/**
 * Error tables of the sap-soap connector: SAP Log messages and HTTP statuses mapped to our tiers (DESIGN §3). Data,
 * not logic: add a row when a new message shows up in a confirmation Log.
 */
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import type { LogItemWire } from './transformers';

/**
 * What a Log message means for us when it comes with an error (severity ≥ 3).
 * - `duplicate`: SAP refused the document because the reference was already posted → the write-back is `duplicate`.
 * - `transient`: a lock or a short-lived condition → `ConnectorError`, retried.
 * Anything else with severity ≥ 3 is an `IntegrationError` carrying SAP's notes (account not found, period closed,
 * customer blocked…): a retry cannot help, a person must fix master data or configuration.
 */
export type LogMeaning = 'duplicate' | 'transient';

/**
 * Known messages as `CLASS NUMBER`. Verify against the target system: which reference check fires depends on the
 * document type's settings (see README, "Duplicates").
 */
export const SAP_MESSAGES: Readonly<Record<string, { meaning: LogMeaning; what: string }>> = {
  'F5 117': { meaning: 'duplicate', what: 'document already entered under this reference (duplicate check; verify)' },
  'MC 601': { meaning: 'transient', what: 'object requested is locked by another user (enqueue)' },
};

/** Note texts that mean the same when the message id is not known here (SAP texts in English and German). */
export const NOTE_PATTERNS: readonly { pattern: RegExp; meaning: LogMeaning }[] = [
  { pattern: /\blocked\b|\benqueue\b|\bgesperrt\b|\bsperre\b/i, meaning: 'transient' },
  { pattern: /already (?:been )?(?:entered|posted)|bereits (?:erfasst|gebucht)/i, meaning: 'duplicate' },
];

/**
 * SAP writes a Log item's TypeID as `NNN(CLASS)` (e.g. `609(RW)`); other releases and tools use `CLASS/NNN` or
 * `CLASS NNN`. Returns `CLASS NNN`, or undefined.
 */
export function messageId(typeId: string | undefined): string | undefined {
  if (!typeId) return undefined;
  const t = typeId.trim();
  const a = /^(\d{3})\s*\(([^)\s]+)\)$/.exec(t);
  if (a) return `${a[2]!.toUpperCase()} ${a[1]}`;
  const b = /^([^\s/()]+)[/ ](\d{3})$/.exec(t);
  if (b) return `${b[1]!.toUpperCase()} ${b[2]}`;
  return undefined;
}

/** The meaning of one Log item, from the table first, then the note text. */
export function meaningOf(
  item: LogItemWire,
  extra: { duplicate: string[]; transient: string[] },
): LogMeaning | undefined {
  const id = messageId(item.typeId);
  if (id) {
    if (extra.duplicate.includes(id)) return 'duplicate';
    if (extra.transient.includes(id)) return 'transient';
    const known = SAP_MESSAGES[id];
    if (known) return known.meaning;
  }
  return NOTE_PATTERNS.find((p) => p.pattern.test(item.note))?.meaning;
}

const describeItems = (items: LogItemWire[]): string =>
  items.map((i) => (i.typeId ? `${i.note} [${i.typeId}]` : i.note)).join('; ');

/**
 * An error Log (severity ≥ 3) → what the connector does: `duplicate`, or the error to throw.
 * Only items with severity ≥ 3 decide; a duplicate warning on a posted document is not a duplicate (SAP posted).
 */
export function classifyErrorLog(
  log: LogItemWire[],
  extra: { duplicate: string[]; transient: string[] },
  context: { documentReferenceId: string; companyCode: string },
): { duplicate: true } | { error: Error } {
  const errors = log.filter((i) => i.severity >= 3);
  const decisive = errors.length > 0 ? errors : log;
  const meanings = decisive.map((i) => meaningOf(i, extra));
  const notes = describeItems(decisive) || 'no Log items';
  if (meanings.includes('duplicate')) return { duplicate: true };
  if (meanings.includes('transient')) {
    return { error: new ConnectorError(`SAP could not post now (retrying): ${notes}`, { code: 'SAP_LOCKED' }) };
  }
  return {
    error: new IntegrationError(
      `SAP rejected journal entry ${context.documentReferenceId} in company code ${context.companyCode}: ${notes}`,
      'journalEntry',
      { log },
    ),
  };
}

/** Network error codes before anything was sent: the posting certainly did not happen. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** TLS trouble that configuration must fix. */
const TLS_CONFIG = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_OSSL_BAD_DECRYPT',
  'CERT_HAS_EXPIRED',
]);

/**
 * An HTTP status without a usable confirmation → our tier.
 * 401/403 name the user (wrong password, locked user, missing role in the communication arrangement); other 4xx are
 * configuration (wrong path, wrong SOAP version); 5xx and anything else may have posted: indeterminate.
 */
export function httpError(status: number, detail: string, who: string, endpoint: string): Error {
  if (status === 401 || status === 403) {
    return new IntegrationError(
      `SAP refused ${who} (HTTP ${status}) at ${endpoint}: check the user, its password or certificate, and that the communication arrangement grants JournalEntryCreateRequestConfirmation_In`,
      'options.auth',
      { status },
    );
  }
  if (status >= 400 && status < 500) {
    return new IntegrationError(`SAP answered HTTP ${status} at ${endpoint}: ${detail}`, 'options.endpoint', {
      status,
    });
  }
  return new ConnectorError(
    `SAP answered HTTP ${status}${detail ? `: ${detail}` : ''}; the posting may have happened`,
    {
      code: `HTTP_${status}`,
      indeterminate: true,
    },
  );
}

/** A transport error (no HTTP answer) → our tier. */
export function transportError(err: unknown, endpoint: string): Error {
  const code = (err as { code?: string }).code;
  const msg = err instanceof Error ? err.message : String(err);
  if (code && TLS_CONFIG.has(code)) {
    return new IntegrationError(`TLS to ${endpoint} failed: ${msg} (${code})`, 'options.auth', { code });
  }
  return new ConnectorError(`calling SAP at ${endpoint} failed: ${msg}${code ? ` (${code})` : ''}`, {
    code: code ?? 'TRANSPORT',
    cause: err,
    indeterminate: !(code && NOT_SENT.has(code)),
  });
}
