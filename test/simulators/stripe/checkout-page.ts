/**
 * The simulator's hosted Checkout page (`/c/pay/:session`, the session's `url`): a small server-rendered card form
 * in the session's language, the way a payer meets Stripe Checkout. Card data is typed here, on the PSP's side;
 * the merchant's server never sees it. Only Stripe's test card numbers pay (see `TEST_CARD_NUMBERS`).
 */
import { type FormObject, parseForm } from './form';
import { type CheckoutSession, luhnValid, TEST_CARD_NUMBERS } from './state';

type Lang = 'de' | 'en';

const TEXT = {
  de: {
    pay: 'Bezahlen',
    testMode: 'Testmodus',
    card: 'Kartendaten',
    number: 'Kartennummer',
    expiry: 'Ablaufdatum (MM / JJ)',
    cvc: 'Prüfnummer (CVC)',
    name: 'Name auf der Karte',
    back: 'Zurück',
    expired: 'Diese Checkout-Sitzung ist abgelaufen.',
    complete: 'Diese Zahlung ist bereits abgeschlossen.',
    unknown: 'Diese Checkout-Sitzung gibt es nicht.',
    invalidNumber: 'Ihre Kartennummer ist ungültig.',
    liveCard: 'Ihre Karte wurde abgelehnt. Im Testmodus gehen nur Testkarten, siehe https://stripe.com/docs/testing.',
    invalidExpiry: 'Das Ablaufdatum Ihrer Karte ist unvollständig oder liegt in der Vergangenheit.',
    invalidCvc: 'Die Prüfnummer Ihrer Karte ist unvollständig.',
    missingName: 'Bitte geben Sie den Namen auf der Karte ein.',
    declined: {
      insufficient_funds: 'Ihre Karte ist nicht ausreichend gedeckt.',
      expired_card: 'Ihre Karte ist abgelaufen.',
      incorrect_cvc: 'Die Prüfnummer Ihrer Karte ist falsch.',
      processing_error: 'Bei der Verarbeitung Ihrer Karte ist ein Fehler aufgetreten. Bitte versuchen Sie es erneut.',
      payment_intent_authentication_failure:
        'Wir konnten Ihre Zahlungsmethode nicht authentifizieren. Bitte wählen Sie eine andere Zahlungsmethode.',
      other: 'Ihre Karte wurde abgelehnt.',
    } as Record<string, string>,
    otherMethod: (t: string) => `Testzahlung mit ${t}`,
    authorize: 'Testzahlung autorisieren',
  },
  en: {
    pay: 'Pay',
    testMode: 'Test mode',
    card: 'Card information',
    number: 'Card number',
    expiry: 'Expiry date (MM / YY)',
    cvc: 'Security code (CVC)',
    name: 'Name on card',
    back: 'Back',
    expired: 'This Checkout Session has expired.',
    complete: 'This payment has already been completed.',
    unknown: 'This Checkout Session does not exist.',
    invalidNumber: 'Your card number is invalid.',
    liveCard:
      'Your card was declined. Your request was in test mode, but used a non test card. For a list of valid test cards, visit: https://stripe.com/docs/testing.',
    invalidExpiry: "Your card's expiration date is incomplete or in the past.",
    invalidCvc: "Your card's security code is incomplete.",
    missingName: 'Please enter the name on your card.',
    declined: {} as Record<string, string>,
    otherMethod: (t: string) => `Test payment with ${t}`,
    authorize: 'Authorize test payment',
  },
} as const;

export const langOf = (s: Pick<CheckoutSession, 'locale'> | undefined): Lang =>
  s?.locale?.toLowerCase().startsWith('de') ? 'de' : 'en';

const esc = (v: unknown): string =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** Stripe's ISK is two-decimal on the wire; other currencies follow ISO 4217 as Intl knows it. */
function formatAmount(amount: number, currency: string, lang: Lang): string {
  const code = currency.toUpperCase();
  const nf = new Intl.NumberFormat(lang === 'de' ? 'de-DE' : 'en-GB', { style: 'currency', currency: code });
  const digits = code === 'ISK' ? 2 : (nf.resolvedOptions().maximumFractionDigits ?? 2);
  return nf.format(amount / 10 ** digits);
}

function shell(lang: Lang, title: string, body: string): string {
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f6f9fc; color: #30313d; }
  main { max-width: 26rem; margin: 0 auto; padding: 1rem; background: #fff; min-height: 100vh; box-sizing: border-box; }
  .test { display: inline-block; background: #ffde92; color: #a04100; font-size: .75rem; padding: .1rem .4rem; border-radius: .25rem; }
  h1 { font-size: 1.1rem; font-weight: 500; margin: .5rem 0 0; }
  .amount { font-size: 1.8rem; font-weight: 600; margin: .25rem 0 1rem; }
  label { display: block; margin-top: .75rem; font-size: .9rem; }
  input { width: 100%; box-sizing: border-box; padding: .65rem; font-size: 1rem; border: 1px solid #b4b9c2; border-radius: .4rem; }
  button { width: 100%; margin-top: 1.25rem; padding: .85rem; font-size: 1.05rem; background: #635bff; color: #fff; border: 0; border-radius: .4rem; }
  [role=alert] { background: #fdecea; color: #8a1c10; padding: .6rem; border-radius: .4rem; }
  fieldset { border: 0; padding: 0; margin: 0; }
</style>
</head>
<body><main>${body}</main></body>
</html>`;
}

/** A page that only says something (unknown, expired or completed session). */
export function notice(s: CheckoutSession | undefined): { status: number; html: string } {
  const lang = langOf(s);
  const T = TEXT[lang];
  const text = !s ? T.unknown : s.status === 'expired' ? T.expired : T.complete;
  const back = s?.cancelUrl && s.status !== 'complete' ? `<p><a href="${esc(s.cancelUrl)}">${esc(T.back)}</a></p>` : '';
  return { status: s ? 410 : 404, html: shell(lang, text, `<h1>${esc(text)}</h1>${back}`) };
}

/** The payment form of an open session; `error` shows above it; the name the payer typed is kept. */
export function checkoutPage(s: CheckoutSession, o: { error?: string; name?: string } = {}): string {
  const lang = langOf(s);
  const T = TEXT[lang];
  const product = s.lineItems.map((li) => li.name).join(', ');
  const amount = formatAmount(s.amount, s.currency, lang);
  const cardOnly = s.methodTypes.includes('card');
  const form = cardOnly
    ? `<form method="post" action="/c/pay/${esc(s.id)}" novalidate>
<fieldset><legend>${esc(T.card)}</legend>
<label for="cardnumber">${esc(T.number)}</label>
<input id="cardnumber" name="cardnumber" inputmode="numeric" autocomplete="cc-number" placeholder="1234 1234 1234 1234" required>
<label for="exp">${esc(T.expiry)}</label>
<input id="exp" name="exp" inputmode="numeric" autocomplete="cc-exp" placeholder="${lang === 'de' ? 'MM / JJ' : 'MM / YY'}" required>
<label for="cvc">${esc(T.cvc)}</label>
<input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="CVC" required>
<label for="name">${esc(T.name)}</label>
<input id="name" name="name" autocomplete="cc-name" value="${esc(o.name ?? '')}" required>
</fieldset>
<button type="submit">${esc(T.pay)} ${esc(amount)}</button>
</form>`
    : `<form method="post" action="/c/pay/${esc(s.id)}">
<p>${esc(T.otherMethod(s.methodTypes.join(', ')))}</p>
<input type="hidden" name="test_outcome" value="authorize">
<button type="submit">${esc(T.authorize)}</button>
</form>`;
  const body = `<p><span class="test">${esc(T.testMode)}</span></p>
<h1>${esc(product)}</h1>
<p class="amount" id="amount">${esc(amount)}</p>
${o.error ? `<p role="alert" id="error">${esc(o.error)}</p>` : ''}
${form}
${s.cancelUrl ? `<p><a id="cancel" href="${esc(s.cancelUrl)}">${esc(T.back)}</a></p>` : ''}`;
  return shell(lang, `${T.pay} – ${product}`, body);
}

/** What the payer typed, checked the way Checkout's form checks it; the test handle it stands for, or the message. */
export function parseCardForm(
  s: CheckoutSession,
  rawBody: string,
  now = new Date(),
): { ok: true; handle: string; name: string } | { ok: false; message: string; name: string } {
  const T = TEXT[langOf(s)];
  let form: FormObject;
  try {
    form = parseForm(rawBody);
  } catch {
    form = {};
  }
  const field = (k: string) => (typeof form[k] === 'string' ? (form[k] as string) : '');
  const name = field('name').trim().slice(0, 200);
  if (!s.methodTypes.includes('card')) {
    return field('test_outcome') === 'authorize'
      ? { ok: true, handle: 'pm_card_visa', name }
      : { ok: false, message: T.declined.other ?? 'Declined', name };
  }
  const digits = field('cardnumber').replace(/[\s-]/g, '');
  if (!luhnValid(digits)) return { ok: false, message: T.invalidNumber, name };
  const exp = /^\s*(\d{1,2})\s*\/?\s*(\d{2}|\d{4})\s*$/.exec(field('exp'));
  const month = exp ? Number(exp[1]) : 0;
  const year = exp ? Number(exp[2]!.length === 2 ? `20${exp[2]}` : exp[2]) : 0;
  const thisMonth = now.getUTCFullYear() * 12 + now.getUTCMonth();
  if (!exp || month < 1 || month > 12 || year * 12 + (month - 1) < thisMonth) {
    return { ok: false, message: T.invalidExpiry, name };
  }
  const cvcLength = digits.startsWith('3') ? 4 : 3;
  if (!new RegExp(`^\\d{${cvcLength}}$`).test(field('cvc').trim())) return { ok: false, message: T.invalidCvc, name };
  if (!name) return { ok: false, message: T.missingName, name };
  const handle = TEST_CARD_NUMBERS[digits];
  if (!handle) return { ok: false, message: T.liveCard, name };
  return { ok: true, handle, name };
}

/** The message for a declined attempt, in the page's language (Stripe's own English text otherwise). */
export function declineMessage(s: CheckoutSession, d: { code: string; declineCode?: string; message: string }): string {
  const table = TEXT[langOf(s)].declined;
  if (Object.keys(table).length === 0) return d.message;
  return table[d.declineCode ?? ''] ?? table[d.code] ?? table.other ?? d.message;
}
