/**
 * The queue driver conformance suite: every {@link QueueDriver} runs all of it, unchanged.
 *
 * @example
 * ```ts
 * queueConformance('memory', (opts) => new MemoryDriver(opts));
 * ```
 */
import { randomBytes } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { ConnectorError, IntegrationError, IntegrityError } from '../../src/domain/errors';
import type {
  ConsumeOptions,
  Consumer,
  Handler,
  Job,
  QueueDriver,
  QueueDriverOptions,
  QueueErrorContext,
} from '../../src/queue/types';

/** Builds a fresh driver. Drivers built by one factory share nothing with each other's queues unless they must. */
export type QueueDriverFactory = (opts: QueueDriverOptions) => QueueDriver | Promise<QueueDriver>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const FAST_BACKOFF = { baseMs: 10, maxMs: 20 };

export function queueConformance(name: string, factory: QueueDriverFactory): void {
  describe(`queue driver conformance: ${name}`, () => {
    let driver: QueueDriver;
    let opened: QueueDriver | undefined;
    let queue: string;
    let reported: Array<{ err: unknown; context: QueueErrorContext }>;
    const consumers: Consumer[] = [];

    /** Consumers opened by a test are closed after it even when it fails half-way. */
    async function consume<T>(q: string, handler: Handler<T>, opts?: ConsumeOptions<T>): Promise<Consumer> {
      const consumer = await driver.consume<T>(q, handler, opts);
      consumers.push(consumer);
      return consumer;
    }

    beforeEach(async () => {
      reported = [];
      driver = await factory({ onError: (err, context) => reported.push({ err, context }) });
      opened = driver;
      queue = `conformance-${randomBytes(6).toString('hex')}`;
    });

    afterEach(async () => {
      const current = opened;
      opened = undefined;
      if (!current) return; // beforeEach failed: that failure is the one to read
      await Promise.all(consumers.splice(0).map((c) => c.close()));
      try {
        await current.obliterate(queue);
      } finally {
        await current.close();
      }
      // Connection or worker errors nobody awaited would otherwise pass unnoticed.
      expect(reported.filter((r) => r.context.during !== 'onFailed')).toEqual([]);
    });

    test('delivers each job once, with its id, name and a JSON copy of its data', async () => {
      const seen: Job<{ n: number; at?: string }>[] = [];
      await driver.addBulk(
        queue,
        [1, 2, 3, 4, 5].map((n) => ({ name: 'bulk', data: { n }, opts: { jobId: `outbox:${n}` } })),
      );
      const at = new Date('2025-01-31T12:00:00.000Z');
      await driver.add(queue, 'single', { n: 6, at }, { jobId: 'payment:6:capture:1' });
      await consume<{ n: number; at?: string }>(queue, async (job) => {
        seen.push(job);
      });

      await waitFor('6 jobs', () => seen.length >= 6);
      await sleep(100);
      expect(seen).toHaveLength(6);
      expect(seen.map((j) => j.id).sort()).toEqual([
        'outbox:1',
        'outbox:2',
        'outbox:3',
        'outbox:4',
        'outbox:5',
        'payment:6:capture:1',
      ]);
      const single = seen.find((j) => j.id === 'payment:6:capture:1')!;
      expect(single).toMatchObject({ queue, name: 'single', data: { n: 6, at: '2025-01-31T12:00:00.000Z' } });
      expect(seen.every((j) => j.attempt === 1 && j.attempts === 1)).toBe(true);
      expect(seen.find((j) => j.id === 'outbox:3')).toMatchObject({ name: 'bulk', data: { n: 3 } });
      await waitFor('counts', async () => (await driver.counts(queue)).completed === 6);
      expect(await driver.counts(queue)).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 6, failed: 0 });
    });

    test('adds a job id only once while the queue knows it, even when added concurrently', async () => {
      expect(await driver.add(queue, 'w', { v: 'first' }, { jobId: 'outbox:a' })).toEqual({ added: true });
      expect(await driver.add(queue, 'w', { v: 'second' }, { jobId: 'outbox:a' })).toEqual({ added: false });

      const racing = await Promise.all(
        Array.from({ length: 5 }, (_, i) => driver.add(queue, 'w', { v: `race-${i}` }, { jobId: 'outbox:b' })),
      );
      expect(racing.filter((r) => r.added)).toHaveLength(1);

      const bulk = await driver.addBulk(queue, [
        { name: 'w', data: { v: 'c' }, opts: { jobId: 'outbox:c' } },
        { name: 'w', data: { v: 'c again' }, opts: { jobId: 'outbox:c' } },
        { name: 'w', data: { v: 'a again' }, opts: { jobId: 'outbox:a' } },
      ]);
      expect(bulk).toEqual([{ added: true }, { added: false }, { added: false }]);
      expect((await driver.counts(queue)).waiting).toBe(3);

      const seen: Job<{ v: string }>[] = [];
      await consume<{ v: string }>(queue, async (job) => {
        seen.push(job);
      });
      await waitFor('3 jobs', () => seen.length >= 3);
      expect(seen.find((j) => j.id === 'outbox:a')?.data).toEqual({ v: 'first' });

      // A completed job is still known (retention), so adding it again is a no-op.
      expect(await driver.add(queue, 'w', { v: 'third' }, { jobId: 'outbox:a' })).toEqual({ added: false });
      await sleep(100);
      expect(seen).toHaveLength(3);
    });

    test('forgets finished jobs as retention says, so their ids can be added again', async () => {
      const own = await factory({
        retention: { completed: { count: 1 }, failed: { count: 0 } },
        onError: (err, context) => reported.push({ err, context }),
      });
      try {
        const ran: string[] = [];
        const consumer = await own.consume<{ fail?: boolean }>(queue, async (job) => {
          ran.push(job.id);
          if (job.data.fail) throw new IntegrationError('bad input', 'amount');
        });
        const completed = async (n: number) => (await own.counts(queue)).completed === n;

        await own.add(queue, 'w', {}, { jobId: 'item:a' });
        await waitFor('a completed', () => completed(1));
        await sleep(5);
        await own.add(queue, 'w', {}, { jobId: 'item:b' });
        await waitFor('b ran', () => ran.includes('item:b'));
        await waitFor('b completed, a evicted', async () => (await own.counts(queue)).active === 0);
        expect((await own.counts(queue)).completed).toBe(1);
        expect(await own.add(queue, 'w', {}, { jobId: 'item:b' })).toEqual({ added: false });
        expect(await own.add(queue, 'w', {}, { jobId: 'item:a' })).toEqual({ added: true });
        await waitFor('a ran twice', () => ran.filter((id) => id === 'item:a').length === 2);

        await own.add(queue, 'w', { fail: true }, { jobId: 'item:f' });
        await waitFor('f ran', () => ran.includes('item:f'));
        await waitFor('f settled', async () => (await own.counts(queue)).active === 0);
        expect((await own.counts(queue)).failed).toBe(0);
        expect(await own.add(queue, 'w', { fail: true }, { jobId: 'item:f' })).toEqual({ added: true });
        await waitFor('f ran twice', () => ran.filter((id) => id === 'item:f').length === 2);
        await consumer.close();
      } finally {
        await own.obliterate(queue);
        await own.close();
      }
    });

    test('retries a failing job with increasing attempt numbers until it succeeds', async () => {
      const attempts: number[] = [];
      const failures: Array<[number, boolean]> = [];
      await driver.add(queue, 'w', {}, { jobId: 'outbox:retry', attempts: 5, backoff: FAST_BACKOFF });
      await consume(
        queue,
        async (job) => {
          attempts.push(job.attempt);
          expect(job.attempts).toBe(5);
          if (job.attempt < 3) throw new ConnectorError('503 from SAP gateway');
        },
        { onFailed: (job, _err, final) => void failures.push([job.attempt, final]) },
      );

      await waitFor('completion', async () => (await driver.counts(queue)).completed === 1);
      expect(attempts).toEqual([1, 2, 3]);
      expect(failures).toEqual([
        [1, false],
        [2, false],
      ]);
      expect(await driver.counts(queue)).toMatchObject({ failed: 0, delayed: 0, waiting: 0 });
    });

    test.each([
      ['IntegrationError', () => new IntegrationError('unknown company code', 'companyCode')],
      ['IntegrityError', () => new IntegrityError('echoed amount 1000 differs from 100')],
      ['UnrecoverableError', () => new UnrecoverableError('retry cannot help')],
    ])('does not retry a %s and calls onFailed(final) once', async (_name, makeError) => {
      const error = makeError();
      let runs = 0;
      const failures: Array<{ err: unknown; final: boolean; attempt: number }> = [];
      await driver.add(queue, 'w', {}, { jobId: 'outbox:bad', attempts: 5, backoff: FAST_BACKOFF });
      await consume(
        queue,
        async () => {
          runs += 1;
          throw error;
        },
        { onFailed: (job, err, final) => void failures.push({ err, final, attempt: job.attempt }) },
      );

      await waitFor('failure', async () => (await driver.counts(queue)).failed === 1);
      await sleep(150);
      expect(runs).toBe(1);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toEqual({ err: error, final: true, attempt: 1 });
      expect(await driver.counts(queue)).toMatchObject({ failed: 1, completed: 0, delayed: 0, waiting: 0 });
    });

    test('fails a job for good after its last attempt and calls onFailed(final) exactly once', async () => {
      const attempts: number[] = [];
      const failures: Array<[number, boolean]> = [];
      await driver.add(queue, 'w', {}, { jobId: 'outbox:down', attempts: 3, backoff: FAST_BACKOFF });
      await consume(
        queue,
        async (job) => {
          attempts.push(job.attempt);
          throw new ConnectorError('timeout', { indeterminate: true });
        },
        { onFailed: (job, _err, final) => void failures.push([job.attempt, final]) },
      );

      await waitFor('final failure', async () => (await driver.counts(queue)).failed === 1);
      await sleep(150);
      expect(attempts).toEqual([1, 2, 3]);
      expect(failures).toEqual([
        [1, false],
        [2, false],
        [3, true],
      ]);
      expect(await driver.counts(queue)).toMatchObject({ failed: 1, completed: 0, delayed: 0, waiting: 0 });
    });

    test('reports a rejecting onFailed to onError and still fails the job', async () => {
      await driver.add(queue, 'w', {}, { jobId: 'outbox:hook' });
      await consume(
        queue,
        async () => {
          throw new IntegrationError('bad', 'x');
        },
        {
          onFailed: async () => {
            throw new Error('dead-letter table unavailable');
          },
        },
      );
      await waitFor('failure', async () => (await driver.counts(queue)).failed === 1);
      await waitFor('report', () => reported.some((r) => r.context.during === 'onFailed'));
      expect(reported.find((r) => r.context.during === 'onFailed')?.context).toEqual({
        during: 'onFailed',
        queue,
        jobId: 'outbox:hook',
      });
    });

    test('waits the backoff before a retry while later jobs run', async () => {
      // Full jitter draws from [0, cap]; pin the draw to the top so the wait is observable.
      const random = jest.spyOn(Math, 'random').mockReturnValue(0.999999);
      try {
        const events: string[] = [];
        let failedAt = 0;
        let retriedAt = 0;
        await driver.add(queue, 'w', {}, { jobId: 'job:slow', attempts: 2, backoff: { baseMs: 300, maxMs: 300 } });
        await consume(queue, async (job) => {
          events.push(`${job.id}#${job.attempt}`);
          if (job.id === 'job:slow' && job.attempt === 1) {
            failedAt = Date.now();
            throw new ConnectorError('502');
          }
          if (job.id === 'job:slow') retriedAt = Date.now();
        });
        await waitFor('retry to be delayed', async () => (await driver.counts(queue)).delayed === 1);
        await driver.add(queue, 'w', {}, { jobId: 'job:other' });

        await waitFor('retry', () => retriedAt > 0);
        expect(events).toEqual(['job:slow#1', 'job:other#1', 'job:slow#2']);
        expect(retriedAt - failedAt).toBeGreaterThanOrEqual(250);
      } finally {
        random.mockRestore();
      }
    });

    test('holds a job back for delayMs before its first attempt', async () => {
      let startedAt = 0;
      await consume(queue, async () => {
        startedAt = Date.now();
      });
      const addedAt = Date.now();
      await driver.add(queue, 'w', {}, { jobId: 'job:later', delayMs: 200 });
      expect((await driver.counts(queue)).delayed).toBe(1);
      await waitFor('start', () => startedAt > 0);
      expect(startedAt - addedAt).toBeGreaterThanOrEqual(180);
    });

    test('never runs more jobs at once than its concurrency', async () => {
      let running = 0;
      let peak = 0;
      let done = 0;
      await driver.addBulk(
        queue,
        Array.from({ length: 10 }, (_, i) => ({ name: 'w', data: {}, opts: { jobId: `job:${i}` } })),
      );
      await consume(
        queue,
        async () => {
          running += 1;
          peak = Math.max(peak, running);
          await sleep(40);
          running -= 1;
          done += 1;
        },
        { concurrency: 3 },
      );
      await waitFor('10 jobs', () => done === 10);
      expect(peak).toBe(3);
    });

    test('close waits for the active job, then takes no more jobs', async () => {
      const started = deferred();
      const ran: string[] = [];
      let finished = false;
      await driver.add(queue, 'w', {}, { jobId: 'job:long' });
      const consumer = await consume(queue, async (job) => {
        ran.push(job.id);
        started.resolve();
        await sleep(200);
        finished = true;
      });
      await started.promise;
      await consumer.close();
      expect(finished).toBe(true);
      await waitFor('completion recorded', async () => (await driver.counts(queue)).completed === 1);

      await driver.add(queue, 'w', {}, { jobId: 'job:after-close' });
      await sleep(150);
      expect(ran).toEqual(['job:long']);
      expect((await driver.counts(queue)).waiting).toBe(1);
    });

    test('two consumers on one queue never run the same job twice', async () => {
      const runs: Array<{ consumer: string; id: string }> = [];
      const handler = (consumer: string) => async (job: Job<unknown>) => {
        runs.push({ consumer, id: job.id });
        await sleep(Math.floor(Math.random() * 10));
      };
      await consume(queue, handler('A'), { concurrency: 4 });
      await consume(queue, handler('B'), { concurrency: 4 });
      await driver.addBulk(
        queue,
        Array.from({ length: 60 }, (_, i) => ({ name: 'w', data: { i }, opts: { jobId: `outbox:${i}` } })),
      );

      await waitFor('60 runs', () => runs.length >= 60);
      await sleep(150);
      expect(runs).toHaveLength(60);
      expect(new Set(runs.map((r) => r.id)).size).toBe(60);
      expect(runs.some((r) => r.consumer === 'A')).toBe(true);
      expect(runs.some((r) => r.consumer === 'B')).toBe(true);
    });

    test('drain removes waiting and delayed jobs and forgets their ids', async () => {
      await driver.add(queue, 'w', {}, { jobId: 'job:1' });
      await driver.add(queue, 'w', {}, { jobId: 'job:2' });
      await driver.add(queue, 'w', {}, { jobId: 'job:3', delayMs: 60_000 });
      expect(await driver.counts(queue)).toMatchObject({ waiting: 2, delayed: 1 });
      await driver.drain(queue);
      expect(await driver.counts(queue)).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
      expect(await driver.add(queue, 'w', {}, { jobId: 'job:1' })).toEqual({ added: true });
    });

    test('rejects invalid queue names, job ids and options with IntegrationError', async () => {
      const invalid: Array<[string, () => Promise<unknown>]> = [
        ['queue', () => driver.add('a:b', 'w', {}, { jobId: 'x:1' })],
        ['opts.jobId', () => driver.add(queue, 'w', {}, { jobId: '' })],
        ['opts.jobId', () => driver.add(queue, 'w', {}, { jobId: '42' })],
        ['opts.attempts', () => driver.add(queue, 'w', {}, { jobId: 'x:1', attempts: 0 })],
        ['opts.backoff.baseMs', () => driver.add(queue, 'w', {}, { jobId: 'x:1', backoff: { baseMs: -1, maxMs: 1 } })],
        ['opts.delayMs', () => driver.add(queue, 'w', {}, { jobId: 'x:1', delayMs: Number.NaN })],
        ['opts.concurrency', () => driver.consume(queue, async () => {}, { concurrency: 0 })],
      ];
      for (const [field, call] of invalid) {
        await expect(call()).rejects.toMatchObject({ name: 'IntegrationError', field });
      }
      expect(await driver.counts(queue)).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
    });
  });
}
