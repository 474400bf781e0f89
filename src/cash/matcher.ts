/**
 * Cash application's matcher: finds, for a batch of statement credits, the debtors and items each may pay, set-based —
 * one statement for the whole batch and every kind of evidence (RF references, document numbers, payer IBANs, the
 * candidates' open items, and amounts for what is left), never a round trip per entry — and scores them (scoring.ts).
 */
import { isCreditorReference } from '../gateway/providers/bank-transfer/transformers';
import type { RawSession } from '../store/db';
import { findCreditorReferences, normaliseIban, remittanceDocumentKeys, squash } from './remittance';
import { type Candidate, type Decision, decide, type EntryFacts, type OpenItem } from './scoring';
import type { CashSettings } from './settings';
import { feeMatcher } from './settings';
import type { StatementEntry } from './statement';

/** What the lookups need of one entry. */
export interface EntryProbe {
  facts: EntryFacts;
  /** RF references the entry may quote (validated; only issued ones will be found). */
  references: string[];
  documentKeys: string[];
  iban?: string | undefined;
}

/** Reads the evidence out of an entry: references, document keys from everything the payer wrote, IBAN and name. */
export function probeOf(entry: StatementEntry, currency: string): EntryProbe {
  const texts = [entry.remittance, entry.endToEndId];
  const references = findCreditorReferences(entry.remittance);
  const cref = entry.creditorReference?.replace(/\s+/g, '').toUpperCase();
  if (cref && isCreditorReference(cref)) references.unshift(cref);
  else if (entry.creditorReference) texts.push(entry.creditorReference);
  const text = texts.filter(Boolean).join(' ');
  return {
    facts: {
      amountMinor: entry.amountMinor,
      currency,
      bookingDate: entry.bookingDate,
      name: entry.counterparty?.name,
      squashedText: squash(text),
    },
    references: [...new Set(references)],
    documentKeys: remittanceDocumentKeys(text),
    iban: normaliseIban(entry.counterparty?.iban),
  };
}

/** Candidates beyond the nearest due dates that the amount lookup returns per entry. */
const AMOUNT_CANDIDATES_BEFORE = 3;
const AMOUNT_CANDIDATES_AFTER = 1;

/**
 * The candidate lookups of a batch as one statement: the references it quotes, the open items its document keys name
 * (for entries without an issued reference), the debtors its payer IBANs are known for, the open items of those debtors
 * (or only the items a reference was issued for), and — for entries none of that pointed at — open items of exactly the
 * amount, nearest due dates first. Joins run in the database, each on its index; debtors' names are read once for all.
 * The answer is one JSON document of arrays (rows of the kinds below), parsed by node in one call.
 *
 * $1 tenant, $2 currency, $3/$4 (entry, reference) pairs, $5/$6 (entry, document key) pairs, $7–$9 per entry in order:
 * payer IBAN (empty: none), amount, booking date; $10 whether over-payments go to other items (then candidates need
 * all items). Lists are comma-separated: every value is letters, digits and dashes (checked references and IBANs,
 * document keys, dates, numbers), and one string per list is far cheaper to send than an array parameter.
 */
const CANDIDATES_SQL = `
WITH
pr AS MATERIALIZED (
  SELECT * FROM unnest(string_to_array($3, ',')::int[], string_to_array($4, ',')) AS x(idx, reference)),
refs AS MATERIALIZED (
  SELECT r.reference, r.debtor_id, r.item_ids,
         r.item_ids IS NOT NULL AND jsonb_typeof(r.item_ids) <> 'null' AS for_items
  FROM payment_references r
  WHERE r.tenant_id = $1 AND r.reference = ANY (ARRAY(SELECT DISTINCT reference FROM pr))),
referenced AS MATERIALIZED (SELECT DISTINCT pr.idx FROM pr JOIN refs USING (reference)),
pk AS MATERIALIZED (SELECT * FROM unnest(string_to_array($5, ',')::int[], string_to_array($6, ',')) AS x(idx, key)),
docs AS MATERIALIZED (
  SELECT i.document_key AS key, i.item_id, i.debtor_id, i.source, i.document_number, i.open_minor, i.due_date
  FROM items i
  WHERE i.tenant_id = $1 AND i.status = 'open' AND i.currency = $2
    AND i.document_key = ANY (ARRAY(
      SELECT DISTINCT pk.key FROM pk WHERE NOT EXISTS (SELECT 1 FROM referenced r WHERE r.idx = pk.idx)))),
pe AS MATERIALIZED (
  SELECT (o - 1)::int AS idx, NULLIF(iban, '') AS iban, amount::bigint AS amount, d::date AS d
  FROM unnest(string_to_array($7, ','), string_to_array($8, ','), string_to_array($9, ',')) WITH ORDINALITY
    AS x(iban, amount, d, o)),
ibans AS MATERIALIZED (
  SELECT a.iban, a.debtor_id, a.last_seen_at >= now() - interval '1 day' AS recent
  FROM debtor_accounts a
  WHERE a.tenant_id = $1 AND a.iban = ANY (ARRAY(SELECT DISTINCT iban FROM pe WHERE iban IS NOT NULL))),
-- Debtors whose open items all count: quoted for the whole account, or known by the payer's IBAN where the entry names
-- none of their items (by a reference issued for items, or a document number); with over-payments to other items,
-- every candidate.
whole AS MATERIALIZED (
  SELECT d.debtor_id, d.name FROM debtors d
  WHERE d.tenant_id = $1 AND d.debtor_id = ANY (ARRAY(
    SELECT debtor_id FROM refs WHERE NOT for_items OR $10
    UNION SELECT a.debtor_id FROM pe JOIN ibans a ON a.iban = pe.iban
      WHERE $10
        OR NOT EXISTS (SELECT 1 FROM pr JOIN refs r ON r.reference = pr.reference
                       WHERE pr.idx = pe.idx AND r.debtor_id = a.debtor_id AND r.for_items)
        AND NOT EXISTS (SELECT 1 FROM pk JOIN docs x ON x.key = pk.key WHERE pk.idx = pe.idx AND x.debtor_id = a.debtor_id)
    UNION SELECT debtor_id FROM docs WHERE $10))),
named AS MATERIALIZED (
  SELECT i.item_id, i.debtor_id, i.source, i.document_number, i.open_minor, i.due_date
  FROM items i
  WHERE i.tenant_id = $1 AND i.status = 'open' AND i.currency = $2
    AND i.item_id = ANY (ARRAY(SELECT jsonb_array_elements_text(item_ids) FROM refs WHERE for_items AND NOT $10))),
bare AS MATERIALIZED (
  SELECT pe.idx, pe.amount, pe.d FROM pe
  WHERE pe.amount > 0
    AND NOT EXISTS (SELECT 1 FROM referenced r WHERE r.idx = pe.idx)
    AND NOT EXISTS (SELECT 1 FROM pk JOIN docs ON docs.key = pk.key
                    JOIN debtors d ON d.tenant_id = $1 AND d.debtor_id = docs.debtor_id WHERE pk.idx = pe.idx)
    AND NOT EXISTS (SELECT 1 FROM ibans WHERE ibans.iban = pe.iban)),
amounts AS MATERIALIZED (
  SELECT b.idx, i.item_id, i.debtor_id, i.source, i.document_number, i.open_minor, i.due_date
  FROM bare b
  CROSS JOIN LATERAL (
    (SELECT * FROM items x WHERE x.tenant_id = $1 AND x.status = 'open' AND x.open_minor = b.amount
       AND x.due_date <= b.d AND x.currency = $2 ORDER BY x.due_date DESC LIMIT ${AMOUNT_CANDIDATES_BEFORE})
    UNION ALL
    (SELECT * FROM items x WHERE x.tenant_id = $1 AND x.status = 'open' AND x.open_minor = b.amount
       AND x.due_date > b.d AND x.currency = $2 ORDER BY x.due_date LIMIT ${AMOUNT_CANDIDATES_AFTER})
  ) i),
names AS MATERIALIZED (
  SELECT d.debtor_id, d.name FROM debtors d
  WHERE d.tenant_id = $1 AND d.debtor_id = ANY (ARRAY(
    SELECT debtor_id FROM docs UNION SELECT debtor_id FROM named UNION SELECT debtor_id FROM amounts
    UNION SELECT debtor_id FROM ibans)))
SELECT json_build_object(
  'refs', (SELECT json_agg(json_build_array(reference, debtor_id, item_ids)) FROM refs),
  'docs', (SELECT json_agg(json_build_array(x.key, x.item_id, x.debtor_id, n.name, x.source, x.document_number,
             x.open_minor, x.due_date) ORDER BY x.key, x.item_id) FROM docs x JOIN names n USING (debtor_id)),
  'ibans', (SELECT json_agg(json_build_array(iban, debtor_id, recent) ORDER BY iban, debtor_id) FROM ibans),
  'owners', (SELECT json_agg(json_build_array(debtor_id, name)) FROM (
               SELECT debtor_id, name FROM whole
               UNION SELECT n.debtor_id, n.name FROM names n
               WHERE EXISTS (SELECT 1 FROM named x WHERE x.debtor_id = n.debtor_id)
                 OR EXISTS (SELECT 1 FROM ibans a WHERE a.debtor_id = n.debtor_id)
             ) o),
  'open', (SELECT json_agg(json_build_array(x.debtor_id, x.item_id, x.source, x.document_number, x.open_minor,
             x.due_date) ORDER BY x.debtor_id, x.item_id) FROM (
             SELECT i.debtor_id, i.item_id, i.source, i.document_number, i.open_minor, i.due_date
             FROM whole w JOIN items i ON i.tenant_id = $1 AND i.debtor_id = w.debtor_id AND i.status = 'open'
               AND i.currency = $2
             UNION
             SELECT x.debtor_id, x.item_id, x.source, x.document_number, x.open_minor, x.due_date
             FROM named x WHERE EXISTS (SELECT 1 FROM names n WHERE n.debtor_id = x.debtor_id)) x),
  'amounts', (SELECT json_agg(json_build_array(x.idx, x.item_id, x.debtor_id, n.name, x.source, x.document_number,
             x.open_minor, x.due_date) ORDER BY x.idx, x.due_date DESC, x.item_id) FROM amounts x JOIN names n USING (debtor_id))
)::text AS found`;

/** Rows of the answer: [document key | entry index | owner, item id, debtor, name, source, document, open, due]. */
type ItemTuple = [string, string, string, string | null, string, string, number, string];
type OpenTuple = [string, string, string, string, number, string];

interface Found {
  refs: [string, string, string[] | null][] | null;
  docs: ItemTuple[] | null;
  ibans: [string, string, boolean][] | null;
  owners: [string, string | null][] | null;
  open: OpenTuple[] | null;
  amounts: [number, string, string, string | null, string, string, number, string][] | null;
}

/** What a batch's lookups found besides the decisions: the payer accounts known and recently seen. */
export interface BatchFindings {
  /** `iban|debtorId` of payer accounts already known and seen within a day (learning them again changes nothing). */
  recentAccounts: Set<string>;
}

/**
 * Finds and scores the candidates of a batch of credits in one currency. Returns one decision per probe, in order.
 * Runs inside the caller's transaction; reads only.
 */
export async function matchBatch(
  s: RawSession,
  tenantId: string,
  currency: string,
  probes: readonly EntryProbe[],
  settings: CashSettings,
): Promise<{ decisions: Decision[]; candidates: Candidate[][]; findings: BatchFindings }> {
  const isFee = feeMatcher(settings.feeDocumentPattern);
  const others = settings.overpayment === 'other-items';
  const item = (
    itemId: string,
    debtorId: string,
    debtorName: string | null,
    source: string,
    documentNumber: string,
    openMinor: number,
    dueDate: string,
  ): OpenItem => ({
    itemId,
    debtorId,
    debtorName,
    source,
    documentNumber,
    openMinor,
    dueDate,
    isFee: isFee({ source, documentNumber }),
  });

  const refIdx: number[] = [];
  const refs: string[] = [];
  const keyIdx: number[] = [];
  const keys: string[] = [];
  const ibans: string[] = [];
  const amounts: number[] = [];
  const dates: string[] = [];
  probes.forEach((p, i) => {
    for (const r of p.references) {
      refIdx.push(i);
      refs.push(r);
    }
    for (const k of p.documentKeys) {
      keyIdx.push(i);
      keys.push(k);
    }
    ibans.push(p.iban ?? '');
    amounts.push(p.facts.amountMinor);
    dates.push(p.facts.bookingDate);
  });
  const found: Found =
    probes.length === 0
      ? { refs: null, docs: null, ibans: null, owners: null, open: null, amounts: null }
      : JSON.parse(
          (
            await s.query<{ found: string }>(CANDIDATES_SQL, [
              tenantId,
              currency,
              refIdx.join(','),
              refs.join(','),
              keyIdx.join(','),
              keys.join(','),
              ibans.join(','),
              amounts.join(','),
              dates.join(','),
              others,
            ])
          ).rows[0]!.found,
        );

  const byRef = new Map<string, { debtorId: string; itemIds: string[] | null }>();
  for (const [reference, debtorId, itemIds] of found.refs ?? []) byRef.set(reference, { debtorId, itemIds });
  const byKey = new Map<string, OpenItem[]>();
  for (const [key, ...r] of found.docs ?? []) {
    const list = byKey.get(key);
    const it = item(...r);
    if (list) list.push(it);
    else byKey.set(key, [it]);
  }
  const byIban = new Map<string, string[]>();
  const recentAccounts = new Set<string>();
  for (const [iban, debtorId, recent] of found.ibans ?? []) {
    const list = byIban.get(iban);
    if (list) list.push(debtorId);
    else byIban.set(iban, [debtorId]);
    if (recent) recentAccounts.add(`${iban}|${debtorId}`);
  }
  const debtorNames = new Map<string, string | null>();
  for (const [debtorId, name] of found.owners ?? []) debtorNames.set(debtorId, name);
  const openByDebtor = new Map<string, OpenItem[]>();
  for (const [debtorId, itemId, source, documentNumber, openMinor, dueDate] of found.open ?? []) {
    const it = item(itemId, debtorId, debtorNames.get(debtorId) ?? null, source, documentNumber, openMinor, dueDate);
    const list = openByDebtor.get(debtorId);
    if (list) list.push(it);
    else openByDebtor.set(debtorId, [it]);
  }

  const candidates: Candidate[][] = probes.map((p) => {
    const byDebtor = new Map<string, Candidate>();
    const get = (debtorId: string, name: string | null): Candidate => {
      let c = byDebtor.get(debtorId);
      if (!c) {
        c = { debtorId, debtorName: name, documents: [], open: openByDebtor.get(debtorId) ?? [] };
        byDebtor.set(debtorId, c);
      }
      return c;
    };
    for (const ref of p.references) {
      const r = byRef.get(ref);
      if (r && !byDebtor.get(r.debtorId)?.reference) {
        get(r.debtorId, debtorNames.get(r.debtorId) ?? null).reference = { reference: ref, itemIds: r.itemIds };
      }
    }
    for (const key of p.documentKeys) {
      for (const it of byKey.get(key) ?? []) {
        const c = get(it.debtorId, it.debtorName);
        if (!c.documents.some((d) => d.item.itemId === it.itemId)) c.documents.push({ item: it, key });
      }
    }
    if (p.iban) {
      const ds = byIban.get(p.iban) ?? [];
      for (const d of ds) get(d, debtorNames.get(d) ?? null).iban = { sharedWith: ds.length - 1 };
    }
    return [...byDebtor.values()];
  });

  // Amount and date, for the entries nothing else pointed at (found by the same statement).
  for (const [i, ...r] of found.amounts ?? []) {
    const list = candidates[i]!;
    const it = item(...r);
    let c = list.find((x) => x.debtorId === it.debtorId);
    if (!c) {
      c = { debtorId: it.debtorId, debtorName: it.debtorName, documents: [], open: [], amountOnly: true };
      list.push(c);
    }
    c.open.push(it);
  }

  const decisions = probes.map((p, i) =>
    decide(p.facts, candidates[i]!, settings.allocationOrder, settings.autoThreshold),
  );
  return { decisions, candidates, findings: { recentAccounts } };
}
