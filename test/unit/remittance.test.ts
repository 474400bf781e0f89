import {
  documentKey,
  findCreditorReferences,
  nameSimilarity,
  normaliseIban,
  remittanceDocumentKeys,
} from '../../src/cash/remittance';
import { creditorReference } from '../../src/gateway/providers/bank-transfer/transformers';

describe('document keys', () => {
  test.each([
    ['INV-2024-0042', '20240042'],
    ['RE 2024/0042', '20240042'],
    ['Rechnung Nr. 2024 0042', '20240042'],
    ['0000123456', '123456'],
    ['1800000123', '1800000123'],
    ['A12-B34', '12B34'],
    ['rg-77x', '77X'],
  ])('%s is found by %s', (doc, key) => {
    expect(documentKey(doc)).toBe(key);
  });

  test('a document number without digits has no key (it could not be told from words)', () => {
    expect(documentKey('GUTSCHRIFT')).toBeNull();
    expect(documentKey('INV-000')).toBeNull();
  });
});

describe('document numbers in remittance text', () => {
  const wants = (text: string, doc: string) => expect(remittanceDocumentKeys(text)).toContain(documentKey(doc));

  test('spacing, separators and prefixes do not matter', () => {
    wants('Rechnung Nr. 2024 / 0042', 'INV-2024-0042');
    wants('RE2024-0042', 'INV-2024-0042');
    wants('Inv. 2024 00 42 danke', 'INV-2024-0042');
    wants('Rechnungsnr.:2024.0042', 'RE 2024-0042');
    wants('SVWZ+RG 2024-0042 KD 4711', 'INV-2024-0042');
  });

  test('several invoices in one text are all found', () => {
    const keys = remittanceDocumentKeys('Rechnungen 2026-5002 und 2026-5003');
    expect(keys).toEqual(expect.arrayContaining(['20265002', '20265003']));
  });

  test('short numbers (days, counts) are not looked up, and text without digits gives nothing', () => {
    expect(remittanceDocumentKeys('vom 3.3. danke')).toEqual([]);
    expect(remittanceDocumentKeys('Miete Oktober')).toEqual([]);
    expect(remittanceDocumentKeys(undefined)).toEqual([]);
  });

  test('every key is the document key of the numbers it joins, letters and leading zeros included', () => {
    // Tokens with letters before, between and after digits, and runs of zeros: the keys a document number written in
    // full would be stored under, and no others.
    const text = 'RG-00A7 0b12 X9 00000 k-0012B 2024/0042 ab 0007-x';
    const tokens = text.split(/[^A-Za-z0-9]+/);
    const expected = new Set<string>();
    tokens.forEach((t, i) => {
      if (!/\d/.test(t)) return;
      for (let j = i, joined = ''; j < tokens.length && j < i + 4 && (j === i || /\d/.test(tokens[j]!)); j++) {
        joined += tokens[j];
        const key = documentKey(joined);
        if (key && key.length >= 3) expected.add(key);
      }
    });
    expect(new Set(remittanceDocumentKeys(text))).toEqual(expected);
    expect([...expected].sort()).toEqual([
      ...['12B', '12B2024', '12B20240042', '2024', '20240042', '900000'],
      ...['A70B12', 'A70B12X9', 'A70B12X900000', 'B12', 'B12X9', 'B12X900000'],
    ]);
  });

  test('a remittance full of numbers cannot blow up the lookup', () => {
    const text = Array.from({ length: 200 }, (_, i) => `${1000 + i}`).join(' ');
    expect(remittanceDocumentKeys(text).length).toBeLessThanOrEqual(24);
  });
});

describe('RF creditor references in text', () => {
  const ref = creditorReference('0000000042');

  test('found however it is printed or typed, without spaces', () => {
    const grouped = ref.replace(/(.{4})(?=.)/g, '$1 ');
    expect(findCreditorReferences(grouped)).toContain(ref);
    expect(findCreditorReferences(`Zahlung ${grouped.toLowerCase()} danke`)).toContain(ref);
    expect(findCreditorReferences(`${ref} RE 4711`)).toContain(ref);
    expect(findCreditorReferences('RF18 5390 0754 7034')).toContain('RF18539007547034');
  });

  test('a wrong check digit, or RF inside a word, is no reference', () => {
    const wrong = `RF${String((Number(ref.slice(2, 4)) + 1) % 100).padStart(2, '0')}${ref.slice(4)}`;
    expect(findCreditorReferences(wrong)).toEqual([]);
    expect(findCreditorReferences(`X${ref}`)).toEqual([]);
    expect(findCreditorReferences('kein Verweis')).toEqual([]);
  });
});

describe('payer names and IBANs', () => {
  test('names agree whatever the order, case, umlauts and legal form', () => {
    expect(nameSimilarity('MUSTERMANN, ERIKA', 'Erika Mustermann')).toBe(1);
    expect(nameSimilarity('Mueller GmbH', 'Müller')).toBe(1);
    expect(nameSimilarity('H. Meier', 'Hans Meier')).toBe(1);
    expect(nameSimilarity('Erika Schmidt', 'Erika Mustermann')).toBe(0.5);
    expect(nameSimilarity('Hans Meier', 'Max Mustermann')).toBe(0);
    expect(nameSimilarity(undefined, 'Max Mustermann')).toBe(0);
  });

  test('IBANs are compared without spaces, in capitals; anything else is not an IBAN', () => {
    expect(normaliseIban('de89 3704 0044 0532 0130 00')).toBe('DE89370400440532013000');
    expect(normaliseIban('12345')).toBeUndefined();
    expect(normaliseIban(undefined)).toBeUndefined();
  });
});
