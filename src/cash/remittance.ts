/**
 * What a payer writes: reading document numbers, RF references, IBANs and names out of remittance text, tolerant to
 * the ways people and banks mangle them ("RE 2024/0042", "Rechnung Nr.2024-0042", "Inv. 2024 0042", "RF18 5390 0754
 * 7034"). Pure functions; the matcher looks the keys up in the store.
 */
import { isCreditorReference } from '../gateway/providers/bank-transfer/transformers';

/**
 * The key a document number is found by: letters and digits only, without the prefix up to the first digit and
 * without leading zeros; `null` when nothing is left (a document number without digits cannot be told from words).
 * Must stay equal to the SQL function `clearhub_document_key` (migrations/0003-cash.ts), which indexes open items by it.
 *
 * @example documentKey('INV-2024-0042') // '20240042'
 * @example documentKey('RE 2024/0042') // '20240042'
 * @example documentKey('0000123456') // '123456'
 */
export function documentKey(documentNumber: string): string | null {
  const key = documentNumber
    .replace(/^[^0-9]+|[^A-Za-z0-9]+/g, '')
    .toUpperCase()
    .replace(/^0+/, '');
  return key === '' ? null : key;
}

/** Letters and digits only, upper case: `INV-2024-0042` → `INV20240042` (to see a document number written in full). */
export function squash(text: string): string {
  return text.replace(/[^A-Za-z0-9]+/g, '').toUpperCase();
}

/** {@link documentKey} of letters and digits only (a run of tokens joined): the same key without the regular expression. */
function alnumKey(joined: string): string | null {
  let i = 0;
  while (i < joined.length && (joined.charCodeAt(i) < 48 || joined.charCodeAt(i) > 57)) i++;
  while (i < joined.length && joined.charCodeAt(i) === 48) i++;
  return i === joined.length ? null : joined.slice(i).toUpperCase();
}

/** Shortest key worth looking up: shorter numbers (days, counts, house numbers) match too many documents by chance. */
export const MIN_KEY_LENGTH = 3;
/** Tokens joined into one candidate at most: "2024 0042 01" is one number written in three groups. */
const MAX_GROUPS = 4;
/** Keys per entry at most, so a remittance full of numbers cannot blow up the lookup. */
export const MAX_KEYS_PER_ENTRY = 24;

const hasDigit = (t: string) => /\d/.test(t);

/**
 * The document keys a remittance text may contain: every run of up to four consecutive tokens that contain digits,
 * joined (so spacing and separators inside a number do not matter), keyed like {@link documentKey}. Words before a
 * number ("Rechnung", "RE", "Inv.", "Nr.") fall away with the prefix.
 *
 * @example remittanceDocumentKeys('Rechnung Nr. 2024 / 0042 vom 3.3.') // ['2024', '20240042', '2024004233', '42', '4233', …]
 */
export function remittanceDocumentKeys(text: string | undefined): string[] {
  if (!text) return [];
  const tokens = text.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const keys = new Set<string>();
  for (let i = 0; i < tokens.length && keys.size < MAX_KEYS_PER_ENTRY; i++) {
    if (!hasDigit(tokens[i]!)) continue;
    let joined = '';
    for (let j = i; j < tokens.length && j < i + MAX_GROUPS; j++) {
      const t = tokens[j]!;
      if (j > i && !hasDigit(t)) break;
      joined += t;
      const key = alnumKey(joined);
      if (key && key.length >= MIN_KEY_LENGTH) keys.add(key);
    }
  }
  return [...keys].slice(0, MAX_KEYS_PER_ENTRY);
}

const RF_START = /RF\d{2}/gi;
const isAlnum = (ch: string | undefined) => ch !== undefined && /[A-Z0-9]/.test(ch);

/**
 * ISO 11649 references a text may contain, validated by their check digits, without spaces. A reference printed in
 * groups of four ("RF18 5390 0754 7034") is found too. Where the text runs on after it ("RF18 5390 0754 7034 RE 4711")
 * every run that ends at a group boundary and validates is returned: only references Clearhub issued count when they
 * are looked up, so a run that validates by chance (1 in 97) finds nothing.
 */
export function findCreditorReferences(text: string | undefined): string[] {
  if (!text) return [];
  const upper = text.toUpperCase();
  const found: string[] = [];
  for (const m of upper.matchAll(RF_START)) {
    if (isAlnum(upper[m.index - 1])) continue; // inside a word
    let body = '';
    const boundaries: number[] = [];
    let k = m.index + 4;
    for (; k < upper.length && body.length < 21; k++) {
      const ch = upper[k]!;
      if (isAlnum(ch)) body += ch;
      else if (ch === ' ' && isAlnum(upper[k + 1]) && isAlnum(upper[k - 1])) boundaries.push(body.length);
      else break;
    }
    if (!isAlnum(upper[k])) boundaries.push(body.length);
    for (const n of boundaries.reverse()) {
      const candidate = `${upper.slice(m.index, m.index + 4)}${body.slice(0, n)}`;
      if (n > 0 && isCreditorReference(candidate) && !found.includes(candidate)) found.push(candidate);
    }
  }
  return found;
}

/** An IBAN as stored: upper case, no spaces; `undefined` for anything that does not look like one. */
export function normaliseIban(iban: string | undefined): string | undefined {
  const s = iban?.replace(/\s+/g, '').toUpperCase();
  return s && /^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(s) ? s : undefined;
}

const NAME_NOISE = new Set([
  'gmbh',
  'mbh',
  'ag',
  'kg',
  'ohg',
  'ug',
  'ev',
  'co',
  'und',
  'and',
  'ltd',
  'inc',
  'llc',
  'sa',
  'sarl',
  'bv',
  'nv',
  'herr',
  'frau',
  'hr',
  'fr',
  'dr',
  'der',
  'die',
  'das',
  'von',
  'van',
  'de',
]);

const TRANSLITERATE: Record<string, string> = { ä: 'ae', ö: 'oe', ü: 'ue', ß: 'ss', é: 'e', è: 'e', á: 'a', à: 'a' };

/** The words of a name that tell it apart: lower case, umlauts written out, legal forms and salutations dropped. */
export function nameTokens(name: string | undefined | null): ReadonlySet<string> {
  if (!name) return new Set();
  let tokens = tokenCache.get(name);
  if (!tokens) {
    tokens = tokenize(name);
    if (tokenCache.size > 100_000) tokenCache.clear();
    tokenCache.set(name, tokens);
  }
  return tokens;
}

/** Names seen lately and their words: the same payers and debtors come up again and again in a statement. */
const tokenCache = new Map<string, ReadonlySet<string>>();

function tokenize(name: string): Set<string> {
  const words = name
    .toLowerCase()
    .replace(/[äöüßéèáà]/g, (c) => TRANSLITERATE[c] ?? c)
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 1 && !NAME_NOISE.has(w));
  return new Set(words);
}

/**
 * How much two names agree, 0..1: the share of the shorter name's words found in the other ("MUSTERMANN, ERIKA" and
 * "Erika Mustermann" agree fully; "Mustermann" and "Erika Mustermann" too — a surname alone is a weak hint, which the
 * scoring weighs accordingly).
 */
export function nameSimilarity(a: string | undefined | null, b: string | undefined | null): number {
  const x = nameTokens(a);
  const y = nameTokens(b);
  if (x.size === 0 || y.size === 0) return 0;
  let common = 0;
  for (const w of x) if (y.has(w)) common++;
  return common / Math.min(x.size, y.size);
}
