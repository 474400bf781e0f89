import { IntegrationError } from '../../../domain/errors';
import { formatMinor } from '../../../domain/money';

/**
 * Mod 97-10 (ISO 7064) over a string of digits and letters, letters as 10..35: the check of IBANs, RF references and
 * SEPA creditor identifiers (the SEPA direct-debit room and the pain writers in `src/cash` use it too).
 */
export function mod97(alnum: string): number {
  let rest = 0;
  for (const ch of alnum) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch; // A=10 … Z=35
    for (const d of value) rest = (rest * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rest;
}

const REFERENCE = /^[A-Z0-9]{1,21}$/;
/** ISO 9362: bank (4 letters), country (2 letters), location (2), optional branch (3). */
const BIC = /^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$/;

/**
 * An ISO 11649 structured creditor reference ("RF" + 2 check digits + up to 21 letters and digits) for a payable, e.g.
 * `creditorReference('INV2024000123')` → `RF04INV2024000123`. Banks carry it unchanged in the remittance information,
 * which is what lets cash application match a transfer to its items.
 */
export function creditorReference(reference: string): string {
  const ref = reference.toUpperCase().replace(/[\s-]/g, '');
  if (!REFERENCE.test(ref)) {
    throw new IntegrationError(`"${reference}" cannot be an RF reference: 1 to 21 letters and digits`, 'reference');
  }
  const check = 98 - mod97(`${ref}RF00`);
  return `RF${String(check).padStart(2, '0')}${ref}`;
}

/** Whether a text is a valid ISO 11649 reference (spaces allowed, as printed in groups of four). */
export function isCreditorReference(text: string): boolean {
  const s = text.toUpperCase().replace(/\s/g, '');
  if (!/^RF\d{2}[A-Z0-9]{1,21}$/.test(s)) return false;
  return mod97(`${s.slice(4)}${s.slice(0, 4)}`) === 1;
}

/** Prints a reference in groups of four, as on paper: `RF04 INV2 0240 0012 3`. */
export function groupInFours(reference: string): string {
  return reference.replace(/(.{4})(?=.)/g, '$1 ');
}

export interface GiroCodeInput {
  /** Beneficiary name, at most 70 characters. */
  name: string;
  iban: string;
  /** Optional in the EEA since version 002. */
  bic?: string;
  amountMinor: number;
  currency: 'EUR';
  /** An ISO 11649 reference; when given, `text` must be empty (EPC069-12). */
  reference?: string;
  /** Unstructured remittance text, at most 140 characters, when there is no reference. */
  text?: string;
}

/**
 * The EPC069-12 "SEPA credit transfer" QR payload (GiroCode), version 002, UTF-8: what a banking app reads to pre-fill
 * a transfer. Amounts in euros with a point, 0.01 to 999,999,999.99; a structured reference or a text, never both.
 */
export function giroCodePayload(i: GiroCodeInput): string {
  if (i.currency !== 'EUR') throw new IntegrationError('the EPC QR code carries euro amounts only', 'currency');
  if (!Number.isSafeInteger(i.amountMinor) || i.amountMinor < 1 || i.amountMinor > 99_999_999_999) {
    throw new IntegrationError('must be between 0.01 and 999999999.99 EUR', 'amountMinor');
  }
  const name = i.name.trim();
  if (name.length === 0 || name.length > 70) throw new IntegrationError('must be 1 to 70 characters', 'name');
  const iban = i.iban.replace(/\s/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban) || mod97(`${iban.slice(4)}${iban.slice(0, 4)}`) !== 1) {
    throw new IntegrationError(`"${i.iban}" is not a valid IBAN`, 'iban');
  }
  const bic = i.bic?.replace(/\s/g, '').toUpperCase() ?? '';
  if (bic && !BIC.test(bic)) throw new IntegrationError(`"${i.bic}" is not a BIC (8 or 11 letters and digits)`, 'bic');
  // One field per line: a line break inside a field would shift every field after it.
  if (/[\r\n]/.test(name)) throw new IntegrationError('must be one line', 'name');
  if (/[\r\n]/.test(i.text ?? '')) throw new IntegrationError('must be one line', 'text');
  if (i.reference && i.text) throw new IntegrationError('give a structured reference or a text, not both', 'text');
  const reference = i.reference?.replace(/\s/g, '').toUpperCase() ?? '';
  if (reference && !isCreditorReference(reference)) {
    throw new IntegrationError(`"${i.reference}" is not an ISO 11649 reference`, 'reference');
  }
  if ((i.text ?? '').length > 140) throw new IntegrationError('at most 140 characters', 'text');
  const lines = [
    'BCD', // service tag
    '002', // version
    '1', // UTF-8
    'SCT', // SEPA credit transfer
    bic,
    name,
    iban,
    `EUR${formatMinor(i.amountMinor, 'EUR')}`,
    '', // purpose code
    reference,
    reference ? '' : (i.text ?? ''),
  ];
  return lines.join('\n');
}
