/**
 * Error tables of the sap-rfc connector: node-rfc's error codes and the BAPI RETURN messages mapped to our tiers
 * (DESIGN §3). Data, not logic: add a row when a new code shows up on a real system.
 *
 * Two kinds of failure reach us:
 * - node-rfc throws (`RfcLibError`, `ABAPError`): the connection, the logon, the function module itself.
 * - the BAPI answers normally and puts messages into RETURN (`BAPIRET2` with ID + NUMBER, or the older `BAPIRETURN`
 *   with CODE = class + number). TYPE `E` (error) and `A` (abort) fail the call; `S`, `I`, `W` do not.
 */
import { ConnectorError, IntegrationError } from '../../src/domain/errors';

export type Tier = 'integration' | 'connector';

/**
 * node-rfc error `codeString` (the NW RFC SDK's RFC_RC) → tier. `integration`: the configuration, the SAP user or
 * its authorizations are wrong; a retry cannot help. `connector`: the network or the system is in trouble for now.
 * Codes not listed are `connector`.
 */
export const RFC_ERRORS: Readonly<Record<string, { tier: Tier; meaning: string; indeterminate?: boolean }>> = {
  RFC_COMMUNICATION_FAILURE: { tier: 'connector', meaning: 'connection to SAP lost or not possible' },
  RFC_LOGON_FAILURE: {
    tier: 'integration',
    meaning: 'logon refused: check connection.user, passwd, client, and that the user is not locked',
  },
  RFC_ABAP_RUNTIME_FAILURE: { tier: 'connector', meaning: 'the function module dumped (see ST22 on the system)' },
  RFC_ABAP_MESSAGE: { tier: 'integration', meaning: 'the function module ended with an error message' },
  RFC_ABAP_EXCEPTION: { tier: 'integration', meaning: 'the function module raised an exception' },
  RFC_NOT_FOUND: { tier: 'integration', meaning: 'function module not found or not remote-enabled' },
  RFC_INVALID_PARAMETER: { tier: 'integration', meaning: 'a parameter does not fit the function interface' },
  RFC_TIMEOUT: { tier: 'connector', meaning: 'no answer within the client timeout', indeterminate: true },
  RFC_CANCELED: { tier: 'connector', meaning: 'the call was cancelled', indeterminate: true },
  RFC_CLOSED: { tier: 'connector', meaning: 'the connection was closed' },
  RFC_RESOURCE_FAILURE: { tier: 'connector', meaning: 'SAP is out of work processes or memory' },
  RFC_MEMORY_INSUFFICIENT: { tier: 'connector', meaning: 'out of memory' },
  RFC_EXTERNAL_FAILURE: { tier: 'connector', meaning: 'failure in the RFC library' },
};

/** ABAP exception `key`s (of `RFC_ABAP_EXCEPTION`) that are worth a clearer message. */
export const ABAP_EXCEPTIONS: Readonly<Record<string, { tier: Tier; meaning: string }>> = {
  FU_NOT_FOUND: {
    tier: 'integration',
    meaning: 'function module does not exist on this system (check the release, or the name of a custom module)',
  },
  NO_AUTHORITY: { tier: 'integration', meaning: 'the RFC user lacks an authorization' },
};

/**
 * RETURN messages by `ID NUMBER` (BAPIRET2) or CODE (BAPIRETURN, e.g. `RW033`). `*` as number matches the whole
 * class. `summary` rows carry no cause of their own ("Error in document"): the tier comes from the other messages.
 * Messages not listed fall back by TYPE: `E` → integration (SAP rejected what we sent: a retry sends the same),
 * `A` → connector (the system aborted: update task, locks, resources).
 * Rows marked `verify` are from reference pages, not yet seen on a system.
 */
export const RETURN_MESSAGES: Readonly<Record<string, { tier: Tier; meaning: string; summary?: true }>> = {
  'RW 609': {
    tier: 'integration',
    meaning: 'error in document (summary; the cause is in the next messages)',
    summary: true,
  },
  'RW 033': {
    tier: 'integration',
    meaning: 'balance in transaction currency is not zero (CURRENCYAMOUNT must sum to 0)',
  },
  'MC 601': { tier: 'connector', meaning: 'object locked by another user (enqueue); retried later' }, // verify
  'F5 *': { tier: 'integration', meaning: 'FI posting check failed (account, period, field status)' }, // verify
  'F2 *': { tier: 'integration', meaning: 'customer master data: customer missing or not in the company code' }, // verify
  '>3 *': { tier: 'integration', meaning: 'FI-CA check failed' }, // verify
};

/** A RETURN message in one shape, from BAPIRET2 or BAPIRETURN. */
export interface ReturnMessage {
  type: string;
  id: string;
  number: string;
  message: string;
}

/** Normalises RETURN (a structure, a table, BAPIRET2 or BAPIRETURN) into a list of messages; empty rows dropped. */
export function returnMessages(ret: unknown): ReturnMessage[] {
  const rows = Array.isArray(ret) ? ret : ret && typeof ret === 'object' ? [ret] : [];
  const out: ReturnMessage[] = [];
  for (const r of rows as Record<string, unknown>[]) {
    const type = String(r.TYPE ?? '').trim();
    if (type === '') continue;
    let id = String(r.ID ?? '').trim();
    let number = String(r.NUMBER ?? '').trim();
    const code = String(r.CODE ?? '').trim();
    if (id === '' && code !== '') {
      id = code.slice(0, -3);
      number = code.slice(-3);
    }
    out.push({ type, id, number, message: String(r.MESSAGE ?? '').trim() });
  }
  return out;
}

/** The messages that fail a call (TYPE E or A). */
export function failures(msgs: readonly ReturnMessage[]): ReturnMessage[] {
  return msgs.filter((m) => m.type === 'E' || m.type === 'A');
}

function rowOf(m: ReturnMessage) {
  return RETURN_MESSAGES[`${m.id} ${m.number}`] ?? RETURN_MESSAGES[`${m.id} *`];
}

/** The tier of a failed RETURN: the first message that is not a summary decides. */
export function returnTier(msgs: readonly ReturnMessage[]): Tier {
  const failed = failures(msgs);
  for (const m of failed) {
    const row = rowOf(m);
    if (row?.summary) continue;
    if (row) return row.tier;
    return m.type === 'A' ? 'connector' : 'integration';
  }
  return failed.some((m) => m.type === 'A') ? 'connector' : 'integration';
}

const describe = (m: ReturnMessage) =>
  `${m.type} ${m.id}${m.id && m.number ? ' ' : ''}${m.number}${m.message ? ` ${m.message}` : ''}${rowOf(m) && !rowOf(m)!.summary ? ` (${rowOf(m)!.meaning})` : ''}`;

/**
 * An error for a RETURN with TYPE E/A, in its tier. Every failing message is in the text, in SAP's order.
 * @param indeterminate - whether the call may have taken effect anyway (only for connector-tier errors).
 */
export function returnError(fm: string, msgs: readonly ReturnMessage[], indeterminate = false): Error {
  const text = `${fm} returned ${failures(msgs).map(describe).join('; ')}`;
  const first = failures(msgs)[0];
  const code = first ? `${first.id}${first.number}` : undefined;
  if (returnTier(msgs) === 'integration') return new IntegrationError(text, undefined, { fm, code });
  return new ConnectorError(text, { code, indeterminate });
}

/**
 * Any thrown value of a transport call → our tier. Errors already in a tier pass through.
 * @param indeterminate - whether the call may have taken effect despite the error (a commit in flight).
 */
export function toRfcError(err: unknown, fm: string, indeterminate = false): Error {
  if (err instanceof IntegrationError || err instanceof ConnectorError) return err;
  const e = (err ?? {}) as { codeString?: string; key?: string; message?: string; name?: string };
  const code = e.codeString ?? e.key;
  const exception = e.codeString === 'RFC_ABAP_EXCEPTION' && e.key ? ABAP_EXCEPTIONS[e.key] : undefined;
  const known = exception ?? (code ? RFC_ERRORS[code] : undefined);
  const detail = e.message ?? String(err);
  const what = `${fm}: ${known?.meaning ?? 'RFC call failed'}: ${detail}${code ? ` (${code}${e.key && e.key !== code ? `/${e.key}` : ''})` : ''}`;
  if (known?.tier === 'integration') return new IntegrationError(what, undefined, { fm, code, key: e.key });
  const rowIndeterminate = known && 'indeterminate' in known ? Boolean(known.indeterminate) : false;
  return new ConnectorError(what, { code, cause: err, indeterminate: indeterminate || rowIndeterminate });
}
