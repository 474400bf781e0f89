/**
 * The queue room's contract: one small interface, two drivers ({@link QueueDriver} with `kind` `'bullmq'` for
 * production on Redis, `'memory'` for the embedded single-process default). Both drivers pass the same conformance
 * suite (`test/conformance/queue.conformance.ts`); the shared policy functions at the end of this file are the
 * semantics they agree on.
 *
 * What the queue does NOT do: it keeps no dead letters. When a job fails for good, the consumer's
 * {@link ConsumeOptions.onFailed} is called with `final = true` and the caller parks the dead letter in the database.
 */
import { IntegrationError, isRetryable } from '../domain/errors';

/** The two implementations of {@link QueueDriver}. */
export type QueueDriverKind = 'bullmq' | 'memory';

/**
 * Exponential backoff with full jitter between attempts of one job: after attempt `n` (1-based) failed, the next
 * attempt waits a uniformly random delay in `[0, min(maxMs, baseMs * 2^(n-1))]` ms (see {@link backoffDelay}).
 */
export interface BackoffOptions {
  /**
   * Upper bound of the first retry's delay, doubled for every further attempt.
   * @defaultValue 1000
   */
  baseMs: number;
  /**
   * Cap on any single delay.
   * @defaultValue 60000
   */
  maxMs: number;
}

/** Options of one job. */
export interface JobOptions {
  /**
   * The job's identity, built from a business id (DESIGN §3), e.g. `outbox:42` or `payment:7:capture:1`.
   * Adding a job whose id the queue still knows is a no-op that returns `{ added: false }` (see
   * {@link RetentionOptions} for how long finished ids are remembered). Any string is accepted except an empty one
   * and a bare integer (`"42"`), which BullMQ reserves for its own ids; colons are fine.
   */
  jobId: string;
  /**
   * Total number of attempts, the first included (`1` = never retried).
   * @defaultValue 1
   */
  attempts?: number;
  /**
   * Delays between attempts.
   * @defaultValue `{ baseMs: 1000, maxMs: 60000 }` ({@link DEFAULT_BACKOFF})
   */
  backoff?: BackoffOptions;
  /**
   * Delay before the first attempt may start, in ms.
   * @defaultValue 0
   */
  delayMs?: number;
}

/** What a handler receives. `data` is a JSON copy of what was added (both drivers serialise it). */
export interface Job<T> {
  /** The {@link JobOptions.jobId} it was added with, unchanged. */
  readonly id: string;
  /** Queue the job was taken from. */
  readonly queue: string;
  /** Name given to {@link QueueDriver.add}; lets one queue carry several kinds of work. */
  readonly name: string;
  /** JSON copy of the data given to {@link QueueDriver.add}: a `Date` arrives as an ISO string. */
  readonly data: T;
  /** 1-based number of this attempt: `1` on the first run, `2` on the first retry, ... */
  readonly attempt: number;
  /** Total attempts allowed ({@link JobOptions.attempts}); `attempt === attempts` is the last one. */
  readonly attempts: number;
}

/**
 * Processes one job. Resolving completes it; throwing fails this attempt. Whether the job is retried depends on the
 * error ({@link isFinalFailure}): {@link IntegrationError}, `IntegrityError` and BullMQ's `UnrecoverableError` are
 * never retried; anything else is retried while attempts remain.
 *
 * Delivery is at least once: after a worker crash a job may run again with the same `attempt`, so handlers pass
 * `ctx.idempotencyKey` (the job id) on to whatever they call.
 */
export type Handler<T> = (job: Job<T>) => Promise<void>;

/**
 * Called after every failed attempt, before the job is retried or failed. `final` is `true` exactly once per job
 * (in a process that does not crash): on the attempt after which the job will not be retried. That is the caller's
 * moment to park the job as a dead letter. It runs before the queue records the failure, so a crash inside it means
 * the job runs again and `onFailed(final = true)` may be called again: park dead letters idempotently by job id.
 * A rejection is reported to {@link QueueDriverOptions.onError}; it does not change the job's fate.
 */
export type FailedHandler<T> = (job: Job<T>, err: unknown, final: boolean) => Promise<void> | void;

/** Options of {@link QueueDriver.consume}. */
export interface ConsumeOptions<T> {
  /**
   * Jobs this consumer runs at the same time. Several consumers (in one or many processes) may serve one queue;
   * each job is given to one of them at a time.
   * @defaultValue 1
   */
  concurrency?: number;
  /** See {@link FailedHandler}. */
  onFailed?: FailedHandler<T>;
}

/** A running consumer. */
export interface Consumer {
  /** Stops taking jobs and resolves once the jobs it is running (and their `onFailed`) have finished. */
  close(): Promise<void>;
}

/** Jobs of one queue by state. `completed` and `failed` count the finished jobs still retained. */
export interface JobCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
}

/** One entry of {@link QueueDriver.addBulk}. */
export interface BulkJob<T> {
  name: string;
  data: T;
  opts: JobOptions;
}

/** Result of adding one job. */
export interface AddResult {
  /** `false` when a job with this id was already known, in which case nothing was added or changed. */
  added: boolean;
}

/**
 * How long finished jobs (and so their ids, for idempotent adds) are remembered. A finished job is forgotten once it
 * is older than `ageMs` or no longer among the `count` most recent of its kind, whichever comes first. Eviction
 * happens when later jobs finish (BullMQ's `removeOnComplete`/`removeOnFail` semantics; the memory driver does the
 * same), so an idle queue keeps its last jobs beyond `ageMs`. `count: 0` forgets a job as soon as it finishes; then
 * only waiting, delayed and active ids are protected against a second add.
 */
export interface RetentionOptions {
  /** Forget finished jobs older than this. Unset: no age limit. BullMQ rounds up to whole seconds. */
  ageMs?: number;
  /** Keep at most this many finished jobs. Unset: no count limit. */
  count?: number;
}

/** What a driver reports outside any caller's await: connection errors, a rejected `onFailed`. */
export interface QueueErrorContext {
  /** Where it happened. */
  during: 'connection' | 'worker' | 'onFailed';
  queue?: string;
  jobId?: string;
}

/** Options shared by both drivers. */
export interface QueueDriverOptions {
  /**
   * Retention of finished jobs.
   * @defaultValue `{ completed: { ageMs: 86400000, count: 10000 }, failed: { ageMs: 86400000, count: 10000 } }`
   */
  retention?: { completed?: RetentionOptions; failed?: RetentionOptions };
  /**
   * Receives errors no caller awaits.
   * @defaultValue writes one line to stderr
   */
  onError?: (err: unknown, context: QueueErrorContext) => void;
}

/**
 * A job queue with at-least-once delivery, idempotent adds by job id, retries with jittered exponential backoff and
 * a final-failure hook for dead letters.
 *
 * @example
 * ```ts
 * const queue = createQueue({ redisUrl: process.env.REDIS_URL }); // memory driver when unset
 * await queue.add('write-back', 'clear-item', { outboxId: 42 }, {
 *   jobId: 'outbox:42', attempts: 8, backoff: { baseMs: 1000, maxMs: 300_000 },
 * });
 * const consumer = await queue.consume<{ outboxId: number }>('write-back', async (job) => {
 *   await relay.writeBack(job.data.outboxId, { idempotencyKey: job.id });
 * }, {
 *   concurrency: 4,
 *   onFailed: async (job, err, final) => { if (final) await deadLetters.park(job.id, err); },
 * });
 * // on shutdown
 * await consumer.close();
 * await queue.close();
 * ```
 */
export interface QueueDriver {
  readonly kind: QueueDriverKind;
  /**
   * Adds one job. Resolves once the job is stored (BullMQ: in Redis). Throws {@link IntegrationError} for an invalid
   * queue name or option.
   */
  add<T>(queue: string, name: string, data: T, opts: JobOptions): Promise<AddResult>;
  /** Adds many jobs, in order, with one result per entry. Not atomic: on an error, earlier entries may be stored. */
  addBulk<T>(queue: string, jobs: readonly BulkJob<T>[]): Promise<AddResult[]>;
  /** Starts consuming `queue`. Resolves once the consumer is ready to take jobs. */
  consume<T>(queue: string, handler: Handler<T>, opts?: ConsumeOptions<T>): Promise<Consumer>;
  counts(queue: string): Promise<JobCounts>;
  /** Removes waiting and delayed jobs (not active ones, not finished ones). For tests and operators. */
  drain(queue: string): Promise<void>;
  /** Removes the queue and every job and remembered id in it, active ones included. For tests. */
  obliterate(queue: string): Promise<void>;
  /** Closes every consumer (waiting for their active jobs), then the connections. The driver is unusable after. */
  close(): Promise<void>;
}

/** Default {@link JobOptions.backoff}. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ baseMs: 1000, maxMs: 60_000 });

/** Default {@link QueueDriverOptions.retention}. */
export const DEFAULT_RETENTION: Readonly<Required<RetentionOptions>> = Object.freeze({
  ageMs: 86_400_000,
  count: 10_000,
});

/**
 * Delay before the attempt after `failedAttempt` (1-based): uniformly random in
 * `[0, min(maxMs, baseMs * 2^(failedAttempt - 1))]`, whole milliseconds ("full jitter").
 */
export function backoffDelay(failedAttempt: number, backoff: BackoffOptions, random: () => number = Math.random) {
  const cap = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, failedAttempt - 1));
  return Math.min(cap, Math.floor(random() * (cap + 1)));
}

/** Whether a retry cannot help: our non-retryable tiers (DESIGN §3) or BullMQ's `UnrecoverableError`. */
export function isUnrecoverable(err: unknown): boolean {
  if (!isRetryable(err)) return true;
  return err instanceof Error && err.name === 'UnrecoverableError';
}

/** Whether the attempt that threw `err` is the job's last: the error is unrecoverable or no attempts remain. */
export function isFinalFailure(err: unknown, attempt: number, attempts: number): boolean {
  return isUnrecoverable(err) || attempt >= attempts;
}

/** {@link JobOptions} with defaults applied. */
export interface ResolvedJobOptions {
  jobId: string;
  attempts: number;
  backoff: BackoffOptions;
  delayMs: number;
}

/** Checks a queue name: non-empty, no colon (BullMQ's key separator). */
export function validateQueueName(queue: string): void {
  if (typeof queue !== 'string' || queue.length === 0 || queue.includes(':')) {
    throw new IntegrationError(`must be a non-empty string without ':' (got ${JSON.stringify(queue)})`, 'queue');
  }
}

/** Checks job options and applies defaults. Throws {@link IntegrationError} naming the field. */
export function resolveJobOptions(opts: JobOptions): ResolvedJobOptions {
  const { jobId } = opts;
  if (typeof jobId !== 'string' || jobId.length === 0) {
    throw new IntegrationError('must be a non-empty business id such as "outbox:42"', 'opts.jobId');
  }
  if (`${Number.parseInt(jobId, 10)}` === jobId) {
    throw new IntegrationError(
      `must not be a bare integer (got "${jobId}"); prefix it, e.g. "outbox:${jobId}"`,
      'opts.jobId',
    );
  }
  const attempts = opts.attempts ?? 1;
  if (!Number.isSafeInteger(attempts) || attempts < 1) {
    throw new IntegrationError(`must be an integer >= 1 (got ${attempts})`, 'opts.attempts');
  }
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  if (!(Number.isFinite(backoff.baseMs) && backoff.baseMs >= 0)) {
    throw new IntegrationError(`must be a number >= 0 (got ${backoff.baseMs})`, 'opts.backoff.baseMs');
  }
  if (!(Number.isFinite(backoff.maxMs) && backoff.maxMs >= 0)) {
    throw new IntegrationError(`must be a number >= 0 (got ${backoff.maxMs})`, 'opts.backoff.maxMs');
  }
  const delayMs = opts.delayMs ?? 0;
  if (!(Number.isFinite(delayMs) && delayMs >= 0)) {
    throw new IntegrationError(`must be a number >= 0 (got ${delayMs})`, 'opts.delayMs');
  }
  return { jobId, attempts, backoff: { baseMs: backoff.baseMs, maxMs: backoff.maxMs }, delayMs };
}

/** Checks {@link ConsumeOptions.concurrency} and applies its default. */
export function resolveConcurrency(concurrency: number | undefined): number {
  const value = concurrency ?? 1;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new IntegrationError(`must be an integer >= 1 (got ${value})`, 'opts.concurrency');
  }
  return value;
}

/** Retention with defaults applied; a policy given without a field means no limit on that field. */
export function resolveRetention(retention: QueueDriverOptions['retention']): {
  completed: RetentionOptions;
  failed: RetentionOptions;
} {
  const check = (policy: RetentionOptions, field: string): RetentionOptions => {
    if (policy.ageMs !== undefined && !(Number.isFinite(policy.ageMs) && policy.ageMs >= 0)) {
      throw new IntegrationError(`must be a number >= 0 (got ${policy.ageMs})`, `retention.${field}.ageMs`);
    }
    if (policy.count !== undefined && !(Number.isSafeInteger(policy.count) && policy.count >= 0)) {
      throw new IntegrationError(`must be an integer >= 0 (got ${policy.count})`, `retention.${field}.count`);
    }
    return { ...policy };
  };
  return {
    completed: check(retention?.completed ?? DEFAULT_RETENTION, 'completed'),
    failed: check(retention?.failed ?? DEFAULT_RETENTION, 'failed'),
  };
}

/** Default {@link QueueDriverOptions.onError}: one line on stderr. */
export function defaultOnError(err: unknown, context: QueueErrorContext): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${JSON.stringify({ room: 'queue', ...context, error: message })}\n`);
}
