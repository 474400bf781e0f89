/**
 * Our own providers keep their state in the database: a mandate signed through one process is known to another, a
 * collection file written by one worker is not written again by the next, and a bank transfer created by the API is
 * found by the statement import running elsewhere. Runs on PGlite and PostgreSQL.
 */
import { SqlBankTransferStore, SqlSepaStore } from '../../src/gateway/provider-records';
import { createBankTransferProvider } from '../../src/gateway/providers/bank-transfer/provider';
import { createSepaDirectDebitProvider } from '../../src/gateway/providers/sepa-direct-debit/provider';
import type { CreatePaymentInput } from '../../src/gateway/providers/types';
import type { Store } from '../../src/store/db';
import { STORE_FACTORIES } from '../helpers/stores';

const SEPA = {
  creditorName: 'Demo Telco GmbH',
  creditorIban: 'DE89370400440532013000',
  creditorBic: 'COBADEFFXXX',
  creditorId: 'DE98ZZZ09999999999',
};
const input = (paymentId: string, over: Partial<CreatePaymentInput> = {}): CreatePaymentInput => ({
  paymentId,
  idempotencyKey: `payment:${paymentId}:create`,
  amountMinor: 2_500,
  currency: 'EUR',
  method: 'sepa_direct_debit',
  providerType: 'sepa_direct_debit',
  capture: 'automatic',
  returnUrl: 'https://shop.example/return',
  locale: 'de-DE',
  description: 'Rechnung 4711',
  payer: { debtorId: 'D-1', name: 'Erika Mustermann' },
  methodData: { iban: 'DE02120300000000202051', accountHolder: 'Erika Mustermann' },
  recurring: 'first',
  ...over,
});

describe.each(STORE_FACTORIES)('provider records on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
  });
  afterAll(async () => dispose());

  test('a mandate from one process is recurring in another; a collection goes into one file only', async () => {
    let clock = new Date('2027-03-15T09:00:00Z');
    const make = () =>
      createSepaDirectDebitProvider({ config: SEPA, store: new SqlSepaStore(store, 't1'), now: () => clock });
    const api = make();
    const worker = make();
    const first = await api.create(input('0195f2a0-0000-7000-8000-000000000001'));
    expect(first.status).toBe('pending');
    const second = await worker.create(
      input('0195f2a0-0000-7000-8000-000000000002', {
        recurring: 'subsequent',
        methodData: { mandateId: first.recurringReference!, extra: { dueDate: '2027-04-15' } },
      }),
    );
    expect(second.recurringReference).toBe(first.recurringReference);
    // Another tenant does not see the mandate.
    const other = createSepaDirectDebitProvider({
      config: SEPA,
      store: new SqlSepaStore(store, 't2'),
      now: () => clock,
    });
    await expect(
      other.create(
        input('0195f2a0-0000-7000-8000-000000000003', {
          recurring: 'subsequent',
          methodData: { mandateId: first.recurringReference! },
        }),
      ),
    ).rejects.toThrow(/mandate/i);

    // The first collection (due 30 March) goes out in the worker's file; the API process then finds nothing to send.
    clock = new Date('2027-03-24T09:00:00Z');
    const file = await worker.writeCollectionFile({ messageId: 'SDD-1' });
    expect(file.submitted).toEqual([first.providerReference]);
    expect(file.file?.xml).toMatch(/<SeqTp>FRST<\/SeqTp>/);
    expect((await api.writeCollectionFile({ messageId: 'SDD-2' })).submitted).toEqual([]);
    expect((await api.retrieve(first.providerReference)).providerStatus).toBe('submitted');
    expect((await api.file('SDD-1'))?.xml).toBe(file.file?.xml);
    // The second (due 15 April) goes out later as RCUR from the other process, once.
    clock = new Date('2027-04-05T09:00:00Z');
    const later = await api.writeCollectionFile({ messageId: 'SDD-3' });
    expect(later.submitted).toEqual([second.providerReference]);
    expect(later.file?.xml).toMatch(/<SeqTp>RCUR<\/SeqTp>/);
    expect((await worker.writeCollectionFile({ messageId: 'SDD-4' })).submitted).toEqual([]);
  });

  test('a bank transfer created by the API is found by reference elsewhere and settles once', async () => {
    const cfg = { creditorName: 'Demo Telco GmbH', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' };
    const api = createBankTransferProvider({ config: cfg, store: new SqlBankTransferStore(store, 't1') });
    const cash = createBankTransferProvider({ config: cfg, store: new SqlBankTransferStore(store, 't1') });
    const p = await api.create(
      input('0195f2a0-0000-7000-8000-000000000010', {
        method: 'sepa_credit_transfer',
        providerType: 'sepa_credit_transfer',
        amountMinor: 4_200,
      }),
    );
    expect(p.nextAction.type).toBe('bank_instructions');
    const credited = await cash.recordTransfer(p.providerReference, {
      entryId: 'E1',
      amountMinor: 4_200,
      currency: 'EUR',
    });
    expect(credited.status).toBe('succeeded');
    const twice = await cash.recordTransfer(p.providerReference, {
      entryId: 'E1',
      amountMinor: 4_200,
      currency: 'EUR',
    });
    expect(twice.capturedMinor).toBe(4_200);
    expect((await api.retrieve(p.providerReference)).status).toBe('succeeded');
  });
});
