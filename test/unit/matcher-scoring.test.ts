import { planAllocation, prefixSums } from '../../src/cash/allocation-rules';
import { probeOf } from '../../src/cash/matcher';
import {
  type Candidate,
  chooseItems,
  decide,
  documentEvidence,
  type EntryFacts,
  type OpenItem,
  scoreCandidate,
} from '../../src/cash/scoring';
import { creditorReference } from '../../src/gateway/providers/bank-transfer/transformers';

const item = (id: string, openMinor: number, dueDate: string, extra: Partial<OpenItem> = {}): OpenItem => ({
  itemId: id,
  debtorId: 'D1',
  debtorName: 'Erika Mustermann',
  source: 'billing',
  documentNumber: `INV-2026-${id}`,
  openMinor,
  dueDate,
  isFee: false,
  ...extra,
});

const A = item('1001', 119_00, '2026-10-01');
const B = item('1002', 59_90, '2026-11-01');
const C = item('1003', 20_00, '2026-11-10');

const entry = (amountMinor: number, extra: Partial<EntryFacts> = {}): EntryFacts => ({
  amountMinor,
  currency: 'EUR',
  bookingDate: '2026-11-20',
  squashedText: '',
  ...extra,
});

const candidate = (extra: Partial<Candidate>): Candidate => ({
  debtorId: 'D1',
  debtorName: 'Erika Mustermann',
  documents: [],
  open: [A, B, C],
  ...extra,
});

describe('scoring a candidate', () => {
  test('an RF reference Clearhub issued, with the amount of its items, is near certain and pays exactly those', () => {
    const s = scoreCandidate(
      entry(178_90),
      candidate({ reference: { reference: 'RF71', itemIds: ['1001', '1002'] } }),
      'fees-last',
    );
    expect(s.confidence).toBeGreaterThanOrEqual(0.95);
    expect(s.matchedBy).toBe('reference');
    expect(s.items.map((i) => i.itemId)).toEqual(['1001', '1002']);
    expect(s.amountMinor).toBe(178_90);
  });

  test('with a reference, a partial payment or an over-payment is still allocated automatically', () => {
    const ref = { reference: 'RF71', itemIds: ['1001', '1002'] };
    expect(scoreCandidate(entry(100_00), candidate({ reference: ref }), 'fees-last').confidence).toBeGreaterThanOrEqual(
      0.9,
    );
    const over = scoreCandidate(entry(300_00), candidate({ reference: ref }), 'fees-last');
    expect(over.confidence).toBeGreaterThanOrEqual(0.9);
    expect(over.amountMinor).toBe(178_90); // the rest stays on the payment as credit
  });

  test('a document number with the exact amount is allocated; with a part of it, a person decides', () => {
    const docs = { documents: [{ item: B, key: '20261002' }], debtorName: 'Someone Else' };
    const full = scoreCandidate(entry(59_90), candidate(docs), 'fees-last');
    expect(full.confidence).toBeGreaterThanOrEqual(0.9);
    expect(full.matchedBy).toBe('document');
    expect(full.items).toEqual([B]);
    const part = scoreCandidate(entry(30_00), candidate(docs), 'fees-last');
    expect(part.confidence).toBeLessThan(0.9);
    expect(part.reasons).toContain('a partial payment');
  });

  test('a longer document number is stronger evidence than a short one, and one written in full more still', () => {
    expect(documentEvidence('20261002', false)).toBeGreaterThan(documentEvidence('1002', false));
    expect(documentEvidence('1002', false)).toBeGreaterThan(documentEvidence('102', false));
    expect(documentEvidence('20261002', true)).toBeGreaterThan(documentEvidence('20261002', false));
  });

  test('a known IBAN picks the item whose amount the payment equals; the payer’s name tips it over the threshold', () => {
    const iban = { iban: { sharedWith: 0 } };
    const alone = scoreCandidate(entry(59_90, { name: 'Konto 4711' }), candidate(iban), 'fees-last');
    expect(alone.items).toEqual([B]);
    expect(alone.confidence).toBeLessThan(0.9);
    const named = scoreCandidate(entry(59_90, { name: 'MUSTERMANN ERIKA' }), candidate(iban), 'fees-last');
    expect(named.confidence).toBeGreaterThanOrEqual(0.9);
    expect(named.matchedBy).toBe('iban');
  });

  test('an IBAN several debtors share counts for less', () => {
    const own = scoreCandidate(entry(59_90), candidate({ iban: { sharedWith: 0 } }), 'fees-last');
    const shared = scoreCandidate(entry(59_90), candidate({ iban: { sharedWith: 2 } }), 'fees-last');
    expect(shared.confidence).toBeLessThan(own.confidence);
  });

  test('the amount alone never allocates automatically, even with the right name', () => {
    const s = scoreCandidate(
      entry(20_00, { name: 'Erika Mustermann' }),
      candidate({ amountOnly: true, open: [C] }),
      'fees-last',
    );
    expect(s.confidence).toBeLessThan(0.9);
    expect(s.confidence).toBeGreaterThan(0.5);
    expect(s.items).toEqual([C]);
  });

  test('confidence stays between 0 and 1', () => {
    const s = scoreCandidate(
      entry(178_90, { name: 'Erika Mustermann', squashedText: 'INV20261001' }),
      candidate({
        reference: { reference: 'RF71', itemIds: ['1001', '1002'] },
        iban: { sharedWith: 0 },
        documents: [{ item: A, key: '20261001' }],
      }),
      'fees-last',
    );
    expect(s.confidence).toBeLessThanOrEqual(0.99);
    expect(s.confidence).toBeGreaterThan(0.95);
  });
});

describe('deciding', () => {
  test('the best candidate above the threshold is allocated; the ranking keeps at most three', () => {
    const d = decide(
      entry(59_90),
      [
        candidate({ debtorId: 'D1', documents: [{ item: B, key: '20261002' }] }),
        candidate({
          debtorId: 'D2',
          debtorName: 'Max',
          amountOnly: true,
          open: [item('9', 59_90, '2026-11-02', { debtorId: 'D2' })],
        }),
      ],
      'fees-last',
      0.9,
    );
    expect(d.auto?.debtorId).toBe('D1');
    expect(d.ranked.map((r) => r.debtorId)).toEqual(['D1', 'D2']);
  });

  test('two debtors that fit almost equally well go to a person', () => {
    const twin = (debtorId: string) =>
      candidate({ debtorId, documents: [{ item: { ...B, debtorId }, key: '20261002' }], debtorName: 'X' });
    const d = decide(entry(59_90), [twin('D1'), twin('D2')], 'fees-last', 0.9);
    expect(d.auto).toBeUndefined();
    expect(d.ranked[0]!.reasons.join(' ')).toMatch(/another debtor fits almost as well/);
  });

  test('the threshold is the tenant’s', () => {
    const c = [candidate({ documents: [{ item: B, key: '20261002' }] })];
    expect(decide(entry(30_00), c, 'fees-last', 0.9).auto).toBeUndefined();
    expect(decide(entry(30_00), c, 'fees-last', 0.6).auto?.debtorId).toBe('D1');
  });
});

describe('allocation rules', () => {
  const fee = item('F1', 5_00, '2026-09-01', { isFee: true, documentNumber: 'GEB-1' });
  const items = [C, fee, A, B];

  test('fees-last pays invoices oldest first, then fees and interest', () => {
    expect(planAllocation(198_90, items, 'fees-last').allocations.map((a) => a.itemId)).toEqual([
      '1001',
      '1002',
      '1003',
    ]);
    const all = planAllocation(210_00, items, 'fees-last');
    expect(all.allocations.map((a) => [a.itemId, a.amountMinor])).toEqual([
      ['1001', 119_00],
      ['1002', 59_90],
      ['1003', 20_00],
      ['F1', 5_00],
    ]);
    expect(all.unallocatedMinor).toBe(6_10);
  });

  test('fees-first (§ 367 BGB) pays costs before the principal; oldest-first looks at due dates only', () => {
    expect(planAllocation(10_00, items, 'fees-first').allocations).toEqual([
      { itemId: 'F1', amountMinor: 5_00 },
      { itemId: '1001', amountMinor: 5_00 },
    ]);
    expect(planAllocation(10_00, items, 'oldest-first').allocations[0]).toEqual({ itemId: 'F1', amountMinor: 5_00 });
  });

  test('a payer without a reference who pays the two oldest invoices is recognised by their sum', () => {
    expect(prefixSums([A, B, C], 'fees-last').map((p) => p.sum)).toEqual([119_00, 178_90, 198_90]);
    expect(chooseItems(178_90, [C, B, A], 'fees-last')).toEqual([A, B]);
    expect(chooseItems(20_00, [A, B, C], 'fees-last')).toEqual([C]);
    expect(chooseItems(1_00, [A, B, C], 'fees-last')).toEqual([A, B, C]);
  });
});

describe('what the matcher reads from an entry', () => {
  test('the structured reference, RF references in the text, document keys from text and end-to-end id', () => {
    const ref = creditorReference('0000000042');
    const p = probeOf(
      {
        amountMinor: 119_00,
        bookingDate: '2026-11-20',
        creditorReference: ref,
        endToEndId: 'INV-2026-1001',
        remittance: 'Rechnung 2026/1002',
        counterparty: { name: 'Erika Mustermann', iban: 'de89 3704 0044 0532 0130 00' },
      },
      'EUR',
    );
    expect(p.references).toEqual([ref]);
    expect(p.documentKeys).toEqual(expect.arrayContaining(['20261001', '20261002']));
    expect(p.iban).toBe('DE89370400440532013000');
    expect(p.facts).toMatchObject({ amountMinor: 119_00, name: 'Erika Mustermann' });
  });

  test('a creditor reference that is not an RF is read as text', () => {
    const p = probeOf({ amountMinor: 1, bookingDate: '2026-11-20', creditorReference: 'INV-2026-1003' }, 'EUR');
    expect(p.references).toEqual([]);
    expect(p.documentKeys).toContain('20261003');
  });
});
