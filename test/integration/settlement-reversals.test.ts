/**
 * Money that leaves a payment again (refunds, chargebacks) after part of it stayed as credit: what is refunded out of
 * the credit touches no item, and once the credit is used up every further reversal reopens items by its full amount.
 */
import { applyChargeback, applyRefund, lockPayment } from '../../src/gateway/apply';
import { recordPayment } from '../../src/gateway/payments';
import { openStore, type Store } from '../../src/store/db';
import { seedDebtor } from '../helpers/gateway';

describe('reversals of a payment that left credit', () => {
  let store: Store;
  let n = 0;
  beforeAll(async () => {
    store = await openStore('pglite:memory');
    await store.migrate();
  });
  afterAll(async () => store.close());

  /** Debtor C1 with one invoice A1 of 100.00, paid with 120.00 (20.00 stays as credit). */
  async function paidWithCredit() {
    const tenantId = `t${++n}`;
    const { debtorId, itemIds } = await seedDebtor(store, tenantId, [['A1', 10_000, '2026-09-01']]);
    const { payment } = await recordPayment(store, {
      tenantId,
      idempotencyKey: 'pay-1',
      debtorId,
      amountMinor: 12_000,
      currency: 'EUR',
      method: 'cash',
    });
    expect(payment.allocatedMinor).toBe(10_000);
    const refund = (refundId: string, amountMinor: number) =>
      store.db.transaction().execute(async (trx) => {
        const row = (await lockPayment(trx, tenantId, payment.paymentId))!;
        return applyRefund(trx, row, { refundId, amountMinor, status: 'succeeded' });
      });
    const chargeback = (id: string) =>
      store.db.transaction().execute(async (trx) => {
        const row = (await lockPayment(trx, tenantId, payment.paymentId))!;
        return applyChargeback(trx, row, id);
      });
    const openA1 = async () =>
      (
        await store.db
          .selectFrom('items')
          .select('open_minor')
          .where('tenant_id', '=', tenantId)
          .where('item_id', '=', itemIds.A1!)
          .executeTakeFirstOrThrow()
      ).open_minor;
    return { refund, chargeback, openA1 };
  }

  test('a refund of the credit reopens nothing; a second refund of 30.00 reopens A1 by 30.00', async () => {
    const p = await paidWithCredit();
    await p.refund('rf-1', 2_000);
    expect(await p.openA1()).toBe(0);
    await p.refund('rf-2', 3_000);
    // 120.00 paid, 50.00 refunded: 70.00 of the 100.00 invoice stay paid.
    expect(await p.openA1()).toBe(3_000);
  });

  test('a chargeback after the credit was refunded reopens A1 in full', async () => {
    const p = await paidWithCredit();
    await p.refund('rf-1', 2_000);
    await p.chargeback('cb-1');
    // The bank took back the 100.00 that was left of the payment: all of A1 is owed again.
    expect(await p.openA1()).toBe(10_000);
  });
});
