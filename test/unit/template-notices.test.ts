import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearTemplateCache, renderNotice, renderNoticeView } from '../../src/channels/templates';
import { IntegrationError } from '../../src/domain/errors';
import {
  COMBINATIONS,
  DU_WORDS,
  ESCALATION,
  GOLDEN,
  goldenView,
  plain,
  SIE_WORDS,
  TEMPLATES,
  TONE_WORDS,
} from '../integration/channels-fixtures';

function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_m, h: string) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&amp;/g, '&');
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('notice templates per locale, tone and form of address', () => {
  it.each(COMBINATIONS)(
    '%s/%s/%s lists every item, the fee, interest, total, pay link and bank details',
    (locale, tone, address) => {
      const r = renderNoticeView(TEMPLATES, goldenView(locale, tone, address));
      const text = plain(r.text);
      const html = plain(r.html);
      expect(plain(r.subject)).toContain(GOLDEN.total[locale]);
      expect(r.subject).not.toMatch(/\n/);
      for (const item of GOLDEN.items) {
        for (const body of [text, html]) {
          expect(body).toContain(item.doc);
          expect(body).toContain(item.source);
          expect(body).toContain(item.due[locale]);
          expect(body).toContain(item.open[locale]);
        }
        expect(text).toContain(`${item.days}`);
      }
      for (const body of [text, html]) {
        expect(body).toContain(GOLDEN.fee[locale]);
        expect(body).toContain(GOLDEN.interest[locale]);
        expect(body).toContain(locale === 'de' ? '9,12 %' : '9.12 %');
        expect(body).toContain(GOLDEN.total[locale]);
        expect(body).toContain(GOLDEN.ibanGrouped);
        expect(body).toContain(GOLDEN.referenceGrouped);
        expect(body).toContain(GOLDEN.callbackUrl);
        expect(body).toContain(GOLDEN.promiseUrl);
        expect(body).toContain(GOLDEN.phone);
        expect(body).toContain(GOLDEN.payBy[locale]);
      }
      expect(text).toContain(GOLDEN.payLink);
      const href = /href="([^"]*)"/.exec(html)?.[1] ?? '';
      expect(href).not.toMatch(/&(?![a-z]+;|#x?[0-9a-f]+;)/i); // every & in the attribute is escaped
      expect(decodeEntities(href)).toBe(GOLDEN.payLink);
      // The offer to talk: instalments in every tone.
      expect(text).toMatch(locale === 'de' ? /Ratenzahlung/ : /payment plan/);
      expect(`${r.subject}\n${text}`).toMatch(TONE_WORDS[locale][tone]);
      if (tone === 'final') expect(text).toMatch(ESCALATION[locale]);
      else expect(text).not.toMatch(ESCALATION[locale]);
      expect(html).toMatch(/^<!doctype html>/);
      expect(html).toContain('src="cid:qr-girocode@clearhub"');
      expect(html).toContain('src="cid:qr-paylink@clearhub"');
    },
  );

  it.each(COMBINATIONS.filter(([l]) => l === 'de'))('de/%s/%s speaks in its form of address', (_l, tone, address) => {
    const r = renderNoticeView(TEMPLATES, goldenView('de', tone, address));
    for (const body of [r.subject, r.text, r.sms]) {
      if (address === 'du') expect(body).not.toMatch(SIE_WORDS);
      else expect(body).not.toMatch(DU_WORDS);
    }
    if (address === 'du') {
      expect(r.text).toMatch(DU_WORDS);
      expect(r.text).toMatch(/^Hallo Erika,/);
    } else {
      expect(r.text).toMatch(SIE_WORDS);
      expect(r.text).toMatch(/^Guten Tag Erika Mustermann,/);
    }
  });

  it('English notices greet the debtor by name, companies without one', () => {
    expect(renderNoticeView(TEMPLATES, goldenView('en', 'neutral')).text).toMatch(/^Dear Erika Mustermann,/);
    const b2b = goldenView('en', 'neutral', 'Sie', {
      debtor: { ...goldenView('en', 'neutral').debtor, type: 'B2B', name: 'Kiosk am Eck GmbH' },
    });
    expect(renderNoticeView(TEMPLATES, b2b).text).toMatch(/^Dear Sir or Madam,/);
  });

  it.each(COMBINATIONS)('%s/%s/%s has an SMS text with the total and the pay link', (locale, tone, address) => {
    const sms = renderNoticeView(TEMPLATES, goldenView(locale, tone, address)).sms;
    expect(sms).toContain(GOLDEN.payLink);
    expect(sms).toContain(GOLDEN.total[locale].replace('\u00a0', ' '));
    expect(sms).not.toMatch(/[\u00a0\n]/);
    expect(sms.length).toBeLessThanOrEqual(306); // two concatenated GSM-7 parts at most (2 × 153)
  });

  it('without a pay link the SMS gives the transfer reference instead', () => {
    const sms = renderNoticeView(TEMPLATES, goldenView('de', 'neutral', 'Sie', { payLink: undefined })).sms;
    expect(sms).toContain(GOLDEN.reference);
    expect(sms).not.toContain('https://');
  });

  it('leaves out fees, interest, link, bank details and contact lines a notice does not have', () => {
    const view = goldenView('en', 'neutral', 'Sie', {
      fees: [],
      interest: [],
      totals: { itemsMinor: 19889, feesMinor: 0, interestMinor: 0, totalMinor: 19889 },
      payLink: undefined,
      bankTransfer: undefined,
      contact: undefined,
    });
    const r = renderNoticeView(TEMPLATES, view);
    expect(r.text).not.toMatch(/fee|interest|IBAN|https:/i);
    expect(r.text).toContain('quote the invoice numbers');
    expect(plain(r.text)).toContain('Total: €198.89');
    expect(r.html).not.toContain('cid:');
  });

  it('escapes a debtor name in the HTML, not in the text', () => {
    const view = goldenView('de', 'friendly', 'Sie', {
      debtor: { ...goldenView('de', 'friendly').debtor, name: '<script>alert(1)</script>' },
    });
    const r = renderNoticeView(TEMPLATES, view);
    expect(r.html).not.toContain('<script>');
    expect(r.html).toContain('&lt;script&gt;');
    expect(r.text).toContain('Guten Tag <script>alert(1)</script>,');
  });

  it('refuses a view whose totals do not add up, naming the field', () => {
    const view = goldenView('de', 'firm', 'Sie', {
      totals: { itemsMinor: 19889, feesMinor: 250, interestMinor: 37, totalMinor: 20000 },
    });
    const err = thrown(() => renderNoticeView(TEMPLATES, view));
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.message).toContain('totals.totalMinor');
    expect(err.message).toContain('20176');
  });

  it('refuses amounts that are not integer minor units', () => {
    const view = goldenView('de', 'firm', 'Sie');
    const items = [{ ...view.items[0]!, openMinor: 49.99 }];
    const err = thrown(() => renderNoticeView(TEMPLATES, { ...view, items }));
    expect(err.message).toContain('items[0].openMinor');
  });

  describe('the names the first profiles use', () => {
    const legacyView = {
      debtor: { name: 'Erika Muster', salutation: 'Guten Tag Erika Muster' },
      tenant: { name: 'Acme Mobil GmbH' },
      level: 2,
      levelName: 'first',
      items: [
        { documentNumber: 'R-1', dueDate: '2025-03-01', daysPastDue: 30, openAmount: '49,99 €', source: 'billing' },
      ],
      fee: '',
      total: '49,99 €',
      currency: 'EUR',
      asOf: '2025-03-31',
    };

    it.each([
      ['reminder', TONE_WORDS.de.friendly],
      ['first', TONE_WORDS.de.neutral],
      ['second', TONE_WORDS.de.firm],
      ['final', TONE_WORDS.de.final],
    ])('%s is the standard notice in its tone', (template, words) => {
      const out = renderNotice(TEMPLATES, 'de', template, legacyView);
      expect(`${out.subject}\n${out.text}`).toMatch(words);
      expect(out.text).toContain('R-1');
      expect(out.subject).toContain('49,99 €');
    });

    it('a full view model rides along and decides tone, address form and extras', () => {
      const model = goldenView('de', 'friendly', 'du');
      const out = renderNotice(TEMPLATES, 'de', 'final', { ...legacyView, model });
      expect(out.text).toMatch(/^Hallo Erika,/);
      expect(out.text).toContain(GOLDEN.ibanGrouped);
      expect(out.sms).toContain(GOLDEN.payLink);
      expect(typeof out.pdf).toBe('function');
    });
  });

  describe('the thank-you after payment', () => {
    const paid = (locale: 'de' | 'en', address: 'du' | 'Sie') =>
      goldenView(locale, 'friendly', address, {
        items: goldenView(locale, 'friendly').items.map((i) => ({ ...i, openMinor: 0 })),
        fees: [],
        interest: [],
        totals: { itemsMinor: 0, feesMinor: 0, interestMinor: 0, totalMinor: 0 },
        payLink: undefined,
      });

    it.each([
      ['de', 'Sie', /^Vielen Dank für Ihre Zahlung/, /Ihre Zahlung ist eingegangen/],
      ['de', 'du', /^Danke für deine Zahlung/, /deine Zahlung ist angekommen/],
      ['en', 'Sie', /^Thank you for your payment/, /we have received your payment/],
    ] as const)('%s/%s thanks, lists the settled invoices and asks for nothing', (locale, address, subject, sms) => {
      const r = renderNoticeView(TEMPLATES, paid(locale, address), 'thank-you');
      expect(r.subject).toMatch(subject);
      for (const item of GOLDEN.items) expect(r.text).toContain(item.doc);
      expect(r.text).not.toMatch(/Gesamtbetrag|Total|IBAN|Mahnung|overdue/);
      if (address === 'du') expect(`${r.subject}\n${r.text}`).not.toMatch(SIE_WORDS);
      expect(r.sms).toMatch(sms);
      expect(r.html).toContain('<li>');
    });

    it('has no letter form', () => {
      const model = paid('de', 'Sie');
      const out = renderNotice(TEMPLATES, 'de', 'thank-you', {
        debtor: { name: 'x', salutation: 'x' },
        tenant: { name: 'x' },
        level: 0,
        levelName: '',
        items: [],
        fee: '',
        total: '',
        currency: 'EUR',
        asOf: '2025-03-31',
        model,
      });
      expect(out.pdf).toBeUndefined();
    });
  });

  describe('template files', () => {
    const own = mkdtempSync(join(tmpdir(), 'clearhub-tpl-'));
    afterEach(() => clearTemplateCache());

    function copyOf(tone: string): string {
      const dir = join(own, tone);
      mkdirSync(join(dir, 'en', 'tones'), { recursive: true });
      mkdirSync(join(dir, 'en', 'notice'), { recursive: true });
      const fs = require('node:fs') as typeof import('node:fs');
      for (const f of ['labels.yaml', 'phrases.hbs', 'notice/text.hbs', 'notice/html.hbs', 'tones/neutral.hbs']) {
        fs.copyFileSync(join(TEMPLATES, 'en', f), join(dir, 'en', f));
      }
      return dir;
    }

    it('a tone using a field the notice lacks fails naming the file and line', () => {
      const dir = copyOf('typo');
      const file = join(dir, 'en', 'tones', 'neutral.hbs');
      writeFileSync(
        file,
        '{{#*inline "subject"}}Hi{{/inline}}\n{{#*inline "intro"}}\nDear {{debtor.nmae}}\n{{/inline}}\n' +
          '{{#*inline "request"}}x{{/inline}}{{#*inline "offer"}}x{{/inline}}{{#*inline "closing"}}x{{/inline}}' +
          '{{#*inline "sms"}}x{{/inline}}\n',
      );
      const err = thrown(() => renderNoticeView(dir, goldenView('en', 'neutral')));
      expect(err).toBeInstanceOf(IntegrationError);
      expect(err.message).toContain(`${file}:3:`);
      expect(err.message).toContain('nmae');
    });

    it('a tone without one of the required sections is refused by name', () => {
      const dir = copyOf('missing');
      writeFileSync(join(dir, 'en', 'tones', 'neutral.hbs'), '{{#*inline "subject"}}Hi{{/inline}}\n');
      const err = thrown(() => renderNoticeView(dir, goldenView('en', 'neutral')));
      expect(err.message).toContain('"intro"');
    });

    it('a missing tone names the file it looked for', () => {
      const err = thrown(() => renderNoticeView(copyOf('none'), goldenView('en', 'firm')));
      expect(err.message).toContain(join('en', 'tones', 'firm'));
    });

    it('labels without a key are refused by key', () => {
      const dir = copyOf('labels');
      writeFileSync(join(dir, 'en', 'labels.yaml'), 'total: Total\n');
      const err = thrown(() => renderNoticeView(dir, goldenView('en', 'neutral')));
      expect(err.message).toContain('labels.yaml');
      expect(err.message).toContain('"source"');
    });
  });
});
