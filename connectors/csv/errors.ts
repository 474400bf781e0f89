/**
 * Error tables of the CSV connector: file-system codes and csv-parse codes mapped to our tiers (DESIGN §3) and to
 * plain reasons. Data, not logic: add a row when a new code shows up.
 */
import { ConnectorError, IntegrationError } from '../../src/domain/errors';

type Tier = 'integration' | 'connector';

/**
 * Node file-system error codes. `integration`: the configuration or the permissions are wrong, a retry cannot help.
 * `connector`: the machine is in trouble for now (full disk, too many open files, NFS hiccup); retried. Codes not
 * listed are treated as `connector`.
 */
export const FS_ERRORS: Readonly<Record<string, { tier: Tier; meaning: string }>> = {
  ENOENT: { tier: 'integration', meaning: 'does not exist' },
  ENOTDIR: { tier: 'integration', meaning: 'is not a directory' },
  EISDIR: { tier: 'integration', meaning: 'is a directory' },
  EACCES: { tier: 'integration', meaning: 'permission denied' },
  EPERM: { tier: 'integration', meaning: 'operation not permitted' },
  EROFS: { tier: 'integration', meaning: 'is on a read-only file system' },
  ENAMETOOLONG: { tier: 'integration', meaning: 'name too long' },
  ELOOP: { tier: 'integration', meaning: 'too many symbolic links' },
  ENOSPC: { tier: 'connector', meaning: 'no space left on device' },
  EDQUOT: { tier: 'connector', meaning: 'disk quota exceeded' },
  EMFILE: { tier: 'connector', meaning: 'too many open files' },
  ENFILE: { tier: 'connector', meaning: 'too many open files in the system' },
  EBUSY: { tier: 'connector', meaning: 'resource busy' },
  EAGAIN: { tier: 'connector', meaning: 'resource temporarily unavailable' },
  EIO: { tier: 'connector', meaning: 'I/O error' },
  ETIMEDOUT: { tier: 'connector', meaning: 'timed out' },
  ESTALE: { tier: 'connector', meaning: 'stale file handle (network file system)' },
};

function codeOf(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * Wraps a file-system error of `op` on `path` in the right tier.
 * @param indeterminate - whether the operation may have taken effect despite the error (see ConnectorError).
 */
export function toCsvError(err: unknown, op: string, path: string, indeterminate = false): Error {
  if (err instanceof IntegrationError || err instanceof ConnectorError) return err;
  const code = codeOf(err);
  const known = code ? FS_ERRORS[code] : undefined;
  const what = `${op} ${path}: ${known?.meaning ?? (err instanceof Error ? err.message : String(err))}${code ? ` (${code})` : ''}`;
  if (known?.tier === 'integration') return new IntegrationError(what, op, { code, path });
  return new ConnectorError(what, { code, cause: err, indeterminate });
}

/** csv-parse error codes → the reason a record is quarantined with. */
export const PARSE_ERRORS: Readonly<Record<string, string>> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted field is not closed; the rest of the file from here could not be read',
  CSV_MAX_RECORD_SIZE: 'record longer than the maximum record size (wrong delimiter or an unclosed quote?)',
  CSV_INVALID_CLOSING_QUOTE: 'unexpected text after a closing quote',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'unexpected text after a closing quote',
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'wrong number of fields',
};

/** The quarantine reason for a csv-parse error. */
export function parseErrorReason(err: unknown): string {
  const code = codeOf(err);
  const reason = code ? PARSE_ERRORS[code] : undefined;
  return reason ?? `unreadable record: ${err instanceof Error ? err.message : String(err)}`;
}
