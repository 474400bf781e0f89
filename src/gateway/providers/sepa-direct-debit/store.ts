import type { Remittance, SepaFileSummary } from '../../../cash/pain001';
import type { SequenceType } from '../../../cash/pain008';
import type { CollectionStatus } from './transformers';

/** A SEPA mandate: the debtor's authorisation to collect from this account under our creditor identifier. */
export interface SepaMandate {
  /** `MndtId`, unique per creditor; looked up without regard to case. */
  reference: string;
  creditorId: string;
  debtorName: string;
  iban: string;
  bic?: string;
  /** `DtOfSgntr` (YYYY-MM-DD). */
  signedOn: string;
  /** `recurring` collects FRST then RCUR; `one-off` collects once (OOFF). */
  type: 'recurring' | 'one-off';
  status: 'active' | 'revoked';
  /** Due date of the latest collection not canceled; a mandate lapses 36 months after it. */
  lastCollectionDate?: string;
  createdAt: string;
  debtorId?: string;
}

/** A refund of a collected debit: a credit transfer back to the debtor, written as a pain.001 file. */
export interface SepaRefund {
  refundId: string;
  idempotencyKey: string;
  /** The refund's EndToEndId, also its `providerRefundReference`. */
  reference: string;
  amountMinor: number;
  status: 'pending' | 'succeeded' | 'failed';
  /** MsgId of the pain.001 file that carries it. */
  fileId: string;
  createdAt: string;
}

/** One collection under a mandate; its `reference` is the EndToEndId and our `providerReference`. */
export interface SepaCollection {
  reference: string;
  paymentId: string;
  idempotencyKey: string;
  amountMinor: number;
  currency: 'EUR';
  mandateReference: string;
  sequenceType: SequenceType;
  /** `ReqdColltnDt`: the pre-notified due date, a TARGET2 business day. */
  dueDate: string;
  remittance: Remittance;
  preNotification: string;
  status: CollectionStatus;
  /** MsgId of the pain.008 file it went out in. */
  fileId?: string;
  returnReason?: string;
  refunds: SepaRefund[];
  createdAt: string;
}

/** A file written for the bank; someone (EBICS, the bank's portal) uploads it. */
export interface SepaFile {
  /** The file's MsgId. */
  fileId: string;
  version: string;
  xml: string;
  summary: SepaFileSummary;
  createdAt: string;
}

/**
 * Where the provider keeps its state. Small on purpose: a PostgreSQL implementation (tenant-scoped rows, the file as
 * text) replaces {@link InMemorySepaStore} without touching the provider. Implementations return copies.
 */
export interface SepaDirectDebitStore {
  getMandate(reference: string): Promise<SepaMandate | undefined>;
  saveMandate(mandate: SepaMandate): Promise<void>;
  getCollection(reference: string): Promise<SepaCollection | undefined>;
  saveCollection(collection: SepaCollection): Promise<void>;
  /** Collections by mandate and/or status, in creation order. */
  listCollections(filter: { mandateReference?: string; status?: CollectionStatus }): Promise<SepaCollection[]>;
  saveFile(file: SepaFile): Promise<void>;
  getFile(fileId: string): Promise<SepaFile | undefined>;
}

/** For tests, the demo and a single process; state is lost with the process. */
export class InMemorySepaStore implements SepaDirectDebitStore {
  readonly #mandates = new Map<string, SepaMandate>();
  readonly #collections = new Map<string, SepaCollection>();
  readonly #files = new Map<string, SepaFile>();

  async getMandate(reference: string) {
    const m = this.#mandates.get(reference.toUpperCase());
    return m && structuredClone(m);
  }
  async saveMandate(mandate: SepaMandate) {
    this.#mandates.set(mandate.reference.toUpperCase(), structuredClone(mandate));
  }
  async getCollection(reference: string) {
    const c = this.#collections.get(reference);
    return c && structuredClone(c);
  }
  async saveCollection(collection: SepaCollection) {
    this.#collections.set(collection.reference, structuredClone(collection));
  }
  async listCollections(filter: { mandateReference?: string; status?: CollectionStatus }) {
    const mandate = filter.mandateReference?.toUpperCase();
    return [...this.#collections.values()]
      .filter(
        (c) =>
          (mandate === undefined || c.mandateReference.toUpperCase() === mandate) &&
          (filter.status === undefined || c.status === filter.status),
      )
      .map((c) => structuredClone(c));
  }
  async saveFile(file: SepaFile) {
    this.#files.set(file.fileId, structuredClone(file));
  }
  async getFile(fileId: string) {
    const f = this.#files.get(fileId);
    return f && structuredClone(f);
  }
}
