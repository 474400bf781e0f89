/**
 * Durable state of our own providers in the `provider_records` table: the SEPA direct-debit store (mandates,
 * collections, files), and the bank-transfer and invoice payables. One table of typed JSON records keyed by
 * (tenant, provider, kind, key), with the payment id, a parent key and a status as columns for the lookups the
 * providers make. Every process of an installation sees the same records.
 */
import type { Store } from '../store/db';
import type { BankTransferRecord, BankTransferStore } from './providers/bank-transfer/provider';
import type { InvoicePaymentRecord, InvoiceStore } from './providers/invoice/provider';
import type { SepaCollection, SepaDirectDebitStore, SepaFile, SepaMandate } from './providers/sepa-direct-debit/store';
import type { CollectionStatus } from './providers/sepa-direct-debit/transformers';

class RecordTable<T> {
  constructor(
    private readonly store: Store,
    private readonly tenantId: string,
    private readonly provider: string,
    private readonly kind: string,
  ) {}

  private base() {
    return this.store.db
      .selectFrom('provider_records')
      .select('record')
      .where('tenant_id', '=', this.tenantId)
      .where('provider', '=', this.provider)
      .where('kind', '=', this.kind);
  }

  async get(key: string): Promise<T | undefined> {
    const r = await this.base().where('key', '=', key).executeTakeFirst();
    return r?.record as T | undefined;
  }

  async byPayment(paymentId: string): Promise<T | undefined> {
    const r = await this.base().where('payment_id', '=', paymentId).orderBy('created_at').executeTakeFirst();
    return r?.record as T | undefined;
  }

  async list(filter: { parent?: string; status?: string }): Promise<T[]> {
    let q = this.base();
    if (filter.parent !== undefined) q = q.where('parent', '=', filter.parent);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    return (await q.orderBy('created_at').orderBy('key').execute()).map((r) => r.record as T);
  }

  async put(key: string, record: T, cols: { paymentId?: string; parent?: string; status?: string } = {}) {
    const json = JSON.stringify(record);
    const now = new Date().toISOString();
    await this.store.db
      .insertInto('provider_records')
      .values({
        tenant_id: this.tenantId,
        provider: this.provider,
        kind: this.kind,
        key,
        payment_id: cols.paymentId ?? null,
        parent: cols.parent ?? null,
        status: cols.status ?? null,
        record: json,
      })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'provider', 'kind', 'key']).doUpdateSet({
          record: json,
          payment_id: cols.paymentId ?? null,
          parent: cols.parent ?? null,
          status: cols.status ?? null,
          updated_at: now,
        }),
      )
      .execute();
  }
}

/** SEPA direct debit: mandate references are case-insensitive (as the in-memory store treats them). */
export class SqlSepaStore implements SepaDirectDebitStore {
  private readonly mandates: RecordTable<SepaMandate>;
  private readonly collections: RecordTable<SepaCollection>;
  private readonly files: RecordTable<SepaFile>;
  constructor(store: Store, tenantId: string) {
    this.mandates = new RecordTable(store, tenantId, 'sepa-direct-debit', 'mandate');
    this.collections = new RecordTable(store, tenantId, 'sepa-direct-debit', 'collection');
    this.files = new RecordTable(store, tenantId, 'sepa-direct-debit', 'file');
  }
  getMandate(reference: string) {
    return this.mandates.get(reference.toUpperCase());
  }
  saveMandate(mandate: SepaMandate) {
    return this.mandates.put(mandate.reference.toUpperCase(), mandate, { status: mandate.status });
  }
  getCollection(reference: string) {
    return this.collections.get(reference);
  }
  saveCollection(c: SepaCollection) {
    return this.collections.put(c.reference, c, {
      paymentId: c.paymentId,
      parent: c.mandateReference.toUpperCase(),
      status: c.status,
    });
  }
  listCollections(filter: { mandateReference?: string; status?: CollectionStatus }) {
    return this.collections.list({
      ...(filter.mandateReference !== undefined ? { parent: filter.mandateReference.toUpperCase() } : {}),
      ...(filter.status !== undefined ? { status: filter.status } : {}),
    });
  }
  saveFile(file: SepaFile) {
    return this.files.put(file.fileId, file);
  }
  getFile(fileId: string) {
    return this.files.get(fileId);
  }
}

/** Bank-transfer and invoice payables: keyed by their RF reference, found by payment id too. */
class PayableStore<R extends { reference: string; paymentId: string }> {
  private readonly table: RecordTable<R>;
  constructor(store: Store, tenantId: string, provider: string) {
    this.table = new RecordTable(store, tenantId, provider, 'payable');
  }
  get(reference: string) {
    return this.table.get(reference);
  }
  getByPaymentId(paymentId: string) {
    return this.table.byPayment(paymentId);
  }
  save(record: R) {
    return this.table.put(record.reference, record, { paymentId: record.paymentId });
  }
}

export class SqlBankTransferStore extends PayableStore<BankTransferRecord> implements BankTransferStore {
  constructor(store: Store, tenantId: string) {
    super(store, tenantId, 'bank-transfer');
  }
}

export class SqlInvoiceStore extends PayableStore<InvoicePaymentRecord> implements InvoiceStore {
  constructor(store: Store, tenantId: string) {
    super(store, tenantId, 'invoice');
  }
}
