import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConnectorError } from '../../src/domain/errors';
import { BullmqDriver } from '../../src/queue/bullmq';
import { listOutbox } from '../../src/routing/outbox';
import { relayAll, startWriteBackWorker, sweepStale, WRITEBACK_QUEUE } from '../../src/routing/relay';
import { openStore, type Store } from '../../src/store';
import { freshPostgres } from '../helpers/stores';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const TENANT = 'acme';
const COMMAND = { kind: 'payment', itemId: 'I-1', amountMinor: 1000, currency: 'EUR' };

/** Write-backs on PostgreSQL and BullMQ, driven the way `clearhub worker` drives them. */
describe('write-back delivery on PostgreSQL + Redis', () => {
  let store: Store;
  let drop: () => Promise<void>;
  let queue: BullmqDriver;
  let prefix: string;

  beforeEach(async () => {
    const db = await freshPostgres();
    drop = db.drop;
    store = await openStore(db.url);
    await store.migrate();
    prefix = `clearhub-test-${randomBytes(5).toString('hex')}`;
    queue = new BullmqDriver({ redisUrl: REDIS_URL, prefix });
  });

  afterEach(async () => {
    await queue.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await store.close();
    await drop();
  });

  const insertRows = async (ids: string[], status: 'pending' | 'enqueued', enqueuedAt: string | null = null) => {
    for (let i = 0; i < ids.length; i += 500) {
      await store.db
        .insertInto('outbox')
        .values(
          ids.slice(i, i + 500).map((id) => ({
            tenant_id: TENANT,
            outbox_id: id,
            source: 'erp',
            kind: 'payment',
            item_id: 'I-1',
            command: JSON.stringify(COMMAND),
            status,
            enqueued_at: enqueuedAt,
          })),
        )
        .execute();
    }
  };

  test('a dead letter keeps its last error but not the password or IBAN the connector quoted', async () => {
    await insertRows(['pay-1'], 'pending');
    await relayAll(store, queue, { attempts: 2, backoffBaseMs: 1, backoffMaxMs: 1 });
    let dead = 0;
    const consumer = await startWriteBackWorker(
      store,
      queue,
      async () => ({
        writeBack: async () => {
          throw new ConnectorError(
            'POST https://clearhub:Hunter2-Secret@erp.example.com/api/clearing answered 503 for DE89 3704 0044 0532 0130 00',
          );
        },
      }),
      { onDeadLetter: () => dead++ },
    );
    for (let i = 0; i < 500 && dead === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await consumer.close();

    const [row] = await listOutbox(store.db, { status: 'dead' });
    expect(row).toMatchObject({ outboxId: 'pay-1', attempts: 2 });
    expect(row!.lastError).toContain('503'); // the operator still sees why
    expect(row!.lastError).toContain('erp.example.com/api/clearing');
    expect(row!.lastError).not.toContain('Hunter2-Secret');
    expect(row!.lastError).not.toMatch(/DE89 ?3704 ?0044 ?0532 ?0130 ?00/);
    const events = await store.db
      .selectFrom('events')
      .select('payload')
      .where('type', '=', 'writeback.dead_lettered')
      .execute();
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0]!.payload)).not.toContain('Hunter2-Secret');
    expect(JSON.stringify(events[0]!.payload)).not.toContain('DE89370400440532013000');
  });

  test('the sweep finds a lost job behind a thousand jobs that are still waiting', async () => {
    const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();
    // A long backlog: 1200 rows enqueued an hour ago whose jobs are still waiting in Redis.
    const waiting = Array.from({ length: 1200 }, (_, i) => `pay-${String(i).padStart(4, '0')}`);
    await insertRows(waiting, 'enqueued', anHourAgo);
    await queue.addBulk(
      WRITEBACK_QUEUE,
      waiting.map((id) => ({
        name: 'payment',
        data: { tenantId: TENANT, outboxId: id },
        opts: { jobId: `outbox-${id}` },
      })),
    );
    // And one whose job Redis lost.
    await insertRows(['pay-lost'], 'enqueued', anHourAgo);

    expect(await sweepStale(store, queue, 10 * 60_000)).toBe(1);
    expect((await queue.counts(WRITEBACK_QUEUE)).waiting).toBe(1201);
  });
});
