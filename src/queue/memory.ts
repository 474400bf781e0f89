/**
 * In-process driver: the embedded default for `clearhub demo` and single-process runs. Same semantics as the BullMQ
 * driver (the conformance suite runs on both), but nothing survives the process: waiting and delayed jobs are lost
 * on exit, so durable work must stay recoverable from the database (the outbox) until its job completes.
 */
import {
  type AddResult,
  type BackoffOptions,
  type BulkJob,
  backoffDelay,
  type ConsumeOptions,
  type Consumer,
  defaultOnError,
  type FailedHandler,
  type Handler,
  isFinalFailure,
  type Job,
  type JobCounts,
  type JobOptions,
  type QueueDriver,
  type QueueDriverOptions,
  type RetentionOptions,
  resolveConcurrency,
  resolveJobOptions,
  resolveRetention,
  validateQueueName,
} from './types';

type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';

interface StoredJob {
  readonly id: string;
  readonly name: string;
  /** The data as JSON, parsed afresh for every attempt; dropped once the job finishes. */
  json: string | undefined;
  readonly attempts: number;
  readonly backoff: BackoffOptions;
  /** Attempts finished so far. */
  attemptsMade: number;
  state: JobState;
  timer: NodeJS.Timeout | undefined;
}

/** What a queue needs from its consumers to hand out jobs. */
interface ConsumerSlot {
  hasFreeSlot(): boolean;
  start(job: StoredJob): void;
  close(): Promise<void>;
}

/** One queue's jobs. `jobs` holds every id still known: unfinished jobs and retained finished ones. */
class QueueState {
  readonly jobs = new Map<string, StoredJob>();
  /** Finished job ids with their finishing time, oldest first (Map keeps insertion order). */
  readonly completed = new Map<string, number>();
  readonly failed = new Map<string, number>();
  readonly consumers: ConsumerSlot[] = [];
  /** Waiting jobs in FIFO order: `waiting[head..]`. */
  private waiting: StoredJob[] = [];
  private head = 0;
  delayed = 0;
  active = 0;
  /** Round-robin position among consumers. */
  cursor = 0;
  pumpScheduled = false;

  constructor(readonly name: string) {}

  get waitingCount(): number {
    return this.waiting.length - this.head;
  }

  enqueue(job: StoredJob): void {
    job.state = 'waiting';
    this.waiting.push(job);
  }

  dequeue(): StoredJob | undefined {
    if (this.head >= this.waiting.length) return undefined;
    const job = this.waiting[this.head];
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    return job;
  }

  clearWaiting(): void {
    for (let i = this.head; i < this.waiting.length; i += 1) this.jobs.delete(this.waiting[i]!.id);
    this.waiting = [];
    this.head = 0;
  }
}

/** In-process {@link QueueDriver}. Timers are unref'd, so pending delayed jobs never keep a CLI alive. */
export class MemoryDriver implements QueueDriver {
  readonly kind = 'memory' as const;
  private readonly queues = new Map<string, QueueState>();
  private readonly retention: { completed: RetentionOptions; failed: RetentionOptions };
  private readonly onError: NonNullable<QueueDriverOptions['onError']>;
  private closed = false;

  constructor(opts: QueueDriverOptions = {}) {
    this.retention = resolveRetention(opts.retention);
    this.onError = opts.onError ?? defaultOnError;
  }

  async add<T>(queue: string, name: string, data: T, opts: JobOptions): Promise<AddResult> {
    const [result] = await this.addBulk(queue, [{ name, data, opts }]);
    return result!;
  }

  async addBulk<T>(queue: string, jobs: readonly BulkJob<T>[]): Promise<AddResult[]> {
    this.assertOpen();
    validateQueueName(queue);
    const resolved = jobs.map((job) => ({ job, opts: resolveJobOptions(job.opts), json: toJson(job.data) }));
    const q = this.state(queue);
    const results = resolved.map(({ job, opts, json }): AddResult => {
      if (q.jobs.has(opts.jobId)) return { added: false };
      const stored: StoredJob = {
        id: opts.jobId,
        name: job.name,
        json,
        attempts: opts.attempts,
        backoff: opts.backoff,
        attemptsMade: 0,
        state: 'waiting',
        timer: undefined,
      };
      q.jobs.set(stored.id, stored);
      if (opts.delayMs > 0) this.delay(q, stored, opts.delayMs);
      else q.enqueue(stored);
      return { added: true };
    });
    this.schedulePump(q);
    return results;
  }

  async consume<T>(queue: string, handler: Handler<T>, opts: ConsumeOptions<T> = {}): Promise<Consumer> {
    this.assertOpen();
    validateQueueName(queue);
    const q = this.state(queue);
    const consumer = new MemoryConsumer<T>(this, q, handler, resolveConcurrency(opts.concurrency), opts.onFailed);
    q.consumers.push(consumer);
    this.schedulePump(q);
    return consumer;
  }

  async counts(queue: string): Promise<JobCounts> {
    validateQueueName(queue);
    const q = this.queues.get(queue);
    if (!q) return { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
    return {
      waiting: q.waitingCount,
      active: q.active,
      delayed: q.delayed,
      completed: q.completed.size,
      failed: q.failed.size,
    };
  }

  async drain(queue: string): Promise<void> {
    validateQueueName(queue);
    const q = this.queues.get(queue);
    if (!q) return;
    q.clearWaiting();
    for (const job of q.jobs.values()) {
      if (job.state === 'delayed') this.forget(q, job);
    }
    q.delayed = 0;
  }

  async obliterate(queue: string): Promise<void> {
    validateQueueName(queue);
    const q = this.queues.get(queue);
    if (!q) return;
    q.clearWaiting();
    // Active jobs keep running, but their outcome is discarded: `finish` sees they are no longer known.
    for (const job of [...q.jobs.values()]) this.forget(q, job);
    q.completed.clear();
    q.failed.clear();
    q.delayed = 0;
    q.active = 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const consumers = [...this.queues.values()].flatMap((q) => q.consumers);
    await Promise.all(consumers.map((consumer) => consumer.close()));
    for (const q of this.queues.values()) {
      for (const job of q.jobs.values()) {
        if (job.timer) clearTimeout(job.timer);
      }
    }
  }

  /** Called by a consumer when it has a free slot or the queue has new work. Coalesced per tick. */
  schedulePump(q: QueueState): void {
    if (q.pumpScheduled || this.closed) return;
    q.pumpScheduled = true;
    setImmediate(() => {
      q.pumpScheduled = false;
      this.pump(q);
    });
  }

  /** Records the outcome of an attempt. Ignored when the job was obliterated while it ran. */
  settle(q: QueueState, job: StoredJob, outcome: 'completed' | 'failed' | { retryInMs: number }): void {
    if (q.jobs.get(job.id) !== job || job.state !== 'active') return;
    q.active -= 1;
    if (typeof outcome === 'object') {
      if (outcome.retryInMs > 0) this.delay(q, job, outcome.retryInMs);
      else q.enqueue(job);
      return;
    }
    job.state = outcome;
    job.json = undefined;
    const finished = outcome === 'completed' ? q.completed : q.failed;
    const now = Date.now();
    finished.set(job.id, now);
    this.evict(q, finished, this.retention[outcome], now);
  }

  reportError(err: unknown, context: Parameters<NonNullable<QueueDriverOptions['onError']>>[1]): void {
    try {
      this.onError(err, context);
    } catch {
      // An error reporter that throws must not take a job down with it.
    }
  }

  private pump(q: QueueState): void {
    while (q.waitingCount > 0) {
      const consumer = this.nextFreeConsumer(q);
      if (!consumer) return;
      const job = q.dequeue()!;
      job.state = 'active';
      q.active += 1;
      consumer.start(job);
    }
  }

  private nextFreeConsumer(q: QueueState): ConsumerSlot | undefined {
    const n = q.consumers.length;
    for (let i = 0; i < n; i += 1) {
      const consumer = q.consumers[(q.cursor + i) % n]!;
      if (consumer.hasFreeSlot()) {
        q.cursor = (q.cursor + i + 1) % n;
        return consumer;
      }
    }
    return undefined;
  }

  private delay(q: QueueState, job: StoredJob, ms: number): void {
    job.state = 'delayed';
    q.delayed += 1;
    job.timer = setTimeout(() => {
      job.timer = undefined;
      if (q.jobs.get(job.id) !== job || job.state !== 'delayed') return;
      q.delayed -= 1;
      q.enqueue(job);
      this.schedulePump(q);
    }, ms);
    job.timer.unref();
  }

  private forget(q: QueueState, job: StoredJob): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = undefined;
    q.jobs.delete(job.id);
  }

  private evict(q: QueueState, finished: Map<string, number>, policy: RetentionOptions, now: number): void {
    const drop = (id: string) => {
      finished.delete(id);
      q.jobs.delete(id);
    };
    if (policy.count !== undefined) {
      for (const id of finished.keys()) {
        if (finished.size <= policy.count) break;
        drop(id);
      }
    }
    if (policy.ageMs !== undefined) {
      const oldest = now - policy.ageMs;
      for (const [id, at] of finished) {
        if (at >= oldest) break;
        drop(id);
      }
    }
  }

  private state(queue: string): QueueState {
    let q = this.queues.get(queue);
    if (!q) {
      q = new QueueState(queue);
      this.queues.set(queue, q);
    }
    return q;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('queue driver is closed');
  }
}

class MemoryConsumer<T> implements Consumer, ConsumerSlot {
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly driver: MemoryDriver,
    private readonly q: QueueState,
    private readonly handler: Handler<T>,
    private readonly concurrency: number,
    private readonly onFailed: FailedHandler<T> | undefined,
  ) {}

  hasFreeSlot(): boolean {
    return !this.closed && this.running.size < this.concurrency;
  }

  start(job: StoredJob): void {
    const run = this.run(job).finally(() => {
      this.running.delete(run);
      this.driver.schedulePump(this.q);
    });
    this.running.add(run);
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      const i = this.q.consumers.indexOf(this);
      if (i >= 0) this.q.consumers.splice(i, 1);
    }
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async run(stored: StoredJob): Promise<void> {
    const job: Job<T> = {
      id: stored.id,
      queue: this.q.name,
      name: stored.name,
      data: JSON.parse(stored.json!) as T,
      attempt: stored.attemptsMade + 1,
      attempts: stored.attempts,
    };
    try {
      await this.handler(job);
    } catch (err) {
      stored.attemptsMade += 1;
      const final = isFinalFailure(err, job.attempt, job.attempts);
      if (this.onFailed) {
        try {
          await this.onFailed(job, err, final);
        } catch (hookErr) {
          this.driver.reportError(hookErr, { during: 'onFailed', queue: job.queue, jobId: job.id });
        }
      }
      this.driver.settle(this.q, stored, final ? 'failed' : { retryInMs: backoffDelay(job.attempt, stored.backoff) });
      return;
    }
    stored.attemptsMade += 1;
    this.driver.settle(this.q, stored, 'completed');
  }
}

/** Both drivers hand handlers a JSON copy of the data; `undefined` (not JSON) travels as `null`. */
function toJson(data: unknown): string {
  return JSON.stringify(data) ?? 'null';
}
