/**
 * Group commit of webhook deliveries (DESIGN §6). Deliveries verified in the same turn of the event loop are written
 * together: one statement inserts every delivery and upserts every event (new ones inserted, repeats counted), and
 * its implicit transaction commits them all at once, so a burst of N deliveries costs one round trip and one WAL
 * flush instead of N transactions of four statements each. Each caller's promise settles only after that commit, so a
 * delivery is still answered 2xx only once it and its events are durable.
 *
 * No delivery waits for a timer: the first one schedules a flush for the end of the current turn (`setImmediate`),
 * and whatever arrived by then goes along; while `maxInFlight` flushes are running, new arrivals wait for the next
 * one. A batch that fails (a delivery PostgreSQL refuses, say a NUL byte in the body, or a deadlock) is retried one
 * delivery at a time, so one bad delivery never fails the others it happened to share a statement with.
 */
import { sql } from 'kysely';
import type { Store } from '../store/db';
import type { WebhookEvent } from './providers/types';

/** One verified delivery to store. */
export interface IntakeDelivery {
  deliveryId: string;
  tenantId: string;
  provider: string;
  /** The (redacted) request headers as JSON text. */
  headers: string;
  /** The raw body as received. */
  body: string;
  events: WebhookEvent[];
}

/** What happens after the commit to the events of one delivery that were not stored before. */
export type FreshHandler = (fresh: { tenantId: string; provider: string; events: WebhookEvent[] }[]) => Promise<void>;

export interface GroupCommitOptions {
  /**
   * Most deliveries written by one statement.
   * @defaultValue 64
   */
  maxBatch?: number;
  /**
   * Statements running at the same time, each on its own pooled connection; arrivals beyond them wait for the next
   * flush. Measured on the gateway bench, 2–16 did about equally well and 1 (strict alternation) worst; 4 leaves most
   * of the store's pool (10) to the rest of the server.
   * @defaultValue 4
   */
  maxInFlight?: number;
}

interface Pending {
  delivery: IntakeDelivery;
  /** Called once the batch is committed (the fresh events of every delivery of the batch that use the same hook). */
  onFresh: FreshHandler | undefined;
  resolve(fresh: WebhookEvent[]): void;
  reject(err: unknown): void;
}

/** Writes deliveries in batches; see the file comment. One per store ({@link groupCommitFor}). */
export class WebhookGroupCommit {
  private pending: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;

  constructor(
    private readonly store: Store,
    opts: GroupCommitOptions = {},
  ) {
    this.maxBatch = Math.max(1, opts.maxBatch ?? 64);
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 4);
  }

  /**
   * Stores one delivery with the next batch; resolves after the commit (and after `onFresh` ran for the batch) with
   * the events of this delivery that were new. An event repeated within one batch is new for its first delivery.
   */
  submit(delivery: IntakeDelivery, onFresh?: FreshHandler): Promise<WebhookEvent[]> {
    return new Promise<WebhookEvent[]>((resolve, reject) => {
      this.pending.push({ delivery, onFresh, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.pending.length > 0 && this.inFlight < this.maxInFlight) {
        const batch = this.pending.length <= this.maxBatch ? this.pending : this.pending.slice(0, this.maxBatch);
        this.pending = batch === this.pending ? [] : this.pending.slice(this.maxBatch);
        this.inFlight++;
        void this.flush(batch).finally(() => {
          this.inFlight--;
          this.schedule();
        });
      }
    });
  }

  private async flush(batch: Pending[]): Promise<void> {
    let fresh: WebhookEvent[][];
    try {
      fresh = await insertDeliveries(
        this.store,
        batch.map((p) => p.delivery),
      );
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // Find the delivery the database refused: each on its own; the others are stored as usual.
      await Promise.all(batch.map((p) => this.flush([p])));
      return;
    }
    // The batch is committed: hand its fresh events on (one call per hook), then answer.
    const hooks = new Map<FreshHandler, number[]>();
    batch.forEach((p, i) => {
      if (!p.onFresh || fresh[i]!.length === 0) return;
      const list = hooks.get(p.onFresh);
      if (list) list.push(i);
      else hooks.set(p.onFresh, [i]);
    });
    const failed = new Map<number, unknown>();
    await Promise.all(
      [...hooks].map(async ([hook, idx]) => {
        try {
          await hook(idx.map((i) => ({ ...tenantProvider(batch[i]!.delivery), events: fresh[i]! })));
        } catch (err) {
          for (const i of idx) failed.set(i, err);
        }
      }),
    );
    batch.forEach((p, i) => {
      if (failed.has(i)) p.reject(failed.get(i));
      else p.resolve(fresh[i]!);
    });
  }
}

const tenantProvider = (d: IntakeDelivery) => ({ tenantId: d.tenantId, provider: d.provider });

const groupCommits = new WeakMap<Store, WebhookGroupCommit>();

/** The group commit of a store, created on first use. */
export function groupCommitFor(store: Store, opts?: GroupCommitOptions): WebhookGroupCommit {
  let gc = groupCommits.get(store);
  if (!gc) {
    gc = new WebhookGroupCommit(store, opts);
    groupCommits.set(store, gc);
  }
  return gc;
}

/**
 * One statement for a batch: the deliveries, and their events upserted by (tenant, provider, event id) — a new event
 * is inserted, a repeat only counts one more delivery — by the `webhook_intake` function (migration 0011), whose two
 * parameters are JSON arrays. Returns, per delivery, its events that were new. Events are written in key order (two
 * batches running at once take their row locks in the same order), and an event that occurs more than once in the
 * batch is written once with its count (an upsert cannot touch a row twice).
 */
export async function insertDeliveries(store: Store, deliveries: readonly IntakeDelivery[]): Promise<WebhookEvent[][]> {
  const byKey = new Map<string, { d: number; e: WebhookEvent; count: number }>();
  deliveries.forEach((d, i) => {
    for (const e of d.events) {
      const key = `${d.tenantId}\u0000${d.provider}\u0000${e.eventId}`;
      const seen = byKey.get(key);
      if (seen) seen.count++;
      else byKey.set(key, { d: i, e, count: 1 });
    }
  });
  const q = JSON.stringify;
  // Built as text: `headers` is JSON already, and one pass of JSON.stringify per string is all the escaping needed.
  const stored = deliveries.map(
    (d) =>
      `{"id":${q(d.deliveryId)},"tenant":${q(d.tenantId)},"provider":${q(d.provider)},"headers":${d.headers},"body":${q(d.body)}}`,
  );
  const rows = [...byKey.keys()].sort().map((key) => {
    const { d, e, count } = byKey.get(key)!;
    const { tenantId, provider, deliveryId } = deliveries[d]!;
    return `{"tenant":${q(tenantId)},"provider":${q(provider)},"id":${q(e.eventId)},"delivery":${q(deliveryId)},"type":${q(e.type)},"event":${q(e)},"n":${count}}`;
  });
  const result = await sql<{
    out_tenant_id: string;
    out_provider: string;
    out_event_id: string;
    out_inserted: boolean;
  }>`
    SELECT * FROM webhook_intake(${`[${stored.join(',')}]`}::json, ${`[${rows.join(',')}]`}::json)
  `.execute(store.db);
  const inserted = new Set<string>();
  for (const r of result.rows) {
    if (r.out_inserted) inserted.add(`${r.out_tenant_id}\u0000${r.out_provider}\u0000${r.out_event_id}`);
  }
  return deliveries.map((d, i) =>
    d.events.filter((e) => {
      const key = `${d.tenantId}\u0000${d.provider}\u0000${e.eventId}`;
      return inserted.has(key) && byKey.get(key)!.d === i && byKey.get(key)!.e === e;
    }),
  );
}
