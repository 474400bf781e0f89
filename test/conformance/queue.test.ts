import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { BullmqDriver, decodeJobId, encodeJobId } from '../../src/queue/bullmq';
import { createQueue } from '../../src/queue/index';
import { MemoryDriver } from '../../src/queue/memory';
import { backoffDelay } from '../../src/queue/types';
import { queueConformance } from './queue.conformance';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

queueConformance('memory', (opts) => new MemoryDriver(opts));

describe(`bullmq on ${REDIS_URL}`, () => {
  const prefixes: string[] = [];

  // CI starts Redis: when it is down these tests fail (they never skip).
  beforeAll(async () => {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, retryStrategy: () => null });
    let cause: unknown;
    redis.on('error', (err) => {
      cause = err;
    });
    try {
      await redis.connect();
      await redis.ping();
    } catch (err) {
      const reason = ((cause ?? err) as Error).message;
      throw new Error(`Redis is not reachable at ${REDIS_URL} (${reason}); start it or set REDIS_URL`);
    } finally {
      redis.disconnect();
    }
  });

  afterAll(async () => {
    if (prefixes.length === 0) return;
    const redis = new Redis(REDIS_URL);
    try {
      for (const prefix of prefixes) {
        const keys = await redis.keys(`${prefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
      }
    } finally {
      await redis.quit();
    }
  });

  queueConformance('bullmq', (opts) => {
    const prefix = `clearhub-test-${randomBytes(4).toString('hex')}`;
    prefixes.push(prefix);
    return new BullmqDriver({ ...opts, redisUrl: REDIS_URL, prefix });
  });
});

describe('backoffDelay', () => {
  const backoff = { baseMs: 100, maxMs: 1000 };

  test('draws from [0, baseMs * 2^(attempt-1)], capped at maxMs', () => {
    expect(backoffDelay(1, backoff, () => 0)).toBe(0);
    expect(backoffDelay(1, backoff, () => 0.999999)).toBe(100);
    expect(backoffDelay(3, backoff, () => 0.999999)).toBe(400);
    expect(backoffDelay(5, backoff, () => 0.999999)).toBe(1000);
    expect(backoffDelay(30, backoff, () => 0.999999)).toBe(1000);
    expect(backoffDelay(3, backoff, () => 0.5)).toBe(200);
  });

  test('spreads draws over the whole range', () => {
    const draws = Array.from({ length: 2000 }, () => backoffDelay(2, backoff));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThanOrEqual(200);
    expect(draws.filter((d) => d < 50).length).toBeGreaterThan(300);
    expect(draws.filter((d) => d > 150).length).toBeGreaterThan(300);
  });
});

describe('BullMQ job ids', () => {
  test('escape colons reversibly, as BullMQ refuses them', () => {
    for (const id of ['outbox:42', 'payment:7:capture:1', '%3A', 'a%25b:c', 'plain']) {
      expect(encodeJobId(id)).not.toContain(':');
      expect(decodeJobId(encodeJobId(id))).toBe(id);
    }
    expect(encodeJobId('outbox:42')).toBe('outbox%3A42');
  });
});

describe('createQueue', () => {
  test('chooses BullMQ when a Redis URL is given, else the memory driver', async () => {
    const memory = createQueue({});
    const bullmq = createQueue({ redisUrl: REDIS_URL, prefix: `clearhub-test-${randomBytes(4).toString('hex')}` });
    try {
      expect(memory.kind).toBe('memory');
      expect(bullmq.kind).toBe('bullmq');
    } finally {
      await memory.close();
      await bullmq.close();
    }
  });
});
