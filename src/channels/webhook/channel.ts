/**
 * Notices as signed webhooks, for call centres and CRMs that act on a notice themselves (call the debtor, open a
 * case). One POST per notice with a JSON body ({@link WebhookNoticeEvent}), signed like Stripe's webhooks
 * (signature.ts), with the notice id as `Idempotency-Key` and in the event id so a receiver can drop a resend.
 */
import { ConnectorError, IntegrationError } from '../../domain/errors';
import { formatMinor } from '../../domain/money';
import type { Channel, ChannelSendResult, OutboundNotice } from '../channel';
import { type Secret, scrubSecrets } from '../secret';
import type { NoticeViewModel } from '../view-model';
import { SIGNATURE_HEADER, signWebhook } from './signature';

/**
 * Options of {@link createWebhookChannel}.
 *
 * @example createWebhookChannel({ url: 'https://crm.example.com/hooks/clearhub', secret: new Secret(process.env.CLEARHUB_WEBHOOK_SECRET!) })
 */
export interface WebhookChannelOptions {
  url: string;
  /** The endpoint's signing secret (from the environment). */
  secret: Secret;
  /** @defaultValue `10000` */
  timeoutMs?: number;
  /** Unix seconds of the signature. @defaultValue now */
  clock?: () => number;
  logger?: {
    info(message: string, meta: WebhookLogLine): unknown;
    warn(message: string, meta: WebhookLogLine): unknown;
  };
  /** @defaultValue global `fetch` */
  fetch?: typeof fetch;
}

export interface WebhookLogLine {
  channel: 'webhook';
  flow: 'send';
  idempotencyKey: string;
  status: 'sent' | 'failed' | 'retry' | 'config-error';
  ms: number;
  code?: string;
}

/** The body of a notice webhook. Amounts in minor units and as decimal strings, with the currency. */
export interface WebhookNoticeEvent {
  /** `evt_<notice id>`: the same for every resend of the notice. */
  id: string;
  type: 'dunning.notice';
  /** Unix seconds. */
  created: number;
  data: {
    tenantId: string;
    noticeId: string;
    level: number;
    tone: NoticeViewModel['tone'];
    locale: NoticeViewModel['locale'];
    asOf: string;
    payBy: string | null;
    debtor: { debtorId: string; externalId: string | null; name: string; email: string | null; phone: string | null };
    currency: string;
    items: {
      source: string;
      documentNumber: string;
      dueDate: string;
      daysPastDue: number | null;
      openMinor: number;
      open: string;
    }[];
    fees: { kind: string; amountMinor: number; amount: string }[];
    interestMinor: number;
    totalMinor: number;
    total: string;
    payLink: string | null;
    reference: string | null;
    /** What the debtor would read: subject and plain text of the notice. */
    subject: string;
    text: string;
  };
}

export function webhookEvent(notice: OutboundNotice, created: number): WebhookNoticeEvent {
  const v = notice.view;
  const dec = (minor: number) => formatMinor(minor, v.currency);
  return {
    id: `evt_${v.noticeId}`,
    type: 'dunning.notice',
    created,
    data: {
      tenantId: notice.tenantId,
      noticeId: v.noticeId,
      level: v.level,
      tone: v.tone,
      locale: v.locale,
      asOf: v.asOf,
      payBy: v.payBy ?? null,
      debtor: {
        debtorId: v.debtor.debtorId,
        externalId: v.debtor.externalId ?? null,
        name: v.debtor.name,
        email: v.debtor.email ?? null,
        phone: v.debtor.phone ?? null,
      },
      currency: v.currency,
      items: v.items.map((i) => ({
        source: i.source,
        documentNumber: i.documentNumber,
        dueDate: i.dueDate,
        daysPastDue: i.daysPastDue ?? null,
        openMinor: i.openMinor,
        open: dec(i.openMinor),
      })),
      fees: v.fees.map((f) => ({ kind: f.kind, amountMinor: f.amountMinor, amount: dec(f.amountMinor) })),
      interestMinor: v.totals.interestMinor,
      totalMinor: v.totals.totalMinor,
      total: dec(v.totals.totalMinor),
      payLink: v.payLink ?? null,
      reference: v.bankTransfer?.reference ?? null,
      subject: notice.rendered.subject,
      text: notice.rendered.text,
    },
  };
}

export function createWebhookChannel(opts: WebhookChannelOptions): Channel {
  const doFetch = opts.fetch ?? fetch;
  const clock = opts.clock ?? (() => Math.floor(Date.now() / 1000));
  const host = new URL(opts.url).host;
  const done = new Map<string, ChannelSendResult>();
  const clean = (text: string) => scrubSecrets(text, [opts.secret]);
  const log = (line: WebhookLogLine) => {
    if (!opts.logger) return;
    if (line.status === 'sent') opts.logger.info('webhook send', line);
    else opts.logger.warn('webhook send', line);
  };
  return {
    name: 'webhook',
    async send(notice) {
      const noticeId = notice.view.noticeId;
      const seen = done.get(noticeId);
      if (seen) return seen;
      const created = clock();
      const event = webhookEvent(notice, created);
      const body = JSON.stringify(event);
      const started = performance.now();
      const ms = () => Math.round(performance.now() - started);
      const line = (status: WebhookLogLine['status'], code?: string): WebhookLogLine => ({
        channel: 'webhook',
        flow: 'send',
        idempotencyKey: noticeId,
        status,
        ms: ms(),
        code,
      });
      let res: Response;
      try {
        res = await doFetch(opts.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': noticeId,
            [SIGNATURE_HEADER]: signWebhook(opts.secret.reveal(), body, created),
            'user-agent': 'Clearhub-Webhooks/1',
          },
          body,
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        const code = e.name === 'TimeoutError' ? 'ETIMEDOUT' : (e.cause?.code ?? e.name);
        log(line('retry', code));
        throw new ConnectorError(`webhook ${host} unreachable (${code}): ${clean(e.message)}`, {
          code,
          indeterminate: code !== 'ECONNREFUSED' && code !== 'ENOTFOUND',
        });
      }
      const text = clean((await res.text()).slice(0, 500));
      const code = String(res.status);
      if (res.ok) {
        log(line('sent', code));
        let id: string | undefined = res.headers.get('x-request-id') ?? undefined;
        try {
          const parsed = JSON.parse(text) as { id?: unknown };
          if (typeof parsed.id === 'string') id = parsed.id;
        } catch {
          // a receiver need not answer JSON
        }
        const result: ChannelSendResult = {
          channel: 'webhook',
          status: 'sent',
          providerMessageId: id ?? event.id,
          recipient: host,
          code,
        };
        done.set(noticeId, result);
        return result;
      }
      if (res.status === 401 || res.status === 403) {
        log(line('config-error', code));
        throw new IntegrationError(
          `the webhook receiver ${host} refused the signature (${res.status}); check the endpoint secret`,
          'webhook.secret',
        );
      }
      if (res.status === 408 || res.status === 409 || res.status === 429 || res.status >= 500) {
        log(line('retry', code));
        throw new ConnectorError(`webhook ${host} answered ${res.status}`, { code, indeterminate: res.status >= 500 });
      }
      log(line('failed', code));
      const result: ChannelSendResult = {
        channel: 'webhook',
        status: 'failed',
        recipient: host,
        reason: `the receiver answered ${res.status}${text ? `: ${text}` : ''}`,
        code,
      };
      done.set(noticeId, result);
      return result;
    },
  };
}
