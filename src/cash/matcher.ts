/**
 * Cash application's matcher: finds, for a batch of statement credits, the debtors and items each may pay, set-based —
 * one query per kind of evidence for the whole batch (RF references, document numbers, payer IBANs, the candidates'
 * open items, and amounts for what is left), never a round trip per entry — and scores them (scoring.ts).
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

interface ItemRow {
  item_id: string;
  debtor_id: string;
  debtor_name: string | null;
  source: string;
  document_number: string;
  open_minor: number;
  due_date: string;
}

// Only what matching needs: every lookup row is an object, and a batch reads hundreds of thousands of them.
const ITEM_COLUMNS =
  'i.item_id, i.debtor_id, d.name AS debtor_name, i.source, i.document_number, i.open_minor, i.due_date';
const WITH_DEBTOR = 'JOIN debtors d ON d.tenant_id = i.tenant_id AND d.debtor_id = i.debtor_id';

/** Candidates beyond the nearest due dates that the amount lookup returns per entry. */
const AMOUNT_CANDIDATES_BEFORE = 3;
const AMOUNT_CANDIDATES_AFTER = 1;

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
): Promise<{ decisions: Decision[]; candidates: Candidate[][] }> {
  const isFee = feeMatcher(settings.feeDocumentPattern);
  const toItem = (r: ItemRow): OpenItem => ({
    itemId: r.item_id,
    debtorId: r.debtor_id,
    debtorName: r.debtor_name,
    source: r.source,
    documentNumber: r.document_number,
    openMinor: Number(r.open_minor),
    dueDate: r.due_date,
    isFee: isFee({ source: r.source, documentNumber: r.document_number }),
  });

  // (a) RF references Clearhub issued.
  const allRefs = [...new Set(probes.flatMap((p) => p.references))];
  const refs = new Map<string, { debtorId: string; itemIds: string[] | null }>();
  if (allRefs.length > 0) {
    const { rows } = await s.query<{ reference: string; debtor_id: string; item_ids: string[] | null }>(
      'SELECT reference, debtor_id, item_ids FROM payment_references WHERE tenant_id = $1 AND reference = ANY($2::text[])',
      [tenantId, allRefs],
    );
    for (const r of rows) refs.set(r.reference, { debtorId: r.debtor_id, itemIds: r.item_ids });
  }

  // (b) Document numbers: every key of every entry in one index lookup — except entries that quote a reference we
  // issued: that names debtor and items already, and most keys found in text are not document numbers.
  const referenced = (p: EntryProbe) => p.references.some((r) => refs.has(r));
  const allKeys = [...new Set(probes.flatMap((p) => (referenced(p) ? [] : p.documentKeys)))];
  const byKey = new Map<string, OpenItem[]>();
  if (allKeys.length > 0) {
    const { rows } = await s.query<ItemRow & { key: string }>(
      `SELECT i.document_key AS key, ${ITEM_COLUMNS}
       FROM items i ${WITH_DEBTOR}
       WHERE i.tenant_id = $1 AND i.status = 'open' AND i.currency = $2 AND i.document_key = ANY($3::text[])`,
      [tenantId, currency, allKeys],
    );
    for (const r of rows) {
      const list = byKey.get(r.key) ?? [];
      list.push(toItem(r));
      byKey.set(r.key, list);
    }
  }

  // (c) Payer IBANs known from mandates and earlier payments.
  const allIbans = [...new Set(probes.flatMap((p) => (p.iban ? [p.iban] : [])))];
  const byIban = new Map<string, string[]>();
  if (allIbans.length > 0) {
    const { rows } = await s.query<{ iban: string; debtor_id: string }>(
      'SELECT iban, debtor_id FROM debtor_accounts WHERE tenant_id = $1 AND iban = ANY($2::text[])',
      [tenantId, allIbans],
    );
    for (const r of rows) byIban.set(r.iban, [...(byIban.get(r.iban) ?? []), r.debtor_id]);
  }

  // Open items the candidates need: all of a debtor's for IBAN candidates and references issued for the whole account
  // (and every candidate's when over-payments go to other items), only the named ones for references issued for items.
  const whole = new Set<string>();
  const named = new Set<string>();
  const others = settings.overpayment === 'other-items';
  for (const p of probes) {
    for (const ref of p.references) {
      const r = refs.get(ref);
      if (!r) continue;
      if (r.itemIds && !others) for (const id of r.itemIds) named.add(id);
      else whole.add(r.debtorId);
    }
    if (p.iban) for (const d of byIban.get(p.iban) ?? []) whole.add(d);
    if (others) for (const k of p.documentKeys) for (const i of byKey.get(k) ?? []) whole.add(i.debtorId);
  }
  const openByDebtor = new Map<string, OpenItem[]>();
  const debtorNames = new Map<string, string | null>();
  if (whole.size > 0 || named.size > 0) {
    const { rows } = await s.query<Partial<ItemRow> & { owner: string; owner_name: string }>(
      `SELECT d.debtor_id AS owner, d.name AS owner_name, ${ITEM_COLUMNS}
       FROM debtors d
       LEFT JOIN items i ON i.tenant_id = d.tenant_id AND i.debtor_id = d.debtor_id AND i.status = 'open' AND i.currency = $2
       WHERE d.tenant_id = $1 AND d.debtor_id = ANY($3::text[])
       UNION ALL
       SELECT i.debtor_id, d.name, ${ITEM_COLUMNS}
       FROM items i ${WITH_DEBTOR}
       WHERE i.tenant_id = $1 AND i.item_id = ANY($4::text[]) AND i.status = 'open' AND i.currency = $2`,
      [tenantId, currency, [...whole], [...named]],
    );
    const seen = new Set<string>();
    for (const r of rows) {
      debtorNames.set(r.owner, r.owner_name);
      if (!r.item_id || seen.has(r.item_id)) continue;
      seen.add(r.item_id);
      const list = openByDebtor.get(r.owner) ?? [];
      list.push(toItem(r as ItemRow));
      openByDebtor.set(r.owner, list);
    }
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
      const r = refs.get(ref);
      if (r && !byDebtor.get(r.debtorId)?.reference) {
        get(r.debtorId, debtorNames.get(r.debtorId) ?? null).reference = { reference: ref, itemIds: r.itemIds };
      }
    }
    for (const key of p.documentKeys) {
      for (const item of byKey.get(key) ?? []) {
        const c = get(item.debtorId, item.debtorName);
        if (!c.documents.some((d) => d.item.itemId === item.itemId)) c.documents.push({ item, key });
      }
    }
    if (p.iban) {
      const ds = byIban.get(p.iban) ?? [];
      for (const d of ds) get(d, debtorNames.get(d) ?? null).iban = { sharedWith: ds.length - 1 };
    }
    return [...byDebtor.values()];
  });

  // (d) Amount and date, for the entries nothing else pointed at: open items of exactly that amount, nearest due
  // dates first (two index probes per entry, in one statement).
  const bare = probes.flatMap((p, idx) => (candidates[idx]!.length === 0 && p.facts.amountMinor > 0 ? [idx] : []));
  if (bare.length > 0) {
    const { rows } = await s.query<ItemRow & { idx: number }>(
      `SELECT a.idx, ${ITEM_COLUMNS}
       FROM unnest($3::bigint[], $4::date[], $5::int[]) AS a(amount, d, idx)
       CROSS JOIN LATERAL (
         (SELECT * FROM items x WHERE x.tenant_id = $1 AND x.status = 'open' AND x.open_minor = a.amount
            AND x.due_date <= a.d AND x.currency = $2 ORDER BY x.due_date DESC LIMIT ${AMOUNT_CANDIDATES_BEFORE})
         UNION ALL
         (SELECT * FROM items x WHERE x.tenant_id = $1 AND x.status = 'open' AND x.open_minor = a.amount
            AND x.due_date > a.d AND x.currency = $2 ORDER BY x.due_date LIMIT ${AMOUNT_CANDIDATES_AFTER})
       ) i ${WITH_DEBTOR}`,
      [
        tenantId,
        currency,
        bare.map((i) => probes[i]!.facts.amountMinor),
        bare.map((i) => probes[i]!.facts.bookingDate),
        bare,
      ],
    );
    for (const r of rows) {
      const list = candidates[r.idx]!;
      const item = toItem(r);
      let c = list.find((x) => x.debtorId === item.debtorId);
      if (!c) {
        c = { debtorId: item.debtorId, debtorName: item.debtorName, documents: [], open: [], amountOnly: true };
        list.push(c);
      }
      c.open.push(item);
    }
  }

  const decisions = probes.map((p, i) =>
    decide(p.facts, candidates[i]!, settings.allocationOrder, settings.autoThreshold),
  );
  return { decisions, candidates };
}
