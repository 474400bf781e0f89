/**
 * The hosted pay page behind a notice's pay link (`/pay/{token}`): the debtor's open items across subledgers, a
 * choice of items (all preselected), the methods this debtor may use, and the checkout. Server-rendered HTML that
 * works without JavaScript, in German and English, sized for a phone, with labels, fieldsets and live error regions.
 * Card data never reaches this server: card and wallet methods go to the provider's own hosted page (redirect).
 * A POST that starts a payment answers with a redirect (Post/Redirect/Get): to the provider's page, or to
 * `/pay/{token}/payments/{paymentId}`, which shows the outcome or the transfer instructions and can be reloaded
 * without paying twice. A payment is shown only under a link of the debtor it belongs to.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import QRCode from 'qrcode';
import { ConnectorError, IntegrationError } from '../../domain/errors';
import { formatMoney } from '../../domain/money';
import {
  completePayment,
  createSession,
  type GatewayContext,
  getPayment,
  offerFor,
  type PaymentView,
  paySession,
  type TenantGateway,
} from '../../gateway/checkout';
import { tenantOfPayLink, verifyPayLink } from '../../gateway/paylink';
import { groupInFours } from '../../gateway/providers/bank-transfer/transformers';
import type { NextAction } from '../../gateway/providers/types';

type Lang = 'de' | 'en';

const TEXT = {
  de: {
    title: 'Offene Rechnungen bezahlen',
    greeting: (n: string) => `Guten Tag ${n},`,
    intro: 'hier sehen Sie alle offenen Posten. Wählen Sie, was Sie jetzt bezahlen möchten.',
    items: 'Offene Posten',
    document: 'Beleg',
    source: 'Bereich',
    due: 'Fällig am',
    amount: 'Betrag',
    choose: 'Posten auswählen',
    total: 'Summe aller offenen Posten',
    method: 'Zahlungsart',
    iban: 'IBAN (nur für Lastschrift)',
    holder: 'Kontoinhaber (nur für Lastschrift)',
    pay: 'Jetzt bezahlen',
    nothing: 'Es sind keine Posten mehr offen. Vielen Dank!',
    invalid: 'Dieser Link ist ungültig.',
    expired: 'Dieser Link ist abgelaufen. Bitte wenden Sie sich an uns, wir senden Ihnen gern einen neuen.',
    noneSelected: 'Bitte wählen Sie mindestens einen Posten.',
    noMethod: 'Bitte wählen Sie eine Zahlungsart.',
    transferTitle: 'Bitte überweisen Sie',
    recipient: 'Empfänger',
    reference: 'Verwendungszweck',
    qrHint: 'Scannen Sie den QR-Code (GiroCode) mit Ihrer Banking-App.',
    successTitle: 'Vielen Dank für Ihre Zahlung',
    success: (a: string) => `Wir haben ${a} erhalten. Die bezahlten Posten sind ausgeglichen.`,
    pendingTitle: 'Zahlung in Bearbeitung',
    pending: 'Ihre Zahlung wird bearbeitet. Sie erhalten eine Bestätigung, sobald sie eingegangen ist.',
    failedTitle: 'Die Zahlung hat nicht geklappt',
    failed: 'Es wurde nichts abgebucht. Bitte versuchen Sie es erneut oder wählen Sie eine andere Zahlungsart.',
    again: 'Zurück zur Übersicht',
    awaitTitle: 'Alles erledigt',
    awaitText: (d?: string) =>
      d ? `Der Betrag wird am ${d} fällig bzw. eingezogen.` : 'Wir melden uns, sobald der Betrag fällig ist.',
    talk: 'Sie können gerade nicht zahlen? Rufen Sie uns an oder antworten Sie auf unser Schreiben – wir finden eine Lösung.',
    language: 'English',
    methods: {
      card: 'Karte',
      apple_pay: 'Apple Pay',
      google_pay: 'Google Pay',
      paypal: 'PayPal',
      sepa_direct_debit: 'SEPA-Lastschrift',
      sepa_credit_transfer: 'Überweisung',
      invoice: 'Rechnung',
    } as Record<string, string>,
  },
  en: {
    title: 'Pay your open invoices',
    greeting: (n: string) => `Hello ${n},`,
    intro: 'here are all your open items. Choose what you would like to pay now.',
    items: 'Open items',
    document: 'Document',
    source: 'Account',
    due: 'Due',
    amount: 'Amount',
    choose: 'Choose items',
    total: 'Total of all open items',
    method: 'Payment method',
    iban: 'IBAN (direct debit only)',
    holder: 'Account holder (direct debit only)',
    pay: 'Pay now',
    nothing: 'Nothing is open any more. Thank you!',
    invalid: 'This link is not valid.',
    expired: 'This link has expired. Please contact us and we will gladly send you a new one.',
    noneSelected: 'Please choose at least one item.',
    noMethod: 'Please choose a payment method.',
    transferTitle: 'Please transfer',
    recipient: 'Recipient',
    reference: 'Reference',
    qrHint: 'Scan the QR code (GiroCode) with your banking app.',
    successTitle: 'Thank you for your payment',
    success: (a: string) => `We have received ${a}. The items you paid are settled.`,
    pendingTitle: 'Payment in progress',
    pending: 'Your payment is being processed. You will get a confirmation once it has arrived.',
    failedTitle: 'The payment did not go through',
    failed: 'Nothing was charged. Please try again or choose another method.',
    again: 'Back to the overview',
    awaitTitle: 'All set',
    awaitText: (d?: string) =>
      d ? `The amount is due or will be collected on ${d}.` : 'We will be in touch when the amount is due.',
    talk: "Can't pay right now? Call us or reply to our letter - we will find a way.",
    language: 'Deutsch',
    methods: {
      card: 'Card',
      sepa_direct_debit: 'SEPA direct debit',
      sepa_credit_transfer: 'Bank transfer',
      invoice: 'Invoice',
    } as Record<string, string>,
  },
} as const;

const esc = (v: unknown): string =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function page(lang: Lang, title: string, body: string, status = ''): string {
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(title)}</title>
<style>
  :root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; background: #f6f7f9; }
  body { margin: 0; } main { max-width: 40rem; margin: 0 auto; padding: 1rem; background: #fff; min-height: 100vh; box-sizing: border-box; }
  h1 { font-size: 1.4rem; } table { width: 100%; border-collapse: collapse; margin: 1rem 0; }
  th, td { text-align: left; padding: .5rem .25rem; border-bottom: 1px solid #d0d4da; vertical-align: top; }
  td.num, th.num { text-align: right; white-space: nowrap; }
  .doc { display: inline; padding: 0; white-space: nowrap; font-weight: 600; } .src { display: block; color: #4a4f57; font-size: .9rem; }
  fieldset { border: 1px solid #d0d4da; border-radius: .5rem; margin: 1rem 0; padding: .75rem; }
  label { display: block; padding: .4rem 0; } input[type=text] { width: 100%; padding: .6rem; font-size: 1rem; box-sizing: border-box; }
  input[type=checkbox], input[type=radio] { width: 1.5rem; height: 1.5rem; margin: 0 .5rem 0 0; vertical-align: middle; }
  fieldset label { padding: .6rem 0; font-size: 1.05rem; }
  button { width: 100%; padding: .9rem; font-size: 1.1rem; background: #0b5394; color: #fff; border: 0; border-radius: .5rem; }
  button:focus, input:focus, a:focus { outline: 3px solid #f1a208; outline-offset: 2px; }
  .alert { background: #fde8e8; border: 1px solid #b00020; padding: .75rem; border-radius: .5rem; }
  .ok { background: #e6f4ea; border: 1px solid #1e7d32; padding: .75rem; border-radius: .5rem; }
  .qr svg { width: 14rem; height: 14rem; } dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
  dt { font-weight: 600; } .lang { float: right; } .copy { font-size: 1.1rem; }
  figure { margin: 1rem 0; } .qr .code { display: inline-block; line-height: 0; }
  @media (max-width: 30rem) { dl { grid-template-columns: 1fr; gap: 0; } dd { margin: 0 0 .6rem; } }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
</style>
</head>
<body><main>${status}${body}</main></body>
</html>`;
}

interface Resolved {
  t: TenantGateway;
  debtorId: string;
  lang: Lang;
  token: string;
}

/** The router serving `/pay/*`; mounted only when the gateway is configured. */
export function payPageRouter(ctx: GatewayContext): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '32kb' });

  const resolve = (req: Request, res: Response): Resolved | undefined => {
    const token = String(req.params.token ?? '');
    const queryLang = req.query.lang === 'en' || req.query.lang === 'de' ? (req.query.lang as Lang) : undefined;
    // An expired (or broken) link still names the language of the notice it came with; it only picks the words.
    const fallback: Lang = queryLang ?? claimedLang(token) ?? (req.acceptsLanguages('de', 'en') === 'en' ? 'en' : 'de');
    const tenantId = tenantOfPayLink(token);
    let t: TenantGateway | undefined;
    try {
      t = tenantId ? ctx.tenant(tenantId) : undefined;
    } catch {
      t = undefined;
    }
    const check = t ? verifyPayLink(token, t.payLinkSecret) : ({ ok: false, reason: 'invalid' } as const);
    if (!t || !check.ok) {
      const reason = check.ok ? 'invalid' : check.reason;
      res
        .status(reason === 'expired' ? 410 : 404)
        .type('html')
        .send(
          page(
            fallback,
            TEXT[fallback].title,
            `<h1>${esc(TEXT[fallback].title)}</h1><p role="alert" class="alert">${esc(TEXT[fallback][reason])}</p>`,
          ),
        );
      return undefined;
    }
    const lang: Lang = queryLang ?? (check.claims.lang === 'en' ? 'en' : check.claims.lang === 'de' ? 'de' : fallback);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    return { t, debtorId: check.claims.debtorId, lang, token };
  };

  const overview = async (r: Resolved, res: Response, error?: string, status = 200) => {
    const T = TEXT[r.lang];
    const debtor = await ctx.store.db
      .selectFrom('debtors')
      .select(['name'])
      .where('tenant_id', '=', r.t.tenantId)
      .where('debtor_id', '=', r.debtorId)
      .executeTakeFirst();
    const items = await ctx.store.db
      .selectFrom('items')
      .select(['item_id', 'source', 'document_number', 'due_date', 'open_minor', 'currency'])
      .where('tenant_id', '=', r.t.tenantId)
      .where('debtor_id', '=', r.debtorId)
      .where('status', '=', 'open')
      .where('open_minor', '>', 0)
      .orderBy('due_date')
      .orderBy('document_number')
      .execute();
    const locale = r.lang === 'de' ? 'de-DE' : 'en-GB';
    const other: Lang = r.lang === 'de' ? 'en' : 'de';
    const head = `<a class="lang" href="/pay/${esc(r.token)}?lang=${other}" lang="${other}">${esc(T.language)}</a><h1>${esc(T.title)}</h1>`;
    if (items.length === 0) {
      res
        .status(200)
        .type('html')
        .send(page(r.lang, T.title, `${head}<p class="ok">${esc(T.nothing)}</p>`));
      return;
    }
    const currency = items[0]!.currency;
    const total = items.filter((i) => i.currency === currency).reduce((s, i) => s + i.open_minor, 0);
    const { methods } = await offerFor(r.t, {
      tenantId: r.t.tenantId,
      debtorId: r.debtorId,
      amountMinor: total,
      currency,
      country: r.t.country,
    });
    const pageMethods = methods.filter((m) => PAGE_FLOWS.has(m.flow));
    const rows = items
      .map(
        (i) => `<tr>
  <td><input type="checkbox" name="item" value="${esc(i.item_id)}" id="i-${esc(i.item_id)}" checked ${i.currency !== currency ? 'disabled' : ''}></td>
  <td><label class="doc" for="i-${esc(i.item_id)}">${esc(i.document_number)}</label><span class="src">${esc(i.source)}</span></td>
  <td>${esc(new Date(`${i.due_date}T00:00:00Z`).toLocaleDateString(locale, { timeZone: 'UTC' }))}</td>
  <td class="num">${esc(formatMoney({ amountMinor: i.open_minor, currency: i.currency }, locale))}</td>
</tr>`,
      )
      .join('');
    const radios = pageMethods
      .map(
        (m, idx) =>
          `<label><input type="radio" name="method" value="${esc(`${m.method}|${m.provider}`)}" ${idx === 0 ? 'checked' : ''} required> ${esc(T.methods[m.method] ?? m.name)}</label>`,
      )
      .join('');
    const needsIban = pageMethods.some((m) => m.flow === 'direct_debit');
    const body = `${head}
<p>${esc(T.greeting(debtor?.name ?? ''))} ${esc(T.intro)}</p>
${error ? `<p role="alert" class="alert">${esc(error)}</p>` : ''}
<form method="post" action="/pay/${esc(r.token)}?lang=${r.lang}">
<table>
<caption>${esc(T.items)}</caption>
<thead><tr><th scope="col"><span class="visually-hidden">${esc(T.choose)}</span></th><th scope="col">${esc(T.document)} / ${esc(T.source)}</th><th scope="col">${esc(T.due)}</th><th scope="col" class="num">${esc(T.amount)}</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr><th scope="row" colspan="3">${esc(T.total)}</th><td class="num" id="total">${esc(formatMoney({ amountMinor: total, currency }, locale))}</td></tr></tfoot>
</table>
<fieldset><legend>${esc(T.method)}</legend>${radios}</fieldset>
${needsIban ? `<fieldset><legend>${esc(T.iban)}</legend><label for="iban">${esc(T.iban)}</label><input type="text" id="iban" name="iban" autocomplete="off" inputmode="text"><label for="holder">${esc(T.holder)}</label><input type="text" id="holder" name="holder" autocomplete="name"></fieldset>` : ''}
<button type="submit">${esc(T.pay)}</button>
</form>
<p>${esc(T.talk)}</p>`;
    res
      .status(status)
      .type('html')
      .send(page(r.lang, T.title, body));
  };

  const wrap =
    (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) =>
      fn(req, res).catch(next);

  router.get(
    '/pay/:token',
    wrap(async (req, res) => {
      const r = resolve(req, res);
      if (r) await overview(r, res);
    }),
  );

  router.post(
    '/pay/:token',
    form,
    wrap(async (req, res) => {
      const r = resolve(req, res);
      if (!r) return;
      const T = TEXT[r.lang];
      const body = req.body as Record<string, string | string[] | undefined>;
      const itemIds = ([] as string[]).concat(body.item ?? []).filter(Boolean);
      const [method, provider] = String(body.method ?? '').split('|');
      if (itemIds.length === 0) return overview(r, res, T.noneSelected, 422);
      if (!method) return overview(r, res, T.noMethod, 422);
      let payment: PaymentView;
      try {
        const session = await createSession(ctx, r.t.tenantId, {
          debtorId: r.debtorId,
          itemIds,
          description: await describe(r, itemIds),
          locale: r.lang === 'de' ? 'de-DE' : 'en-GB',
          returnUrl: `${r.t.publicUrl.replace(/\/$/, '')}/pay/${r.token}/return?lang=${r.lang}`,
          cancelUrl: `${r.t.publicUrl.replace(/\/$/, '')}/pay/${r.token}?lang=${r.lang}`,
        });
        const iban = typeof body.iban === 'string' ? body.iban.replace(/\s+/g, '') : '';
        const holder = typeof body.holder === 'string' ? body.holder.trim() : '';
        payment = await paySession(ctx, r.t.tenantId, session.sessionId, {
          method,
          ...(provider ? { provider } : {}),
          ...(iban ? { methodData: { iban, ...(holder ? { accountHolder: holder } : {}) } } : {}),
        });
      } catch (err) {
        if (err instanceof IntegrationError) return overview(r, res, err.message.replace(/^[\w.[\]]+: /, ''), 422);
        if (err instanceof ConnectorError) return overview(r, res, T.failed, 502);
        throw err;
      }
      const action = payment.nextAction;
      if (payment.state === 'requires_action' && action?.type === 'redirect') {
        res.redirect(303, action.url);
        return;
      }
      res.redirect(303, paymentPath(r, payment.paymentId));
    }),
  );

  /** What the payment is for, as the provider's page shows it: our name and the documents. */
  const describe = async (r: Resolved, itemIds: string[]): Promise<string> => {
    const rows = await ctx.store.db
      .selectFrom('items')
      .select('document_number')
      .where('tenant_id', '=', r.t.tenantId)
      .where('debtor_id', '=', r.debtorId)
      .where('item_id', 'in', itemIds)
      .orderBy('due_date')
      .orderBy('document_number')
      .execute();
    const text = `${r.t.name} – ${rows.map((i) => i.document_number).join(', ')}`;
    return text.length > 200 ? `${text.slice(0, 199)}…` : text;
  };

  const paymentPath = (r: Resolved, paymentId: string) =>
    `/pay/${r.token}/payments/${encodeURIComponent(paymentId)}?lang=${r.lang}`;

  /** The debtor's own payment, or undefined (another debtor's payment is not shown under this link). */
  const ownPayment = async (r: Resolved, paymentId: string): Promise<PaymentView | undefined> => {
    const row = await ctx.store.db
      .selectFrom('payments')
      .select('payment_id')
      .where('tenant_id', '=', r.t.tenantId)
      .where('payment_id', '=', paymentId)
      .where('debtor_id', '=', r.debtorId)
      .executeTakeFirst();
    return row ? getPayment(ctx, r.t.tenantId, row.payment_id) : undefined;
  };

  router.get(
    '/pay/:token/payments/:paymentId',
    wrap(async (req, res) => {
      const r = resolve(req, res);
      if (!r) return;
      const payment = await ownPayment(r, String(req.params.paymentId ?? ''));
      if (!payment) return overview(r, res, TEXT[r.lang].invalid, 404);
      await respondWith(r, res, payment);
    }),
  );

  router.get(
    '/pay/:token/return',
    wrap(async (req, res) => {
      const r = resolve(req, res);
      if (!r) return;
      const paymentId = String(req.query.clearhub_payment ?? '');
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.query)) if (typeof v === 'string' && k !== 'lang') params[k] = v;
      const payment = await ownPayment(r, paymentId);
      if (!payment) return overview(r, res, TEXT[r.lang].invalid, 404);
      if (payment.state === 'requires_action' || payment.state === 'created') {
        try {
          await completePayment(ctx, r.t.tenantId, paymentId, params);
        } catch (err) {
          if (err instanceof IntegrationError) return overview(r, res, TEXT[r.lang].invalid, 404);
          // The provider did not answer: the page shows what we know; the status sync finds out the rest.
          if (!(err instanceof ConnectorError)) throw err;
        }
      }
      res.redirect(303, paymentPath(r, paymentId));
    }),
  );

  const respondWith = async (r: Resolved, res: Response, p: PaymentView) => {
    const T = TEXT[r.lang];
    const locale = r.lang === 'de' ? 'de-DE' : 'en-GB';
    const amount = formatMoney({ amountMinor: p.amountMinor, currency: p.currency }, locale);
    const back = `<p><a href="/pay/${esc(r.token)}?lang=${r.lang}">${esc(T.again)}</a></p>`;
    const action = p.nextAction as NextAction | null;
    if (p.state === 'requires_action' && action?.type === 'redirect') {
      res.redirect(303, action.url);
      return;
    }
    if (action?.type === 'bank_instructions') {
      const svg = await QRCode.toString(action.qrPayload, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      const body = `<h1>${esc(T.transferTitle)}</h1>
<dl>
<dt>${esc(T.recipient)}</dt><dd>${esc(action.creditorName)}</dd>
<dt>IBAN</dt><dd class="copy">${esc(action.iban.replace(/(.{4})/g, '$1 ').trim())}</dd>
${action.bic ? `<dt>BIC</dt><dd>${esc(action.bic)}</dd>` : ''}
<dt>${esc(T.amount)}</dt><dd>${esc(formatMoney({ amountMinor: action.amountMinor, currency: action.currency }, locale))}</dd>
<dt>${esc(T.reference)}</dt><dd class="copy"><strong id="reference">${esc(groupInFours(action.reference))}</strong></dd>
</dl>
<figure class="qr"><div class="code" role="img" aria-label="GiroCode">${svg}</div><figcaption>${esc(T.qrHint)}</figcaption></figure>${back}`;
      res
        .status(200)
        .type('html')
        .send(page(r.lang, T.transferTitle, body));
      return;
    }
    if (p.state === 'succeeded') {
      res
        .status(200)
        .type('html')
        .send(
          page(
            r.lang,
            T.successTitle,
            `<h1>${esc(T.successTitle)}</h1><p class="ok" role="status">${esc(T.success(amount))}</p>${back}`,
          ),
        );
      return;
    }
    if (action?.type === 'await') {
      const due = action.dueDate
        ? new Date(`${action.dueDate}T00:00:00Z`).toLocaleDateString(locale, { timeZone: 'UTC' })
        : undefined;
      res
        .status(200)
        .type('html')
        .send(
          page(
            r.lang,
            T.awaitTitle,
            `<h1>${esc(T.awaitTitle)}</h1><p class="ok" role="status">${esc(T.awaitText(due))}</p>${action.note ? `<p>${esc(action.note)}</p>` : ''}${back}`,
          ),
        );
      return;
    }
    if (p.state === 'failed' || p.state === 'canceled' || p.state === 'expired') {
      res
        .status(200)
        .type('html')
        .send(
          page(
            r.lang,
            T.failedTitle,
            `<h1>${esc(T.failedTitle)}</h1><p class="alert" role="alert">${esc(T.failed)}</p>${back}`,
          ),
        );
      return;
    }
    res
      .status(200)
      .type('html')
      .send(
        page(r.lang, T.pendingTitle, `<h1>${esc(T.pendingTitle)}</h1><p role="status">${esc(T.pending)}</p>${back}`),
      );
  };

  return router;
}

/** The language a link's claims name, read without trusting the rest of the token. */
function claimedLang(token: string): Lang | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { l?: unknown };
    return claims.l === 'de' || claims.l === 'en' ? claims.l : undefined;
  } catch {
    return undefined;
  }
}

/** Flows the page can run without the provider's JavaScript: redirects to hosted pages, transfers, debits, invoice. */
const PAGE_FLOWS = new Set(['card', 'wallet', 'redirect', 'direct_debit', 'push_transfer', 'bnpl_invoice', 'voucher']);
