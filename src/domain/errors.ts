/**
 * The three error tiers of DESIGN §3.
 *
 * - {@link IntegrationError}: our input or configuration is wrong. Never retried. The message names the field path
 *   and says what to do.
 * - {@link ConnectorError}: transport, parse, 5xx, timeout. Retried with backoff. When the outcome of a mutating call
 *   is unknown, `indeterminate` is true and the call is resolved by a status sync, never marked failed.
 * - A decline is a normal result, not an exception (see `Decline` in payment.ts).
 */
export class IntegrationError extends Error {
  override readonly name = 'IntegrationError';
  readonly retryable = false;
  constructor(
    message: string,
    /** Dotted path of the offending field, e.g. `sources[0].path` or `amount`. */
    readonly field?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(field ? `${field}: ${message}` : message);
  }
}

export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  readonly retryable = true;
  constructor(
    message: string,
    readonly options: { indeterminate?: boolean; code?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
  get indeterminate(): boolean {
    return this.options.indeterminate ?? false;
  }
}

/** Raised when an amount or currency echoed by a counterparty differs from what we sent. */
export class IntegrityError extends Error {
  override readonly name = 'IntegrityError';
  readonly retryable = false;
}

export type ErrorClass = 'integration' | 'connector' | 'integrity' | 'unknown';

/** Classifies any thrown value for the retry policy of the write-back workers. */
export function classifyError(err: unknown): ErrorClass {
  if (err instanceof IntegrationError) return 'integration';
  if (err instanceof ConnectorError) return 'connector';
  if (err instanceof IntegrityError) return 'integrity';
  if (err && typeof err === 'object' && 'name' in err) {
    const name = (err as { name: unknown }).name;
    if (name === 'IntegrationError') return 'integration';
    if (name === 'ConnectorError') return 'connector';
    if (name === 'IntegrityError') return 'integrity';
  }
  return 'unknown';
}

/** Whether a retry may help. Unknown errors (bugs, I/O) are retried: a retry costs little, a lost write-back a lot. */
export function isRetryable(err: unknown): boolean {
  const c = classifyError(err);
  return c === 'connector' || c === 'unknown';
}
