import type { EmailChannel } from '../channels/email';
import { ConnectorError, IntegrationError } from '../domain/errors';
import { type DomainEvent, event } from '../domain/events';
import { formatMoney } from '../domain/money';
import type { Store } from '../store/db';
import { appendEvents } from '../store/events';
import { daysBetween } from './strategy';

/** The view a notice template renders; the names are the templates' contract (config/templates). */
export interface NoticeView {
  debtor: { name: string; salutation: string };
  tenant: { name: string };
  level: number;
  levelName: string;
  items: { documentNumber: string; dueDate: string; daysPastDue: number; openAmount: string; source: string }[];
  fee: string;
  total: string;
  payLink?: string;
  currency: string;
  asOf: string;
}

export type RenderNotice = (
  locale: string,
  template: string,
  view: NoticeView,
) => { subject: string; text: string; html: string };

export interface SendOptions {
  tenantId: string;
  tenantName: string;
  runId: string;
  asOf: string;
  languages: readonly string[];
  defaultLanguage: string;
  levelNames: ReadonlyMap<number, string>;
  render: RenderNotice;
  email: EmailChannel;
  concurrency?: number;
  onProgress?: (sent: number) => void;
}

export interface SendResult {
  sent: number;
  bounced: number;
  failed: number;
  /** Left pending after a transient failure; the next run (or `dunning send`) retries them. */
  deferred: number;
}

const LOCALES: Record<string, string> = { de: 'de-DE', en: 'en-GB' };

/**
 * Sends the run's pending notices by e-mail. A notice is marked sent, bounced or failed exactly once; a transient SMTP
 * failure leaves it pending for the next attempt, and the Message-ID is derived from the notice id so a resend after
 * an unknown outcome is recognisable downstream.
 */
export async function sendPendingNotices(store: Store, opts: SendOptions): Promise<SendResult> {
  const result: SendResult = { sent: 0, bounced: 0, failed: 0, deferred: 0 };
  let cursor = '';
  const concurrency = opts.concurrency ?? 8;
  await opts.email.verify();
  for (;;) {
    const page = await store.db
      .selectFrom('notices as n')
      .innerJoin('debtors as d', (j) =>
        j.onRef('d.tenant_id', '=', 'n.tenant_id').onRef('d.debtor_id', '=', 'n.debtor_id'),
      )
      .select([
        'n.notice_id',
        'n.level',
        'n.template',
        'n.currency',
        'n.total_minor',
        'n.fee_minor',
        'n.item_ids',
        'n.channel',
        'd.name',
        'd.email',
        'd.language',
        'd.type',
      ])
      .where('n.tenant_id', '=', opts.tenantId)
      .where('n.run_id', '=', opts.runId)
      .where('n.status', '=', 'pending')
      .where('n.notice_id', '>', cursor)
      .orderBy('n.notice_id')
      .limit(200)
      .execute();
    if (page.length === 0) break;
    cursor = page.at(-1)!.notice_id;
    const itemIds = page.flatMap((n) => n.item_ids);
    const items = await store.db
      .selectFrom('items')
      .select(['item_id', 'document_number', 'due_date', 'open_minor', 'currency', 'source'])
      .where('tenant_id', '=', opts.tenantId)
      .where('item_id', 'in', itemIds)
      .execute();
    const itemById = new Map(items.map((i) => [i.item_id, i]));

    const outcomes: {
      noticeId: string;
      status: 'sent' | 'bounced' | 'failed';
      messageId?: string;
      error?: string;
      recipient?: string;
    }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < page.length) {
        const n = page[next++]!;
        const lang = opts.languages.includes(n.language) ? n.language : opts.defaultLanguage;
        if (n.channel !== 'email' || !n.email) {
          outcomes.push({
            noticeId: n.notice_id,
            status: 'failed',
            error: n.email ? `channel ${n.channel} is not available yet` : 'debtor has no e-mail address',
          });
          continue;
        }
        const fmt = (minor: number) =>
          formatMoney({ amountMinor: minor, currency: n.currency }, LOCALES[lang] ?? 'de-DE');
        const view: NoticeView = {
          debtor: { name: n.name, salutation: salutation(lang, n.name, n.type) },
          tenant: { name: opts.tenantName },
          level: n.level,
          levelName: opts.levelNames.get(n.level) ?? String(n.level),
          items: n.item_ids.flatMap((id) => {
            const i = itemById.get(id);
            return i
              ? [
                  {
                    documentNumber: i.document_number,
                    dueDate: i.due_date,
                    daysPastDue: daysBetween(i.due_date, opts.asOf),
                    openAmount: fmt(i.open_minor),
                    source: i.source,
                  },
                ]
              : [];
          }),
          fee: n.fee_minor > 0 ? fmt(n.fee_minor) : '',
          total: fmt(n.total_minor + n.fee_minor),
          currency: n.currency,
          asOf: opts.asOf,
        };
        const msg = opts.render(lang, n.template, view);
        try {
          const r = await opts.email.send({
            to: n.email,
            subject: msg.subject,
            text: msg.text,
            html: msg.html,
            messageId: `<${n.notice_id}@clearhub>`,
            headers: { 'X-Clearhub-Notice': n.notice_id },
          });
          outcomes.push({
            noticeId: n.notice_id,
            status: r.status,
            messageId: r.messageId,
            error: r.error,
            recipient: n.email,
          });
        } catch (err) {
          if (err instanceof ConnectorError) {
            result.deferred++;
            continue;
          }
          // Credentials or sender refused: every notice would fail the same way. Stop the run; the notices stay
          // pending and go out once the configuration is fixed.
          if (err instanceof IntegrationError) throw err;
          outcomes.push({
            noticeId: n.notice_id,
            status: 'failed',
            error: err instanceof Error ? err.message : String(err),
            recipient: n.email,
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, page.length) }, worker));

    await store.db.transaction().execute(async (trx) => {
      const events: DomainEvent[] = [];
      for (const o of outcomes) {
        await trx
          .updateTable('notices')
          .set({
            status: o.status,
            message_id: o.messageId ?? null,
            error: o.error ?? null,
            recipient: o.recipient ?? null,
            sent_at: o.status === 'sent' ? new Date().toISOString() : null,
          })
          .where('tenant_id', '=', opts.tenantId)
          .where('notice_id', '=', o.noticeId)
          .where('status', '=', 'pending')
          .execute();
        result[o.status]++;
        events.push(
          o.status === 'sent'
            ? event(opts.tenantId, 'notice.sent', `notice:${o.noticeId}`, {
                noticeId: o.noticeId,
                channel: 'email',
                messageId: o.messageId,
              })
            : event(opts.tenantId, 'notice.failed', `notice:${o.noticeId}`, {
                noticeId: o.noticeId,
                channel: 'email',
                reason: o.error ?? o.status,
              }),
        );
      }
      await appendEvents(trx, events);
    });
    opts.onProgress?.(result.sent + result.bounced + result.failed);
  }
  return result;
}

function salutation(lang: string, name: string, type: string): string {
  if (lang === 'de') return type === 'B2B' ? 'Sehr geehrte Damen und Herren' : `Guten Tag ${name}`;
  return type === 'B2B' ? 'Dear Sir or Madam' : `Dear ${name}`;
}
