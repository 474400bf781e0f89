import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChannelSendResult } from '../../src/channels/channel';
import { createLetterChannel } from '../../src/channels/letter/channel';
import { renderLetterPdf } from '../../src/channels/letter/pdf';
import { renderNotice, renderNoticeView } from '../../src/channels/templates';
import { type NoticeViewModel, noticeTotals } from '../../src/channels/view-model';
import {
  COMBINATIONS,
  DU_WORDS,
  ESCALATION,
  GOLDEN,
  goldenView,
  outboundOf,
  pdfQrCodes,
  pdfText,
  SIE_WORDS,
  TEMPLATES,
  TONE_WORDS,
} from './channels-fixtures';

const pagesOf = (pdf: Buffer) => {
  const dir = mkdtempSync(join(tmpdir(), 'clearhub-pages-'));
  const file = join(dir, 'x.pdf');
  require('node:fs').writeFileSync(file, pdf);
  return Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [file], { encoding: 'utf8' }))![1]);
};

describe('the letter (PDF) of a notice', () => {
  it('prints the window address, the items, fees, interest, total, bank details and pay link', async () => {
    const view = goldenView('de', 'firm', 'Sie');
    const pdf = await renderLetterPdf(renderNoticeView(TEMPLATES, view), view);
    const text = pdfText(pdf);
    // Address field: the return address line above the recipient.
    expect(text).toMatch(/Acme Mobil GmbH · Hafenstraße 1 · 20457 Hamburg.*\n\s*Erika Mustermann/);
    expect(text).toContain('Lindenweg 5');
    expect(text).toContain('50667 Köln');
    expect(text).toMatch(/Kundennummer\s+K-4711/);
    expect(text).toMatch(/Datum\s+31\.03\.2025/);
    for (const item of GOLDEN.items) {
      expect(text).toMatch(
        new RegExp(`${item.source}\\s+${item.doc}\\s+${item.due.de}\\s+${item.days}\\s+${item.open.de}`),
      );
    }
    expect(text).toMatch(/Summe offene Rechnungen\s+198,89 €/);
    expect(text).toMatch(/Mahngebühr\s+2,50 €/);
    expect(text).toMatch(/Verzugszinsen 9,12 % p\. a\. auf 49,99 € vom 02\.03\.2025 bis 31\.03\.2025\s+0,37 €/);
    expect(text).toMatch(/Gesamtbetrag\s+201,76 €/);
    expect(text).toContain('bis spätestens 07.04.2025');
    expect(text).toMatch(/IBAN\s+DE89 3704 0044 0532 0130 00/);
    expect(text).toMatch(/Verwendungszweck\s+RF18 5390 0754 7034/);
    expect(text).toContain(GOLDEN.payLink);
    expect(text).toContain('Ratenzahlung');
    expect(text).toMatch(/Seite 1 \/ \d/);
  });

  it('carries an EPC QR code (GiroCode) a banking app reads, and the pay link as a QR code', async () => {
    const view = goldenView('de', 'neutral', 'Sie');
    const pdf = await renderLetterPdf(renderNoticeView(TEMPLATES, view), view);
    const codes = pdfQrCodes(pdf);
    const giro = codes.find((c) => c.startsWith('BCD'));
    expect(giro?.split('\n')).toEqual([
      'BCD',
      '002',
      '1',
      'SCT',
      'COBADEFFXXX',
      'Acme Mobil GmbH',
      'DE89370400440532013000',
      'EUR201.76',
      '',
      'RF18539007547034',
      '',
    ]);
    expect(codes).toContain(GOLDEN.payLink);
  });

  it('prints no GiroCode for an amount in another currency, and no QR code without a pay link', async () => {
    const base = goldenView('en', 'neutral');
    const view = { ...base, currency: 'CHF', payLink: undefined };
    const pdf = await renderLetterPdf(renderNoticeView(TEMPLATES, view), view);
    expect(pdfQrCodes(pdf)).toEqual([]);
    expect(pdfText(pdf)).toContain('CHF');
  });

  it.each(COMBINATIONS)('%s/%s/%s speaks in its tone and form of address', async (locale, tone, address) => {
    const view = goldenView(locale, tone, address);
    const text = pdfText(await renderLetterPdf(renderNoticeView(TEMPLATES, view), view));
    expect(text).toMatch(TONE_WORDS[locale][tone]);
    if (tone === 'final') expect(text).toMatch(ESCALATION[locale]);
    else expect(text).not.toMatch(ESCALATION[locale]);
    if (locale === 'de') {
      expect(text).toMatch(address === 'du' ? DU_WORDS : SIE_WORDS);
      expect(text).not.toMatch(address === 'du' ? SIE_WORDS : DU_WORDS);
    }
    expect(text).toContain(GOLDEN.total[locale]);
  });

  it('prints names beyond the standard fonts transliterated, never as garbage', async () => {
    const view = polishDebtor(goldenView('de', 'neutral'), 'Ulica Żółta 3');
    const text = pdfText(await renderLetterPdf(renderNoticeView(TEMPLATES, view), view));
    expect(text).toContain('Lukasz Wójcik');
    expect(text).toContain('Ulica Zólta 3');
  });

  const dejavu = '/usr/share/fonts/truetype/dejavu';
  const unicodeFonts = existsSync(join(dejavu, 'DejaVuSans.ttf'))
    ? { regular: join(dejavu, 'DejaVuSans.ttf'), bold: join(dejavu, 'DejaVuSans-Bold.ttf') }
    : undefined;
  if (!unicodeFonts) console.log(`DejaVu fonts absent (${dejavu}): the Unicode font letter is not checked`);
  (unicodeFonts ? it : it.skip)('prints names in other scripts as written with a Unicode font configured', async () => {
    const view = polishDebtor(goldenView('en', 'firm'), 'улица Ленина 5');
    const pdf = await renderLetterPdf(renderNoticeView(TEMPLATES, view), view, { fonts: unicodeFonts });
    const text = pdfText(pdf);
    expect(text).toContain('Łukasz Wójcik');
    expect(text).toContain('улица Ленина 5');
    // The rest of the letter is set in the same fonts: the items, the total and both QR codes.
    expect(text).toContain(GOLDEN.total.en);
    expect(pdfQrCodes(pdf).some((c) => c.startsWith('BCD'))).toBe(true);

    // The letter attached to the e-mail is set in the same fonts.
    const attached = renderNotice(
      TEMPLATES,
      'en',
      'notice',
      { ...legacyFieldsOf(view), model: view },
      { fonts: unicodeFonts },
    ).pdf!;
    expect(pdfText(await attached())).toContain('улица Ленина 5');
  });
});

/** The golden notice to Łukasz Wójcik, living at `street` in Warsaw. */
function polishDebtor(base: NoticeViewModel, street: string): NoticeViewModel {
  const name = 'Łukasz Wójcik';
  return { ...base, debtor: { ...base.debtor, name, postalAddress: [name, street, '00-001 Warszawa'] } };
}

/** The fields a notice rendered from its model ignores. */
function legacyFieldsOf(view: NoticeViewModel) {
  return {
    debtor: { name: view.debtor.name, salutation: '' },
    tenant: { name: view.creditor.name },
    level: view.level,
    levelName: '',
    items: [],
    fee: '',
    total: '',
    currency: view.currency,
    asOf: view.asOf,
  };
}

describe('letters to the print service', () => {
  it('drops one PDF and a manifest per batch; every letter starts on a new sheet', async () => {
    const out = mkdtempSync(join(tmpdir(), 'clearhub-print-'));
    const batches: { batchId: string; dir: string; letters: number; pages: number }[] = [];
    const channel = createLetterChannel({
      outDir: out,
      templatesDir: TEMPLATES,
      batchId: () => `batch-${batches.length + 1}`,
      onBatch: (b) => batches.push(b),
    });
    const one = goldenView('de', 'neutral', 'Sie', { noticeId: 'ntc-a' });
    // 60 items: the table runs over onto further pages.
    const items = Array.from({ length: 60 }, (_, i) => ({
      source: 'billing',
      documentNumber: `R-${2000 + i}`,
      dueDate: '2025-02-01',
      openMinor: 1000,
    }));
    const many = goldenView('en', 'firm', 'Sie', {
      noticeId: 'ntc-b',
      items,
      totals: noticeTotals({ items, fees: [{ kind: 'dunning-fee', amountMinor: 250 }], interest: [] }),
      interest: [],
      debtor: {
        ...one.debtor,
        name: 'Ben Baker',
        postalAddress: ['Ben Baker', '1 High Street', 'London SW1A 1AA', 'UNITED KINGDOM'],
        country: 'GB',
      },
    });
    const none = goldenView('de', 'final', 'Sie', { noticeId: 'ntc-c', debtor: { ...one.debtor, postalAddress: [] } });

    const results: ChannelSendResult[] = [];
    for (const v of [one, many, none]) results.push(await channel.send(outboundOf(v)));
    expect(results.map((r) => r.status)).toEqual(['sent', 'sent', 'failed']);
    expect(results[2]!.reason).toBe('debtor has no postal address');
    expect(results[0]!.providerMessageId).toBe('batch-1/1');
    // Nothing reaches the print service before the batch is complete.
    expect(readdirSync(out)).toEqual([]);
    await channel.flush!();

    expect(readdirSync(out)).toEqual(['batch-1']);
    expect(readdirSync(join(out, 'batch-1')).sort()).toEqual(['letters.pdf', 'manifest.csv']);
    const manifest = readFileSync(join(out, 'batch-1', 'manifest.csv'), 'utf8')
      .trim()
      .split('\r\n');
    expect(manifest[0]).toBe(
      'batch_id,sequence,notice_id,first_page,pages,sheets,address_1,address_2,address_3,address_4,address_5,address_6,country,currency,total',
    );
    const rows = manifest.slice(1).map((l) => l.split(','));
    expect(rows).toHaveLength(2);
    const [a, b] = rows as [string[], string[]];
    expect(a.slice(0, 3)).toEqual(['batch-1', '1', 'ntc-a']);
    expect(b.slice(0, 3)).toEqual(['batch-1', '2', 'ntc-b']);
    expect(a.slice(6, 9)).toEqual(['Erika Mustermann', 'Lindenweg 5', '50667 Köln']);
    expect(b.slice(6, 10)).toEqual(['Ben Baker', '1 High Street', 'London SW1A 1AA', 'UNITED KINGDOM']);
    expect(b[12]).toBe('GB');
    expect(a.slice(13)).toEqual(['EUR', '201.76']);
    expect(b.slice(13)).toEqual(['EUR', '602.50']); // 60 × 10.00 + 2.50

    const pdf = readFileSync(join(out, 'batch-1', 'letters.pdf'));
    const [aFirst, aPages, aSheets] = [Number(a[3]), Number(a[4]), Number(a[5])];
    const [bFirst, bPages, bSheets] = [Number(b[3]), Number(b[4]), Number(b[5])];
    expect(aFirst).toBe(1);
    expect(bPages).toBeGreaterThan(1);
    // Duplex: each letter takes whole sheets, so the next one starts on an odd page.
    expect(bFirst).toBe(1 + 2 * aSheets);
    expect(pagesOf(pdf)).toBe(2 * (aSheets + bSheets));
    expect(aSheets).toBe(Math.ceil(aPages / 2));
    const first = pdfText(pdf, aFirst, aFirst + aPages - 1);
    expect(first).toContain('Erika Mustermann');
    expect(first).not.toContain('Ben Baker');
    const second = pdfText(pdf, bFirst, bFirst + bPages - 1);
    expect(second).toContain('Ben Baker');
    for (const i of [0, 30, 59]) expect(second).toContain(`R-${2000 + i}`);
    expect(second).toMatch(/Total\s+€602\.50/);
    expect(second).toContain(`Page ${bPages} / ${bPages}`);
    expect(batches).toEqual([{ batchId: 'batch-1', dir: join(out, 'batch-1'), letters: 2, pages: pagesOf(pdf) }]);

    // The same notice again is the same letter, not a second one; an empty flush writes nothing.
    expect(await channel.send(outboundOf(one))).toEqual(results[0]);
    await channel.flush!();
    expect(readdirSync(out)).toEqual(['batch-1']);
  });

  it('draws only the standard notice: a thank-you has no letter form', async () => {
    const channel = createLetterChannel({
      outDir: mkdtempSync(join(tmpdir(), 'clearhub-print-')),
      templatesDir: TEMPLATES,
    });
    const notice = {
      ...outboundOf(goldenView('de', 'friendly', 'Sie', { noticeId: 'ntc-thanks' })),
      template: 'thank-you',
    };
    expect(await channel.send(notice)).toMatchObject({
      status: 'failed',
      reason: 'template "thank-you" has no letter form',
    });
  });

  it('a batch that cannot be written leaves no half folder and lets its letters go again', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'clearhub-print-')), 'file');
    require('node:fs').writeFileSync(out, 'not a folder');
    const channel = createLetterChannel({ outDir: out, templatesDir: TEMPLATES });
    const view = goldenView('de', 'neutral', 'Sie', { noticeId: 'ntc-x' });
    expect((await channel.send(outboundOf(view))).status).toBe('sent');
    await expect(channel.flush!()).rejects.toThrow(/could not write the letter batch/);
    expect(existsSync(out)).toBe(true);
    // Not remembered as sent: the next attempt queues it again.
    const again = await channel.send(outboundOf(view));
    expect(again.status).toBe('sent');
  });
});
