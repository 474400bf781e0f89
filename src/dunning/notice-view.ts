/**
 * What the run decided about a notice, handed to the channels: the tone and form of address of its level, the §288
 * interest per item and the €40 lump sum. `sendPendingNotices` (send.ts) builds a view model from the notice and its
 * items; {@link noticeViewCompleter} is its `viewModel` hook and completes the model from the notice's record.
 */
import { isTone } from '../channels/templates';
import { type AddressForm, type NoticeInterest, type NoticeViewModel, noticeTotals } from '../channels/view-model';
import type { Store } from '../store/db';
import { query } from './run';

interface Recorded {
  tone: string | null;
  address: string | null;
  lumpSumMinor: number;
  interest: NoticeInterest[];
}

/**
 * A `viewModel` hook for `sendPendingNotices` over one run: reads the run's notices in windows of 500 (the order the
 * sender pages in), so a run of any size costs two queries per window.
 */
export function noticeViewCompleter(
  store: Store,
  tenantId: string,
  runId: string,
): (view: NoticeViewModel, notice: { noticeId: string }) => Promise<NoticeViewModel> {
  const cache = new Map<string, Recorded>();
  const load = async (from: string) => {
    const rows = await query<{
      notice_id: string;
      tone: string | null;
      address_form: string | null;
      lump_sum_minor: number;
    }>(
      store,
      `SELECT notice_id, tone, address_form, lump_sum_minor FROM notices
       WHERE tenant_id = $1 AND run_id = $2 AND notice_id >= $3 ORDER BY notice_id LIMIT 500`,
      [tenantId, runId, from],
    );
    const ids = rows.map((r) => r.notice_id);
    const lines = ids.length
      ? await query<{
          notice_id: string;
          interest_minor: number;
          open_minor: number;
          interest_from: string;
          interest_to: string;
          interest_rate_bp: number;
          document_number: string;
        }>(
          store,
          `SELECT ni.notice_id, ni.interest_minor, ni.open_minor, ni.interest_from::text AS interest_from,
                  ni.interest_to::text AS interest_to, ni.interest_rate_bp, i.document_number
           FROM notice_items ni JOIN items i ON i.tenant_id = ni.tenant_id AND i.item_id = ni.item_id
           WHERE ni.tenant_id = $1 AND ni.notice_id = ANY($2::text[]) AND ni.interest_minor > 0
           ORDER BY ni.notice_id, ni.interest_from, i.document_number`,
          [tenantId, ids],
        )
      : [];
    for (const r of rows) {
      cache.set(r.notice_id, {
        tone: r.tone,
        address: r.address_form,
        lumpSumMinor: Number(r.lump_sum_minor),
        interest: [],
      });
    }
    for (const l of lines) {
      cache.get(l.notice_id)?.interest.push({
        amountMinor: Number(l.interest_minor),
        principalMinor: Number(l.open_minor),
        from: l.interest_from,
        to: l.interest_to,
        rateBasisPoints: l.interest_rate_bp,
        documentNumbers: [l.document_number],
      });
    }
  };
  return async (view, notice) => {
    if (!cache.has(notice.noticeId)) await load(notice.noticeId);
    const r = cache.get(notice.noticeId);
    cache.delete(notice.noticeId);
    if (!r) return view;
    const fees =
      r.lumpSumMinor > 0 ? [...view.fees, { kind: 'lump-sum' as const, amountMinor: r.lumpSumMinor }] : view.fees;
    const next: NoticeViewModel = {
      ...view,
      ...(r.tone && isTone(r.tone) ? { tone: r.tone } : {}),
      ...(r.address === 'du' || r.address === 'Sie' ? { address: r.address as AddressForm } : {}),
      fees,
      interest: r.interest,
    };
    return { ...next, totals: noticeTotals(next) };
  };
}
