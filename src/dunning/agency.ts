/**
 * Hand-off to a collection agency. A level with `actions.handOff` makes a claim per item (in the run's transaction,
 * with an `agency` hold that keeps the item out of dunning); `exportClaims` writes the agency's claim file (CSV) and
 * `importAgencyStatus` reads the status file the agency sends back. An item the agency returns goes back into dunning.
 */
import { parse } from 'csv-parse/sync';
import { IntegrationError } from '../domain/errors';
import { formatMinor, parseDecimalToMinor } from '../domain/money';
import type { Store } from '../store/db';
import type { AgencyClaimStatus } from '../store/schema-dunning';
import { query } from './run';

export const CLAIM_FILE_HEADER = [
  'claim_id',
  'agency',
  'debtor_id',
  'debtor_name',
  'debtor_type',
  'email',
  'phone',
  'country',
  'customer_no',
  'source',
  'document_number',
  'due_date',
  'currency',
  'principal',
  'interest',
  'notice_id',
  'run_id',
] as const;

function cell(v: string | number | null): string {
  const s = v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The claims waiting for an agency as its claim file (CSV with a header, one line per item), marked exported with the
 * file name once `write` has written it: a file that cannot be written leaves its claims to the next export. Claims
 * exported twice (a crash between writing and marking) carry the same claim id, which the agency de-duplicates on.
 */
export async function exportClaims(
  store: Store,
  o: { tenantId: string; agency: string; file: string; write?: (csv: string) => void },
): Promise<{ csv: string; claims: number }> {
  const rows = await query<{
    claim_id: string;
    agency: string;
    debtor_id: string;
    name: string | null;
    type: string | null;
    email: string | null;
    phone: string | null;
    country: string | null;
    external_id: string;
    source: string;
    document_number: string;
    due_date: string;
    currency: string;
    amount_minor: number;
    interest_minor: number;
    notice_id: string;
    run_id: string;
  }>(
    store,
    `SELECT c.claim_id, c.agency, c.debtor_id, d.name, d.type, d.email, d.phone, d.country, i.external_id, i.source,
            i.document_number, i.due_date::text AS due_date, c.currency, c.amount_minor, c.interest_minor, c.notice_id,
            c.run_id
     FROM agency_claims c
     JOIN items i ON i.tenant_id = c.tenant_id AND i.item_id = c.item_id
     LEFT JOIN debtors d ON d.tenant_id = c.tenant_id AND d.debtor_id = c.debtor_id
     WHERE c.tenant_id = $1 AND c.agency = $2 AND c.status = 'pending'
     ORDER BY c.claim_id`,
    [o.tenantId, o.agency],
  );
  let csv = `${CLAIM_FILE_HEADER.join(',')}\n`;
  for (const r of rows) {
    csv += `${[
      r.claim_id,
      r.agency,
      r.debtor_id,
      r.name,
      r.type,
      r.email,
      r.phone,
      r.country,
      r.external_id,
      r.source,
      r.document_number,
      r.due_date,
      r.currency,
      formatMinor(Number(r.amount_minor), r.currency),
      formatMinor(Number(r.interest_minor), r.currency),
      r.notice_id,
      r.run_id,
    ]
      .map(cell)
      .join(',')}\n`;
  }
  o.write?.(csv);
  if (rows.length > 0) {
    await store.db
      .updateTable('agency_claims')
      .set({ status: 'exported', file: o.file, exported_at: new Date().toISOString() })
      .where('tenant_id', '=', o.tenantId)
      .where(
        'claim_id',
        'in',
        rows.map((r) => r.claim_id),
      )
      .where('status', '=', 'pending')
      .execute();
  }
  return { csv, claims: rows.length };
}

const STATUSES: readonly AgencyClaimStatus[] = [
  'accepted',
  'collecting',
  'collected',
  'partially_collected',
  'returned',
  'closed',
];

/**
 * Reads an agency's status file: CSV with the header `claim_id,status,collected,note` (`collected` as a decimal in the
 * claim's currency, may be empty). Every line is checked first; a wrong one is an error naming `file:line`, and then
 * nothing is changed. A `returned` claim releases its item's agency hold: the item is dunned again.
 */
export async function importAgencyStatus(
  store: Store,
  o: { tenantId: string; agency: string; file: string; text: string },
): Promise<{ updated: number; returned: number; unchanged: number }> {
  let records: Record<string, string>[];
  try {
    records = parse(o.text, { columns: true, skip_empty_lines: true, trim: true, bom: true });
  } catch (err) {
    throw new IntegrationError(`${o.file}: ${(err as Error).message}`, 'file');
  }
  const claims = new Map(
    (
      await store.db
        .selectFrom('agency_claims')
        .select(['claim_id', 'currency', 'status', 'collected_minor', 'item_id', 'debtor_id'])
        .where('tenant_id', '=', o.tenantId)
        .where('agency', '=', o.agency)
        .where('claim_id', 'in', records.map((r) => r.claim_id ?? '').concat(['']))
        .execute()
    ).map((c) => [c.claim_id, c]),
  );
  const problems: string[] = [];
  const updates: { claimId: string; status: AgencyClaimStatus; collectedMinor: number; note: string | null }[] = [];
  for (const [k, r] of records.entries()) {
    const line = k + 2;
    const claim = claims.get(r.claim_id ?? '');
    if (!claim) {
      problems.push(`${o.file}:${line}: no claim "${r.claim_id ?? ''}" of agency ${o.agency}`);
      continue;
    }
    const status = r.status as AgencyClaimStatus;
    if (!STATUSES.includes(status)) {
      problems.push(`${o.file}:${line}: status "${r.status ?? ''}"; expected one of ${STATUSES.join(', ')}`);
      continue;
    }
    let collectedMinor = Number(claim.collected_minor);
    if (r.collected) {
      try {
        collectedMinor = parseDecimalToMinor(r.collected, claim.currency, 'collected');
      } catch (err) {
        problems.push(`${o.file}:${line}: ${(err as Error).message}`);
        continue;
      }
    }
    updates.push({ claimId: claim.claim_id, status, collectedMinor, note: r.note || null });
  }
  if (problems.length > 0) throw new IntegrationError(problems.join('\n'), 'file');
  let updated = 0;
  let returned = 0;
  await store.db.transaction().execute(async (trx) => {
    for (const u of updates) {
      const c = claims.get(u.claimId)!;
      if (c.status === u.status && Number(c.collected_minor) === u.collectedMinor) continue;
      await trx
        .updateTable('agency_claims')
        .set({ status: u.status, collected_minor: u.collectedMinor, note: u.note, status_at: new Date().toISOString() })
        .where('tenant_id', '=', o.tenantId)
        .where('claim_id', '=', u.claimId)
        .execute();
      updated++;
      if (u.status === 'returned' && c.status !== 'returned') {
        const released = await trx
          .updateTable('holds')
          .set({ resolved_at: new Date().toISOString(), outcome: 'returned', resolution: `returned by ${o.agency}` })
          .where('tenant_id', '=', o.tenantId)
          .where('item_id', '=', c.item_id)
          .where('kind', '=', 'agency')
          .where('resolved_at', 'is', null)
          .returning(['hold_id'])
          .execute();
        if (released.length > 0) {
          returned++;
          await trx
            .insertInto('events')
            .values(
              released.map((h) => ({
                tenant_id: o.tenantId,
                type: 'hold.released',
                subject: `hold:${h.hold_id}`,
                payload: JSON.stringify({ holdId: h.hold_id, kind: 'agency', reason: `returned by ${o.agency}` }),
              })),
            )
            .execute();
        }
      }
    }
  });
  return { updated, returned, unchanged: updates.length - updated };
}
