import type { z } from 'zod';
import { IntegrationError } from '../domain/errors';
/**
 * The contract between sync/routing and a source system (DESIGN §5). Every connector kind (`connectors/<kind>/`)
 * implements {@link SourceConnector}; sync pulls batches from it, routing delivers write-backs to it.
 */
import type { WriteBackCommand, WriteBackResult } from '../domain/write-back';

/**
 * Where a pull got to, as an opaque string only the connector that produced it understands (a file list with sizes
 * for CSV, a delta token or `$skip` position for OData). Sync stores it with the batch in the same transaction and
 * hands it back as `since` on the next pull.
 */
export type Checkpoint = string;

/** One record as the source delivered it, with where it came from. */
export interface RawRecord {
  /** Field (column, property) name to text, untyped: the mapping parses it. */
  record: Record<string, string>;
  /** The file or entity set the record came from, for the quarantine entry. */
  file: string;
  /** 1-based position in `file`: the physical line the record starts on for text files, the record index otherwise. */
  line: number;
  /**
   * Set when the record could not be read as a record at all (wrong column count, broken quoting). Sync quarantines
   * such a record with this reason, `file` and `line`, without mapping it; `record` then holds what could be read.
   */
  error?: string;
}

/** A slice of a pull: records plus the checkpoint that is valid once these records are stored. */
export interface RawBatch {
  records: RawRecord[];
  /**
   * Valid after every record of this batch (and of all earlier batches) is stored. A batch may have no records and
   * only move the checkpoint (e.g. the last batch of a pull that skipped unchanged files).
   */
  checkpoint: Checkpoint;
}

/** Options of {@link SourceConnector.pull}. */
export interface PullOptions {
  /**
   * The checkpoint of the last stored batch of an earlier pull. Without it the connector reads everything, which is
   * always safe: re-importing a record is idempotent upstream.
   * @defaultValue undefined (full read)
   */
  since?: Checkpoint;
  /** Aborts the pull; the iterator then throws the signal's reason and releases files and connections. */
  signal: AbortSignal;
}

/** Per-call context of a mutating call. */
export interface WriteBackContext {
  /**
   * Built from business ids (`outbox:<id>`), the same key as the queue's jobId. Delivering a command twice with one
   * key must leave one effect in the source and report `duplicate` the second time.
   */
  idempotencyKey: string;
}

/** One line of a health report. */
export interface HealthCheck {
  /** Short id, e.g. `inbound`, `outbound`, `auth`. */
  name: string;
  ok: boolean;
  /** What was found, for people: a count, a path, an error message. Never a secret. */
  detail: string;
}

/** Result of {@link SourceConnector.check}: `ok` when every check is ok. */
export interface HealthReport {
  ok: boolean;
  checks: HealthCheck[];
}

/**
 * A source system: pull records out, write changes back, report health.
 *
 * Errors follow DESIGN §3: an `IntegrationError` when the configuration is wrong (never retried), a `ConnectorError`
 * for transport trouble (retried); a write-back whose outcome is unknown is `indeterminate`, never a failure.
 *
 * @example
 * ```ts
 * for await (const batch of connector.pull({ since: saved, signal })) {
 *   await store.transaction(async (tx) => { ingest(tx, batch.records.map(map)); saveCheckpoint(tx, batch.checkpoint); });
 * }
 * ```
 */
export interface SourceConnector {
  /** Connector kind: `csv`, `sap-odata`, `sap-rfc`, `sap-soap`, `soap`. */
  readonly kind: string;
  /**
   * Streams the source's records in batches. Records that cannot be read are yielded with `error` (see
   * {@link RawRecord.error}), so one bad record never stops a pull.
   */
  pull(opts: PullOptions): AsyncIterable<RawBatch>;
  /**
   * Delivers one command to the source, idempotently per `ctx.idempotencyKey`.
   * @returns `delivered`, or `duplicate` when this key was already delivered (nothing was written again).
   */
  writeBack(command: WriteBackCommand, ctx: WriteBackContext): Promise<WriteBackResult>;
  /** Reachability, authentication and permissions, without changing anything in the source. */
  check(): Promise<HealthReport>;
  /**
   * Items the source has cleared since the checkpoint (its own clearing, not ours), for a source that can say so:
   * sync closes them with the clearing document as evidence. A record that merely vanished is never closed.
   */
  cleared?(opts: PullOptions): AsyncIterable<ClearedBatch>;
  /** Releases connections and pools (an RFC pool, keep-alive sockets). Optional. */
  close?(): Promise<void>;
}

/** Items a source reports cleared, with what proves it (e.g. SAP's clearing document). */
export interface ClearedBatch {
  items: { sourceKey: string; evidence: string; clearedOn?: string }[];
  checkpoint: Checkpoint;
}

/**
 * Validates a connector's options with its zod schema (options from a tenant file were checked with file positions
 * already; this is for options built in code). Every problem is named with its path.
 * @throws IntegrationError `invalid <kind> connector options: path: message; …`
 */
export function parseConnectorOptions<S extends z.ZodType>(kind: string, schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new IntegrationError(`invalid ${kind} connector options: ${problems.join('; ')}`, 'options');
  }
  return r.data;
}
