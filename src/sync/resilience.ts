import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  fullJitterGenerator,
  handleWhen,
  isBrokenCircuitError,
  retry,
  TaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { z } from 'zod';
import { ConnectorError, isRetryable } from '../domain/errors';

/** Resilience settings of one source (config: `sources[].options.resilience`). */
export interface ResilienceOptions {
  /** Per call. @defaultValue 30000 */
  timeoutMs?: number;
  /** Retries of a failed read (writes are retried by the outbox, not here). @defaultValue 3 */
  retries?: number;
  /** First backoff; doubles per retry, with full jitter. @defaultValue 200 */
  backoffBaseMs?: number;
  /** @defaultValue 10000 */
  backoffMaxMs?: number;
  /** Consecutive failures that open the breaker. @defaultValue 5 */
  breakerThreshold?: number;
  /** How long an open breaker rejects calls before it lets one through. @defaultValue 30000 */
  breakerHalfOpenAfterMs?: number;
}

/** The zod schema of {@link ResilienceOptions}, for connectors' `resilience` option. */
export const resilienceOptionsSchema = z
  .strictObject({
    timeoutMs: z.int().min(1).optional(),
    retries: z.int().min(0).max(10).optional(),
    backoffBaseMs: z.int().min(0).optional(),
    backoffMaxMs: z.int().min(0).optional(),
    breakerThreshold: z.int().min(1).optional(),
    breakerHalfOpenAfterMs: z.int().min(0).optional(),
  })
  .default({});

export interface SourcePolicy {
  /**
   * Runs a read with timeout, retries (backoff + full jitter) and the source's circuit breaker. Only retryable
   * errors are retried (`ConnectorError`, unknown errors); an `IntegrationError` (bad credentials, bad config) fails
   * at once.
   */
  read<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /**
   * Runs a write with timeout and the circuit breaker but no retry: the outbox retries writes with the same
   * idempotency key. A timeout is reported as an indeterminate `ConnectorError`.
   */
  write<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  /** `closed`, `open`, `half-open` or `isolated`: for `clearhub doctor`. */
  readonly state: string;
}

const STATES = ['closed', 'open', 'half-open', 'isolated'];

/** One policy per source: a breaker shared by all calls to that system, so a dead system is not hammered. */
export function createSourcePolicy(source: string, o: ResilienceOptions = {}): SourcePolicy {
  const handled = handleWhen((err) => isRetryable(err));
  const breaker = circuitBreaker(handled, {
    halfOpenAfter: o.breakerHalfOpenAfterMs ?? 30_000,
    breaker: new ConsecutiveBreaker(o.breakerThreshold ?? 5),
  });
  const retryPolicy = retry(handled, {
    maxAttempts: o.retries ?? 3,
    backoff: new ExponentialBackoff({
      initialDelay: o.backoffBaseMs ?? 200,
      maxDelay: o.backoffMaxMs ?? 10_000,
      generator: fullJitterGenerator,
    }),
  });
  const timeoutPolicy = timeout(o.timeoutMs ?? 30_000, TimeoutStrategy.Aggressive);
  const readPolicy = wrap(retryPolicy, breaker, timeoutPolicy);
  const writePolicy = wrap(breaker, timeoutPolicy);

  const translate = (err: unknown, indeterminate: boolean): never => {
    // cockatiel 3.2's isTaskCancelledError checks the wrong marker; instanceof is reliable.
    if (err instanceof TaskCancelledError) {
      throw new ConnectorError(`${source}: no answer within ${o.timeoutMs ?? 30_000} ms`, {
        code: 'TIMEOUT',
        indeterminate,
        cause: err,
      });
    }
    if (isBrokenCircuitError(err)) {
      throw new ConnectorError(`${source}: circuit open after repeated failures; not calling it for now`, {
        code: 'CIRCUIT_OPEN',
        cause: err,
      });
    }
    throw err;
  };
  return {
    read: (fn) => readPolicy.execute(({ signal }) => fn(signal)).catch((err) => translate(err, false)),
    write: (fn) => writePolicy.execute(({ signal }) => fn(signal)).catch((err) => translate(err, true)),
    get state() {
      return STATES[breaker.state] ?? String(breaker.state);
    },
  };
}
