import type { WriteBackCommand } from '../../src/domain/write-back';
import type { SourceConnector } from '../../src/sync/connector';
import type { MapOutcome } from '../../src/sync/sync';

/**
 * What a connector's test provides so the shared source-connector conformance suite can drive it against its
 * simulated system (CSV folder, SAP Gateway simulator, SOAP server, fake RFC transport …).
 *
 * The simulated system holds open items identified by a document number. Every harness starts empty.
 */
export interface SourceHarness {
  /** The connector under test, configured against the simulated system. */
  connector: SourceConnector;
  /** The compiled mapping the connector's records go through (e.g. `loadCompiledMapping('mappings/x.v1.yaml')`). */
  map: (record: Record<string, string>, ctx: { line?: number }) => MapOutcome;
  /**
   * Puts open items into the simulated system: `n` valid items numbered `from`, `from + 1`, … with document numbers
   * `docNumber(i)`, spread over a few customers, and returns their document numbers.
   */
  seed(from: number, n: number): Promise<string[]>;
  /** Adds one record the mapping must reject (e.g. a bad date or amount) and returns its document number. */
  seedBroken(): Promise<string>;
  /** Changes the open amount of one item so an incremental pull must see it (advance the change date/clock too). */
  touch(documentNumber: string): Promise<void>;
  /**
   * Makes the simulated system fail (5xx, dropped connection, RFC communication error …) on the `nth` data request
   * from now on (1 = the next one), once. Pulls must be paged so that a failure can hit the middle of a pull.
   * Omit it for a connector without requests to fail (a folder of files).
   */
  failOnRequest?(nth: number): Promise<void>;
  /** The write-back the connector supports for the idempotency test. @defaultValue 'payment' */
  writeKind?: 'payment' | 'dunning_level';
  /** The postings/confirmations the simulated system has recorded, as the system sees them. */
  writtenBack(): Promise<{ documentNumber: string; kind: WriteBackCommand['kind']; amountMinor?: number }[]>;
  /** Makes the next write-back time out after the system has applied it (the caller cannot know it succeeded). */
  timeoutAfterApplyingNextWrite?(): Promise<void>;
  close(): Promise<void>;
}

export type HarnessFactory = () => Promise<SourceHarness>;

export const docNumber = (i: number): string => `90${String(i).padStart(8, '0')}`;
