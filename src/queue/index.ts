/**
 * The queue room: one {@link QueueDriver} interface, two drivers. See README.md in this folder.
 */
import { BullmqDriver } from './bullmq';
import { MemoryDriver } from './memory';
import type { QueueDriver, QueueDriverOptions } from './types';

export { UnrecoverableError } from 'bullmq';
export { BullmqDriver, type BullmqDriverOptions } from './bullmq';
export { MemoryDriver } from './memory';
export * from './types';

/** Options of {@link createQueue}. */
export interface CreateQueueOptions extends QueueDriverOptions {
  /**
   * Redis to run BullMQ on, e.g. `redis://127.0.0.1:6379`. Unset or empty: the in-process memory driver.
   */
  redisUrl?: string;
  /**
   * Redis key prefix of the BullMQ driver (ignored by the memory driver).
   * @defaultValue `'clearhub'`
   */
  prefix?: string;
  /** BullMQ only: see {@link BullmqDriverOptions.lockDurationMs}. */
  lockDurationMs?: number;
}

/**
 * Creates the queue driver: BullMQ when a Redis URL is given, else the in-process driver.
 *
 * @example
 * ```ts
 * const queue = createQueue({ redisUrl: process.env.REDIS_URL });
 * ```
 */
export function createQueue(opts: CreateQueueOptions = {}): QueueDriver {
  const { redisUrl, ...rest } = opts;
  if (redisUrl) return new BullmqDriver({ ...rest, redisUrl });
  return new MemoryDriver(rest);
}
