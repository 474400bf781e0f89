import {
  creditorReference,
  giroCodePayload,
  groupInFours,
  isCreditorReference,
} from '../../src/gateway/providers/bank-transfer/transformers';

describe('ISO 11649 creditor references', () => {
  test.each([
    // RF18 5390 0754 7034 is the example printed in ISO 11649; the second is checked by hand with mod 97-10.
    ['539007547034', 'RF18539007547034'],
    ['000000000000000000001', 'RF74000000000000000000001'], // 1271500 mod 97 = 24, 98 - 24 = 74,
  ])('%s becomes %s', (ref, rf) => {
    expect(creditorReference(ref)).toBe(rf);
    expect(isCreditorReference(rf)).toBe(true);
  });

  test('a mistyped digit is caught', () => {
    expect(isCreditorReference('RF18539007547034')).toBe(true);
    expect(isCreditorReference('RF18539007547035')).toBe(false);
    expect(isCreditorReference('RF18 5390 0754 7034')).toBe(true);
  });

  test('letters, spaces and dashes in the reference are allowed, too long is refused with the field named', () => {
    const rf = creditorReference('inv-2024 000123');
    expect(rf).toMatch(/^RF\d\dINV2024000123$/);
    expect(isCreditorReference(rf)).toBe(true);
    expect(() => creditorReference('X'.repeat(22))).toThrow(/^reference: /);
  });

  test('printed in groups of four', () => {
    expect(groupInFours('RF18539007547034')).toBe('RF18 5390 0754 7034');
  });
});

describe('EPC069-12 QR payload (GiroCode)', () => {
  test('a transfer with a structured reference', () => {
    expect(
      giroCodePayload({
        name: 'Demo Telco GmbH',
        iban: 'DE89 3704 0044 0532 0130 00',
        bic: 'COBADEFFXXX',
        amountMinor: 119_00,
        currency: 'EUR',
        reference: 'RF18539007547034',
      }),
    ).toBe(
      [
        'BCD',
        '002',
        '1',
        'SCT',
        'COBADEFFXXX',
        'Demo Telco GmbH',
        'DE89370400440532013000',
        'EUR119.00',
        '',
        'RF18539007547034',
        '',
      ].join('\n'),
    );
  });

  test('an invalid IBAN, a bad reference, both reference and text, or a zero amount are refused', () => {
    const base = { name: 'X', iban: 'DE89370400440532013000', amountMinor: 100, currency: 'EUR' as const };
    expect(() => giroCodePayload({ ...base, iban: 'DE89370400440532013001' })).toThrow(/^iban: /);
    expect(() => giroCodePayload({ ...base, reference: 'RF19539007547034' })).toThrow(/^reference: /);
    expect(() => giroCodePayload({ ...base, reference: 'RF18539007547034', text: 'INV-1' })).toThrow(/^text: /);
    expect(() => giroCodePayload({ ...base, amountMinor: 0 })).toThrow(/^amountMinor: /);
  });
});
