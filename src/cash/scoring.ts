/**
 * How sure the matcher is that a statement entry pays a debtor's items: a confidence from 0 to 1 built from the
 * evidence it found, and the items the money would go to. Pure functions over what the lookups returned.
 *
 * Evidence combines like independent witnesses (1 − Π(1 − pᵢ)):
 *
 * | evidence                                              | p    |
 * |-------------------------------------------------------|------|
 * | an RF reference Clearhub issued for the debtor        | 0.97 |
 * | a document number (key of ≥ 6 / 4–5 / 3 characters)  | 0.70 / 0.60 / 0.45, +0.05 when written in full |
 * | the payer's IBAN, known for this debtor only / shared | 0.60 / 0.35 |
 * | the payer's name agrees / partly agrees               | 0.35 / 0.20 |
 * | only the amount equals an open item                   | 0.25 |
 *
 * Then the amount: equal to what the items are open for removes 70 % of the remaining doubt; more than that (and no
 * reference) costs 15 %; a due date near the booking date removes another 10 %. Two debtors that fit almost equally
 * well cost the best one 10 %, so such an entry goes to a person. The result is capped at 0.99: nothing is certain.
 */

import type { AllocationOrder, MatchedBy, Suggestion } from '../store/schema-cash';
import { groupsByRule, prefixSums, type RuleItem } from './allocation-rules';
import { nameSimilarity } from './remittance';

/** An open item as the matcher sees it (what booking needs besides is read again when the item is locked). */
export interface OpenItem extends RuleItem {
  debtorId: string;
  debtorName: string | null;
  source: string;
}

/** What the matcher read from one entry. */
export interface EntryFacts {
  amountMinor: number;
  currency: string;
  bookingDate: string;
  /** The payer's name as the bank reports it. */
  name?: string | undefined;
  /** Letters and digits of everything the payer wrote, to see a document number written in full. */
  squashedText: string;
}

/** Everything found for one debtor. */
export interface Candidate {
  debtorId: string;
  debtorName: string | null;
  /** The RF reference Clearhub issued that the entry quotes, with the items it was issued for (null: the account). */
  reference?: { reference: string; itemIds: string[] | null };
  /** Items whose document number the remittance contains, with the key it was found by. */
  documents: { item: OpenItem; key: string }[];
  /** The payer's IBAN is known for this debtor; `sharedWith` other debtors have it too. */
  iban?: { sharedWith: number };
  /** Found only because an open item has exactly the entry's amount. */
  amountOnly?: boolean;
  /** The debtor's open items the matcher knows (all of them for reference, IBAN and amount candidates). */
  open: OpenItem[];
}

export interface ScoredCandidate {
  debtorId: string;
  debtorName: string | null;
  /** The items the money goes to, in the order the rule pays them. */
  items: OpenItem[];
  /** What the items take of the entry. */
  amountMinor: number;
  confidence: number;
  matchedBy: MatchedBy;
  reasons: string[];
}

const noisyOr = (ps: number[]) => 1 - ps.reduce((q, p) => q * (1 - p), 1);
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const dayMs = 86_400_000;
/** A date's milliseconds, remembered: a batch has a few dozen distinct dates and hundreds of thousands of items. */
const epochMs = new Map<string, number>();
const msOf = (date: string) => {
  let ms = epochMs.get(date);
  if (ms === undefined) {
    ms = Date.parse(`${date}T00:00:00Z`);
    if (epochMs.size > 100_000) epochMs.clear();
    epochMs.set(date, ms);
  }
  return ms;
};
const daysBetween = (a: string, b: string) => (msOf(a) - msOf(b)) / dayMs;

/** Document evidence by the length of the key it was found by: long numbers are rarely there by chance. */
export function documentEvidence(key: string, writtenInFull: boolean): number {
  const p = key.length >= 6 ? 0.7 : key.length >= 4 ? 0.6 : 0.45;
  return writtenInFull ? p + 0.05 : p;
}

/** The items a payment most likely pays when the payer named none: one whose amount it equals, a run of them, or all. */
export function chooseItems(amountMinor: number, open: readonly OpenItem[], order: AllocationOrder): OpenItem[] {
  const single = open
    .filter((i) => i.openMinor === amountMinor)
    .sort((a, b) => a.dueDate.localeCompare(b.dueDate) || a.documentNumber.localeCompare(b.documentNumber))[0];
  if (single) return [single];
  const prefix = prefixSums(open, order).find((p) => p.sum === amountMinor);
  const ordered = orderedByRule(open, order);
  return prefix ? ordered.slice(0, prefix.count) : ordered;
}

/** The items with something open, in the order a payment pays them (what planAllocation of an endless amount pays). */
function orderedByRule(items: readonly OpenItem[], order: AllocationOrder): OpenItem[] {
  return groupsByRule(
    items.filter((i) => i.openMinor > 0),
    order,
  ).flatMap((group) => group.sort(byDueDate));
}

/** Oldest due date first, then document number: the order of allocateOldestFirst (domain/allocation.ts). */
const byDueDate = (a: OpenItem, b: OpenItem) =>
  a.dueDate.localeCompare(b.dueDate) || a.documentNumber.localeCompare(b.documentNumber);

/** Scores one candidate debtor for an entry. */
export function scoreCandidate(entry: EntryFacts, c: Candidate, order: AllocationOrder): ScoredCandidate {
  const ps: number[] = [];
  const reasons: string[] = [];
  let matchedBy: MatchedBy = 'amount';
  if (c.iban) {
    ps.push(c.iban.sharedWith === 0 ? 0.6 : 0.35);
    reasons.push(
      c.iban.sharedWith === 0
        ? "the payer's IBAN is known for this debtor"
        : "the payer's IBAN is known for several debtors",
    );
    matchedBy = 'iban';
  }
  if (c.documents.length > 0) {
    const best = Math.max(
      ...c.documents.map((d) => documentEvidence(d.key, entry.squashedText.includes(squashDoc(d.item.documentNumber)))),
    );
    ps.push(best);
    const numbers = [...new Set(c.documents.map((d) => d.item.documentNumber))];
    reasons.push(`document number${numbers.length > 1 ? 's' : ''} ${numbers.join(', ')} in the remittance`);
    matchedBy = 'document';
  }
  if (c.reference) {
    ps.push(0.97);
    reasons.push(`RF reference ${c.reference.reference} issued by Clearhub`);
    matchedBy = 'reference';
  }
  const similarity = nameSimilarity(entry.name, c.debtorName);
  if (similarity >= 0.99) {
    ps.push(0.35);
    reasons.push("the payer's name is the debtor's");
  } else if (similarity >= 0.5) {
    ps.push(0.2);
    reasons.push("the payer's name partly agrees with the debtor's");
  }
  if (c.amountOnly) {
    ps.push(0.25);
    reasons.push('an open item has exactly this amount');
  }
  let p = noisyOr(ps);

  // The items named by reference or document number; otherwise the most likely ones of the debtor's open items.
  const named = new Map<string, OpenItem>();
  if (c.reference?.itemIds) {
    const wanted = new Set(c.reference.itemIds);
    for (const i of c.open) if (wanted.has(i.itemId)) named.set(i.itemId, i);
  }
  for (const d of c.documents) named.set(d.item.itemId, d.item);
  const referencedAccount = c.reference !== undefined && c.reference.itemIds === null;
  const items =
    named.size > 0 || (c.reference?.itemIds && !referencedAccount)
      ? orderedByRule([...named.values()], order)
      : chooseItems(entry.amountMinor, c.open, order);
  const target = items.reduce((s, i) => s + i.openMinor, 0);

  if (target === entry.amountMinor) {
    p = 1 - (1 - p) * 0.3;
    reasons.push(
      items.length === 1 ? 'the amount equals the open amount' : `the amount equals ${items.length} open items`,
    );
  } else if (entry.amountMinor > target) {
    if (!c.reference) p *= target === 0 ? 0.5 : 0.85;
    reasons.push(target === 0 ? 'no open item left to pay' : 'the amount is more than the items are open for');
  } else {
    reasons.push('a partial payment');
  }
  // Transfers arrive from about three weeks before the due date to a few weeks after it.
  const nearDue = items.some((i) => {
    const d = daysBetween(entry.bookingDate, i.dueDate);
    return d >= -21 && d <= 42;
  });
  if (nearDue) p = 1 - (1 - p) * 0.9;

  return {
    debtorId: c.debtorId,
    debtorName: c.debtorName,
    items,
    amountMinor: Math.min(entry.amountMinor, target),
    confidence: round3(Math.min(0.99, p)),
    matchedBy,
    reasons,
  };
}

const squashDoc = (doc: string) => doc.replace(/[^A-Za-z0-9]+/g, '').toUpperCase();

export interface Decision {
  /** The best candidate, when its confidence reaches the threshold. */
  auto?: ScoredCandidate;
  /** Ranked, best first (at most three), for the worklist. */
  ranked: ScoredCandidate[];
}

/**
 * Ranks an entry's candidates and decides: the best one is allocated automatically when it reaches the threshold and no
 * other debtor fits almost as well (then both are shown to a person).
 */
export function decide(
  entry: EntryFacts,
  candidates: readonly Candidate[],
  order: AllocationOrder,
  threshold: number,
): Decision {
  const ranked = candidates
    .map((c) => scoreCandidate(entry, c, order))
    .sort((a, b) => b.confidence - a.confidence || a.debtorId.localeCompare(b.debtorId));
  const [best, second] = ranked;
  if (best && second && second.confidence >= best.confidence - 0.05) {
    best.confidence = round3(best.confidence * 0.9);
    best.reasons.push(`another debtor fits almost as well (${second.confidence})`);
  }
  const top = ranked.slice(0, 3);
  return best && best.confidence >= threshold ? { auto: best, ranked: top } : { ranked: top };
}

/** A scored candidate as the worklist shows it. */
export function toSuggestion(s: ScoredCandidate): Suggestion {
  return {
    debtorId: s.debtorId,
    debtorName: s.debtorName,
    itemIds: s.items.map((i) => i.itemId),
    documentNumbers: s.items.map((i) => i.documentNumber),
    amountMinor: s.amountMinor,
    confidence: s.confidence,
    reasons: s.reasons,
  };
}
