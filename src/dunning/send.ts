import type { Channel, ChannelSet, OutboundNotice } from '../channels/channel';
import { channelPlan } from '../channels/channel';
import { loadAttempts, recordAttempts } from '../channels/deliveries';
import { type DeliveryOutcome, deliverNotice } from '../channels/dispatch';
import type { EmailChannel } from '../channels/email';
import { createEmailNoticeChannel } from '../channels/email-notice';
import { buildViewModel, type NoticeSettings, toneOfTemplate } from '../channels/from-store';
import { isTone, type NoticeView, type RenderedNotice } from '../channels/templates';
import type { AddressForm, NoticeFee, NoticeInterest, NoticeViewModel, Tone } from '../channels/view-model';
import { isCalendarDate } from '../domain/dates';
import { ConnectorError, IntegrityError } from '../domain/errors';
import { type DomainEvent, event } from '../domain/events';
import { formatMoney } from '../domain/money';
import type { Store } from '../store/db';
import { appendEvents } from '../store/events';
import { defaultInterest, SURCHARGE_BASIS_POINTS } from './legal/interest';
import { germanBaseRates } from './run';

export type { NoticeView } from '../channels/templates';

/**
 * Renders a notice. The view carries the full view model (`view.model`); `renderNotice` (channels/templates.ts)
 * renders from it and returns the SMS text and the letter PDF too.
 */
export type RenderNotice = (locale: string, template: string, view: NoticeView) => RenderedNotice;

export interface SendOptions {
  tenantId: string;
  tenantName: string;
  runId: string;
  asOf: string;
  languages: readonly string[];
  defaultLanguage: string;
  levelNames: ReadonlyMap<number, string>;
  render: RenderNotice;
  /** The SMTP channel; always verified before a run. */
  email: EmailChannel;
  /** The other channels by name (`sms`, `letter`, `webhook`); a notice's plan naming a missing one falls through. */
  channels?: ChannelSet;
  /** Creditor, bank account (RF reference and GiroCode), contact and payment days of the notices. */
  settings?: Partial<NoticeSettings>;
  /**
   * The tone of each level, for notices that do not record one (`notices.tone`); else the tone the template name
   * stands for (`first` → neutral).
   */
  levelTones?: ReadonlyMap<number, Tone>;
  /** German form of address per debtor, for notices that do not record one (`notices.address_form`). @defaultValue `'Sie'` */
  addressForm?: (debtor: { debtorId: string; type: 'B2B' | 'B2C' }) => AddressForm;
  /** Tones whose e-mail carries the letter PDF. @defaultValue `['neutral', 'firm', 'final']` */
  attachLetter?: readonly Tone[];
  /**
   * Completes each notice's view model before it is rendered: the pay link, interest, tone and form of address the
   * run recorded. Return the model to send.
   */
  viewModel?: (
    view: NoticeViewModel,
    notice: { noticeId: string; debtorId: string; level: number; template: string },
  ) => NoticeViewModel | Promise<NoticeViewModel>;
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
 * Sends the run's pending notices over each notice's channels (`notices.channel`: one name or a fallback list such as
 * `email,letter`). A notice is marked sent, bounced or failed exactly once; every attempt is recorded
 * (`notice_deliveries`). A transient failure leaves it pending for the next attempt, which resumes after the channels
 * that already refused it and never sends twice over one that took it. E-mail Message-IDs derive from the notice id,
 * so a resend after an unknown outcome is recognisable downstream.
 */
export async function sendPendingNotices(store: Store, opts: SendOptions): Promise<SendResult> {
  const result: SendResult = { sent: 0, bounced: 0, failed: 0, deferred: 0 };
  let cursor = '';
  const concurrency = opts.concurrency ?? 8;
  const channels: ChannelSet = {
    ...opts.channels,
    email: createEmailNoticeChannel({ email: opts.email, attachLetter: opts.attachLetter }),
  };
  const flushing = Object.values(channels).filter((c): c is Channel & Required<Pick<Channel, 'flush'>> =>
    Boolean(c?.flush),
  );
  const settings: NoticeSettings = {
    ...opts.settings,
    creditor: { addressLines: [], ...opts.settings?.creditor, name: opts.settings?.creditor?.name ?? opts.tenantName },
  };
  await opts.email.verify();
  for (;;) {
    const page = await store.db
      .selectFrom('notices as n')
      .innerJoin('debtors as d', (j) =>
        j.onRef('d.tenant_id', '=', 'n.tenant_id').onRef('d.debtor_id', '=', 'n.debtor_id'),
      )
      .leftJoin('debtor_addresses as a', (j) =>
        j.onRef('a.tenant_id', '=', 'n.tenant_id').onRef('a.debtor_id', '=', 'n.debtor_id'),
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
        'n.tone',
        'n.address_form',
        'n.interest_minor',
        'n.lump_sum_minor',
        'd.debtor_id',
        'd.name',
        'd.email',
        'd.phone',
        'd.language',
        'd.type',
        'd.country',
        'a.lines as address_lines',
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
      .select([
        'item_id',
        'document_number',
        'document_date',
        'due_date',
        'amount_minor',
        'open_minor',
        'currency',
        'source',
        'external_id',
        'contract_ref',
      ])
      .where('tenant_id', '=', opts.tenantId)
      .where('item_id', 'in', itemIds)
      .execute();
    const itemById = new Map(items.map((i) => [i.item_id, i]));
    // Default interest as the run computed it, per item (notice_items, migration 0004).
    const interestRows = await store.db
      .selectFrom('notice_items')
      .select([
        'notice_id',
        'item_id',
        'open_minor',
        'interest_minor',
        'interest_from',
        'interest_to',
        'interest_rate_bp',
      ])
      .where('tenant_id', '=', opts.tenantId)
      .where(
        'notice_id',
        'in',
        page.map((n) => n.notice_id),
      )
      .where('interest_minor', '>', 0)
      .execute();
    const interestOf = new Map<string, NoticeInterest[]>();
    const business = new Set(page.filter((n) => n.type === 'B2B').map((n) => n.notice_id));
    for (const r of interestRows) {
      const list = interestOf.get(r.notice_id) ?? [];
      list.push(
        ...interestLines(
          {
            amountMinor: r.interest_minor,
            principalMinor: r.open_minor,
            from: r.interest_from ?? '',
            to: r.interest_to ?? '',
            rateBasisPoints: r.interest_rate_bp ?? 0,
            documentNumbers: [itemById.get(r.item_id)?.document_number ?? r.item_id],
          },
          business.has(r.notice_id),
        ),
      );
      interestOf.set(r.notice_id, list);
    }
    const previous = await loadAttempts(
      store.db,
      opts.tenantId,
      page.map((n) => n.notice_id),
    );

    const outcomes: { noticeId: string; outcome: DeliveryOutcome; recorded: number }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < page.length) {
        const n = page[next++]!;
        const lang = opts.languages.includes(n.language) ? n.language : opts.defaultLanguage;
        const tone =
          (n.tone && isTone(n.tone) ? n.tone : undefined) ??
          opts.levelTones?.get(n.level) ??
          toneOfTemplate(n.template);
        const address: AddressForm =
          n.address_form === 'du' || n.address_form === 'Sie'
            ? n.address_form
            : (opts.addressForm?.({ debtorId: n.debtor_id, type: n.type }) ?? 'Sie');
        const interest = n.interest_minor > 0 ? (interestOf.get(n.notice_id) ?? []) : [];
        if (interest.reduce((sum, i) => sum + i.amountMinor, 0) !== n.interest_minor) {
          throw new IntegrityError(
            `notice ${n.notice_id}: interest ${n.interest_minor} does not match its items' interest in notice_items`,
          );
        }
        const fees: NoticeFee[] = [];
        if (n.fee_minor > 0) fees.push({ kind: 'dunning-fee', amountMinor: n.fee_minor });
        if (n.lump_sum_minor > 0) fees.push({ kind: 'lump-sum', amountMinor: n.lump_sum_minor });
        const noticeItems = n.item_ids.flatMap((id) => {
          const i = itemById.get(id);
          return i ? [i] : [];
        });
        let model = buildViewModel({
          noticeId: n.notice_id,
          locale: lang,
          tone,
          address,
          asOf: opts.asOf,
          level: n.level,
          currency: n.currency,
          debtor: n,
          postalAddress: n.address_lines ?? undefined,
          items: noticeItems,
          fees,
          interest,
          settings,
        });
        if (opts.viewModel) {
          model = await opts.viewModel(model, {
            noticeId: n.notice_id,
            debtorId: n.debtor_id,
            level: n.level,
            template: n.template,
          });
        }
        const fmt = (minor: number) =>
          formatMoney({ amountMinor: minor, currency: n.currency }, LOCALES[lang] ?? 'de-DE');
        // The first view of a notice, for templates of the first kind; the model is what the standard ones render.
        const view: NoticeView = {
          debtor: { name: n.name, salutation: salutation(lang, n.name, n.type) },
          tenant: { name: opts.tenantName },
          level: n.level,
          levelName: opts.levelNames.get(n.level) ?? String(n.level),
          items: model.items.map((i) => ({
            documentNumber: i.documentNumber,
            dueDate: i.dueDate,
            daysPastDue: i.daysPastDue ?? 0,
            openAmount: fmt(i.openMinor),
            source: i.source,
          })),
          fee: model.totals.feesMinor > 0 ? fmt(model.totals.feesMinor) : '',
          total: fmt(model.totals.totalMinor),
          payLink: model.payLink,
          currency: n.currency,
          asOf: opts.asOf,
          model,
        };
        const r = opts.render(lang, n.template, view);
        const outbound: OutboundNotice = {
          tenantId: opts.tenantId,
          template: n.template,
          view: model,
          rendered: {
            subject: r.subject,
            text: r.text,
            html: r.html,
            sms: r.sms ?? `${r.subject}${model.payLink ? ` ${model.payLink}` : ''}`,
            title: r.title ?? r.subject,
            pdf: r.pdf,
          },
        };
        const before = previous.get(n.notice_id) ?? [];
        const outcome = await deliverNotice(outbound, channelPlan(n.channel), channels, before);
        outcomes.push({ noticeId: n.notice_id, outcome, recorded: before.length });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, page.length) }, worker));

    // Letters accepted into a print batch count once the batch is dropped; if it cannot be, they wait.
    for (const c of flushing) {
      try {
        await c.flush();
      } catch (err) {
        if (!(err instanceof ConnectorError)) throw err;
        for (const o of outcomes) {
          if (o.outcome.status === 'sent' && o.outcome.channel === c.name && o.outcome.attempts.length > 0) {
            o.outcome = { status: 'deferred', channel: c.name, attempts: o.outcome.attempts.slice(0, -1), error: err };
          }
        }
      }
    }

    await store.db.transaction().execute(async (trx) => {
      const events: DomainEvent[] = [];
      for (const { noticeId, outcome: o, recorded } of outcomes) {
        await recordAttempts(trx, opts.tenantId, noticeId, o.attempts, recorded);
        if (o.status === 'deferred') {
          result.deferred++;
          continue;
        }
        await trx
          .updateTable('notices')
          .set({
            status: o.status,
            message_id: o.providerMessageId ?? null,
            error: o.status === 'sent' ? null : (o.reason ?? o.status),
            recipient: o.recipient ?? null,
            sent_at: o.status === 'sent' ? new Date().toISOString() : null,
          })
          .where('tenant_id', '=', opts.tenantId)
          .where('notice_id', '=', noticeId)
          .where('status', '=', 'pending')
          .execute();
        result[o.status]++;
        events.push(
          o.status === 'sent'
            ? event(opts.tenantId, 'notice.sent', `notice:${noticeId}`, {
                noticeId,
                channel: o.channel ?? 'email',
                messageId: o.providerMessageId,
              })
            : event(opts.tenantId, 'notice.failed', `notice:${noticeId}`, {
                noticeId,
                channel: o.channel ?? 'none',
                reason: o.reason ?? o.status,
              }),
        );
      }
      await appendEvents(trx, events);
    });
    opts.onProgress?.(result.sent + result.bounced + result.failed);
  }
  return result;
}

/**
 * An item's §288 interest as the notice prints it: one line per base rate in force over its days (the run records one
 * rate per item, the last), so each printed rate is the one its days earned. Each line is that period's interest; the
 * last takes what the rounding left, so the lines add up to the interest the run charged.
 */
export function interestLines(i: NoticeInterest, business: boolean): NoticeInterest[] {
  if (!isCalendarDate(i.from) || !isCalendarDate(i.to) || i.principalMinor <= 0) return [i];
  const interest = (from: string, to: string) =>
    defaultInterest({
      amountMinor: i.principalMinor,
      from,
      to,
      surchargeBasisPoints: business ? SURCHARGE_BASIS_POINTS.business : SURCHARGE_BASIS_POINTS.consumer,
      table: germanBaseRates(),
    });
  const spans: { from: string; to: string; rateBasisPoints: number }[] = [];
  for (const p of interest(i.from, i.to).periods) {
    const last = spans.at(-1);
    if (last && last.rateBasisPoints === p.rateBasisPoints) last.to = p.to;
    else spans.push({ from: p.from, to: p.to, rateBasisPoints: p.rateBasisPoints });
  }
  if (spans.length < 2) return [i];
  let rest = i.amountMinor;
  return spans.map((p, k) => {
    const amountMinor = k === spans.length - 1 ? rest : interest(p.from, p.to).interestMinor;
    rest -= amountMinor;
    return { ...i, ...p, amountMinor };
  });
}

function salutation(lang: string, name: string, type: string): string {
  if (lang === 'de') return type === 'B2B' ? 'Sehr geehrte Damen und Herren' : `Guten Tag ${name}`;
  return type === 'B2B' ? 'Dear Sir or Madam' : `Dear ${name}`;
}
