/**
 * BullMQ driver on Redis: the production driver. Any number of processes may add to and consume the same queues;
 * BullMQ hands each job to one worker at a time and recovers jobs of crashed workers (stalled-job check).
 *
 * Mapping of the contract onto BullMQ:
 * - job ids are escaped (`:` and `%` only), because BullMQ refuses ids with a colon; handlers see the original id;
 * - the backoff is a custom strategy (`settings.backoffStrategy` on every Worker) named {@link BACKOFF_TYPE};
 * - a final failure is thrown to BullMQ as `UnrecoverableError`, so BullMQ never retries what we called final;
 * - `added` is decided by a nonce stored in the job's options: BullMQ returns the same result for a new and a
 *   duplicate job id, so after adding we read back whose nonce the stored job carries.
 */
import { randomUUID } from 'node:crypto';
import {
  type BackoffOptions as BullBackoffOptions,
  type Job as BullJob,
  type JobsOptions,
  type KeepJobs,
  type MinimalJob,
  Queue,
  UnrecoverableError,
  Worker,
} from 'bullmq';
import { Redis } from 'ioredis';
import {
  type AddResult,
  type BackoffOptions,
  type BulkJob,
  backoffDelay,
  type ConsumeOptions,
  type Consumer,
  DEFAULT_BACKOFF,
  defaultOnError,
  type FailedHandler,
  type Handler,
  isFinalFailure,
  isUnrecoverable,
  type Job,
  type JobCounts,
  type JobOptions,
  type QueueDriver,
  type QueueDriverOptions,
  type QueueErrorContext,
  type RetentionOptions,
  resolveConcurrency,
  resolveJobOptions,
  resolveRetention,
  validateQueueName,
} from './types';

/** Options of {@link BullmqDriver}. */
export interface BullmqDriverOptions extends QueueDriverOptions {
  /** `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
  redisUrl: string;
  /**
   * Prefix of every Redis key of this driver's queues. Drivers with different prefixes never see each other's
   * jobs (tests use `clearhub-test-<random>`).
   * @defaultValue `'clearhub'`
   */
  prefix?: string;
  /**
   * How long a worker holds a job's lock; a worker that dies (SIGKILL, power loss) releases its jobs to the others
   * after about this long, when BullMQ's stalled-job check runs (every `lockDurationMs` too).
   * @defaultValue `30000`
   */
  lockDurationMs?: number;
}

/** Name of our backoff strategy in the stored job options. */
export const BACKOFF_TYPE = 'clearhub-full-jitter';
/** Key of the add nonce in the stored job options. */
const NONCE_KEY = 'clearhubAddNonce';

type StoredBackoff = BullBackoffOptions & { maxMs: number };

/** {@link QueueDriver} on BullMQ. */
export class BullmqDriver implements QueueDriver {
  readonly kind = 'bullmq' as const;
  readonly prefix: string;
  private readonly lockDurationMs: number;
  private readonly redisUrl: string;
  /** Shared by every Queue (producer side); workers open their own connections. */
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly consumers = new Set<BullmqConsumer<never>>();
  private readonly removeOnComplete: boolean | KeepJobs;
  private readonly removeOnFail: boolean | KeepJobs;
  private readonly onError: NonNullable<QueueDriverOptions['onError']>;
  private closed = false;

  constructor(opts: BullmqDriverOptions) {
    this.redisUrl = opts.redisUrl;
    this.prefix = opts.prefix ?? 'clearhub';
    this.lockDurationMs = opts.lockDurationMs ?? 30_000;
    this.onError = opts.onError ?? defaultOnError;
    const retention = resolveRetention(opts.retention);
    this.removeOnComplete = toKeepJobs(retention.completed);
    this.removeOnFail = toKeepJobs(retention.failed);
    // Producer calls fail after ioredis' default retries rather than hang while Redis is away.
    this.connection = new Redis(this.redisUrl);
    this.connection.on('error', (err) => this.reportError(err, { during: 'connection' }));
  }

  async add<T>(queue: string, name: string, data: T, opts: JobOptions): Promise<AddResult> {
    const [result] = await this.addBulk(queue, [{ name, data, opts }]);
    return result!;
  }

  async addBulk<T>(queue: string, jobs: readonly BulkJob<T>[]): Promise<AddResult[]> {
    this.assertOpen();
    validateQueueName(queue);
    const entries = jobs.map((job) => {
      const resolved = resolveJobOptions(job.opts);
      const nonce = randomUUID();
      const backoff: StoredBackoff = {
        type: BACKOFF_TYPE,
        delay: resolved.backoff.baseMs,
        maxMs: resolved.backoff.maxMs,
      };
      const opts: JobsOptions & { [NONCE_KEY]: string } = {
        jobId: encodeJobId(resolved.jobId),
        attempts: resolved.attempts,
        backoff,
        delay: resolved.delayMs,
        removeOnComplete: this.removeOnComplete,
        removeOnFail: this.removeOnFail,
        [NONCE_KEY]: nonce,
      };
      return { name: job.name, data: job.data === undefined ? null : job.data, opts, nonce };
    });
    if (entries.length === 0) return [];
    const q = this.queue(queue);
    if (entries.length === 1) {
      const [entry] = entries;
      await q.add(entry!.name, entry!.data, entry!.opts);
    } else {
      await q.addBulk(entries.map(({ name, data, opts }) => ({ name, data, opts })));
    }
    const pipeline = this.connection.pipeline();
    for (const entry of entries) pipeline.hget(q.toKey(entry.opts.jobId!), 'opts');
    const replies = (await pipeline.exec()) ?? [];
    return entries.map((entry, i) => {
      const [err, raw] = replies[i] ?? [new Error('no reply')];
      if (err) throw err;
      // A job gone already (finished and not retained) was ours or its predecessor's: we cannot tell; say added.
      if (typeof raw !== 'string') return { added: true };
      return { added: (JSON.parse(raw) as Record<string, unknown>)[NONCE_KEY] === entry.nonce };
    });
  }

  async consume<T>(queue: string, handler: Handler<T>, opts: ConsumeOptions<T> = {}): Promise<Consumer> {
    this.assertOpen();
    validateQueueName(queue);
    const consumer = new BullmqConsumer<T>(queue, handler, {
      concurrency: resolveConcurrency(opts.concurrency),
      onFailed: opts.onFailed,
      redisUrl: this.redisUrl,
      prefix: this.prefix,
      lockDurationMs: this.lockDurationMs,
      reportError: (err, context) => this.reportError(err, context),
      forget: () => this.consumers.delete(consumer as BullmqConsumer<never>),
    });
    this.consumers.add(consumer as BullmqConsumer<never>);
    try {
      await consumer.ready();
    } catch (err) {
      await consumer.close();
      throw err;
    }
    return consumer;
  }

  async counts(queue: string): Promise<JobCounts> {
    validateQueueName(queue);
    const c = await this.queue(queue).getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    return {
      waiting: c.waiting ?? 0,
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
    };
  }

  async drain(queue: string): Promise<void> {
    validateQueueName(queue);
    await this.queue(queue).drain(true);
  }

  async obliterate(queue: string): Promise<void> {
    validateQueueName(queue);
    await this.queue(queue).obliterate({ force: true });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    // `quit` waits for a connection that is not there; `disconnect` also stops ioredis reconnecting, so a CLI exits.
    if (this.connection.status !== 'ready') {
      this.connection.disconnect();
      return;
    }
    try {
      await this.connection.quit();
    } catch {
      this.connection.disconnect();
    }
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      q.on('error', (err) => this.reportError(err, { during: 'connection', queue: name }));
      this.queues.set(name, q);
    }
    return q;
  }

  private reportError(err: unknown, context: QueueErrorContext): void {
    try {
      this.onError(err, context);
    } catch {
      // An error reporter that throws must not take a worker down with it.
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('queue driver is closed');
  }
}

interface ConsumerSettings<T> {
  concurrency: number;
  onFailed: FailedHandler<T> | undefined;
  redisUrl: string;
  prefix: string;
  lockDurationMs: number;
  reportError: (err: unknown, context: QueueErrorContext) => void;
  forget: () => void;
}

/** One BullMQ Worker with its own two Redis connections (commands and the blocking fetch). */
class BullmqConsumer<T> implements Consumer {
  private readonly worker: Worker;
  /** Errors our processor threw: their `onFailed` already ran. */
  private readonly reported = new WeakSet<Error>();
  /** `onFailed` calls for failures BullMQ decided on its own (see `onWorkerFailed`). */
  private readonly pending = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly queue: string,
    private readonly handler: Handler<T>,
    private readonly settings: ConsumerSettings<T>,
  ) {
    this.worker = new Worker(queue, (job: BullJob) => this.process(job), {
      connection: { url: settings.redisUrl, maxRetriesPerRequest: null },
      prefix: settings.prefix,
      concurrency: settings.concurrency,
      lockDuration: settings.lockDurationMs,
      stalledInterval: settings.lockDurationMs,
      settings: { backoffStrategy },
    });
    this.worker.on('error', (err) => settings.reportError(err, { during: 'worker', queue }));
    this.worker.on('failed', (job, err) => this.onWorkerFailed(job, err));
  }

  ready(): Promise<void> {
    return this.worker.waitUntilReady();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.worker.close();
      } finally {
        while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
        this.settings.forget();
      }
    })();
    return this.closing;
  }

  private async process(bullJob: BullJob): Promise<void> {
    // `attemptsMade` counts finished attempts; a run after a crash repeats the interrupted attempt's number.
    const job = toJob<T>(bullJob, this.queue, bullJob.attemptsMade + 1);
    try {
      await this.handler(job);
    } catch (err) {
      const final = isFinalFailure(err, job.attempt, job.attempts);
      await this.notifyFailed(job, err, final);
      const thrown = final ? toUnrecoverable(err) : toError(err);
      this.reported.add(thrown);
      throw thrown;
    }
  }

  /** BullMQ emits `failed` for our own throws (already reported) and for failures it decides without running the
   * processor, such as a job that stalled more often than `maxStalledCount`. The latter are final. */
  private onWorkerFailed(bullJob: BullJob | undefined, err: Error): void {
    if (this.reported.has(err)) return;
    if (!bullJob) {
      this.settings.reportError(err, { during: 'worker', queue: this.queue });
      return;
    }
    const final = isUnrecoverable(err) || Boolean(bullJob.finishedOn);
    const job = toJob<T>(bullJob, this.queue, Math.max(1, bullJob.attemptsMade));
    const call = this.notifyFailed(job, err, final).finally(() => this.pending.delete(call));
    this.pending.add(call);
  }

  private async notifyFailed(job: Job<T>, err: unknown, final: boolean): Promise<void> {
    if (!this.settings.onFailed) return;
    try {
      await this.settings.onFailed(job, err, final);
    } catch (hookErr) {
      this.settings.reportError(hookErr, { during: 'onFailed', queue: job.queue, jobId: job.id });
    }
  }
}

/** The Worker-side half of our jittered exponential backoff; the job carries `baseMs` (as `delay`) and `maxMs`. */
function backoffStrategy(attemptsMade: number, _type?: string, _err?: Error, job?: MinimalJob): number {
  return backoffDelay(attemptsMade, storedBackoff(job?.opts.backoff));
}

function storedBackoff(stored: number | BullBackoffOptions | undefined): BackoffOptions {
  if (typeof stored !== 'object' || stored.type !== BACKOFF_TYPE) return DEFAULT_BACKOFF;
  const maxMs = 'maxMs' in stored && typeof stored.maxMs === 'number' ? stored.maxMs : DEFAULT_BACKOFF.maxMs;
  return { baseMs: stored.delay ?? DEFAULT_BACKOFF.baseMs, maxMs };
}

function toJob<T>(bullJob: BullJob, queue: string, attempt: number): Job<T> {
  return {
    id: decodeJobId(bullJob.id ?? ''),
    queue,
    name: bullJob.name,
    data: bullJob.data as T,
    attempt,
    attempts: bullJob.opts.attempts ?? 1,
  };
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function toUnrecoverable(err: unknown): Error {
  if (err instanceof UnrecoverableError) return err;
  const unrecoverable = new UnrecoverableError(err instanceof Error ? err.message : String(err));
  if (err instanceof Error && err.stack) unrecoverable.stack = err.stack;
  return unrecoverable;
}

function toKeepJobs(policy: RetentionOptions): boolean | KeepJobs {
  if (policy.ageMs === undefined) return policy.count === undefined ? false : { count: policy.count };
  const age = Math.ceil(policy.ageMs / 1000);
  return policy.count === undefined ? { age } : { age, count: policy.count };
}

/** BullMQ rejects custom ids containing `:` (bar its legacy three-part repeat ids); escape `%` and `:` reversibly. */
export function encodeJobId(id: string): string {
  return id.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));
}

export function decodeJobId(id: string): string {
  return id.replace(/%(25|3A)/g, (_, code: string) => (code === '25' ? '%' : ':'));
}
