/**
 * The golden notice of the channel and template tests: one debtor owing in three subledgers, a dunning fee and
 * default interest. Every expected figure below is worked out by hand, not taken from the code under test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { OutboundNotice } from '../../src/channels/channel';
import type { EmailChannel } from '../../src/channels/email';
import { renderLetterPdf } from '../../src/channels/letter/pdf';
import { renderNotice, renderNoticeView } from '../../src/channels/templates';
import type { NoticeViewModel } from '../../src/channels/view-model';
import type { SendOptions } from '../../src/dunning/send';
import type { Store } from '../../src/store/db';

export const TEMPLATES = resolve(__dirname, '../../config/templates');

export const GOLDEN = {
  noticeId: 'ntc-golden-0001',
  payLink: 'https://pay.acme.example/s/ntc-golden?x=1&y=2',
  iban: 'DE89370400440532013000',
  ibanGrouped: 'DE89 3704 0044 0532 0130 00',
  bic: 'COBADEFFXXX',
  /** The ISO 11649 standard's own example reference. */
  reference: 'RF18539007547034',
  referenceGrouped: 'RF18 5390 0754 7034',
  callbackUrl: 'https://acme.example/rueckruf',
  promiseUrl: 'https://acme.example/zusage',
  phone: '+49 40 1234560',
  /** 49.99 + 19.90 + 129.00 + fee 2.50 + interest 0.37 */
  totalMinor: 20176,
  total: { de: '201,76 €', en: '€201.76' },
  itemsTotal: { de: '198,89 €', en: '€198.89' },
  items: [
    {
      doc: 'R-1001',
      source: 'Mobilfunk',
      due: { de: '01.03.2025', en: '1 Mar 2025' },
      open: { de: '49,99 €', en: '€49.99' },
      days: 30,
    },
    {
      doc: 'R-1002',
      source: 'Festnetz',
      due: { de: '15.03.2025', en: '15 Mar 2025' },
      open: { de: '19,90 €', en: '€19.90' },
      days: 16,
    },
    {
      doc: 'H-77',
      source: 'hardware',
      due: { de: '10.02.2025', en: '10 Feb 2025' },
      open: { de: '129,00 €', en: '€129.00' },
      days: 49,
    },
  ],
  fee: { de: '2,50 €', en: '€2.50' },
  interest: { de: '0,37 €', en: '€0.37' },
  payBy: { de: '07.04.2025', en: '7 Apr 2025' },
} as const;

export type Locale = 'de' | 'en';
export type ToneName = 'friendly' | 'neutral' | 'firm' | 'final';

/** The golden notice in a locale, tone and form of address. */
export function goldenView(
  locale: Locale,
  tone: ToneName,
  address: 'du' | 'Sie' = 'Sie',
  over: Partial<NoticeViewModel> = {},
): NoticeViewModel {
  return {
    noticeId: GOLDEN.noticeId,
    locale,
    tone,
    address,
    asOf: '2025-03-31',
    level: 3,
    payBy: '2025-04-07',
    currency: 'EUR',
    creditor: {
      name: 'Acme Mobil GmbH',
      addressLines: ['Hafenstraße 1', '20457 Hamburg'],
      phone: GOLDEN.phone,
      email: 'service@acme.example',
      legalLines: ['Amtsgericht Hamburg HRB 12345'],
    },
    debtor: {
      debtorId: 'dbt-1',
      externalId: 'K-4711',
      name: 'Erika Mustermann',
      firstName: 'Erika',
      type: 'B2C',
      email: 'erika@kunde.example',
      phone: '+4915112345678',
      postalAddress: ['Erika Mustermann', 'Lindenweg 5', '50667 Köln'],
      country: 'DE',
    },
    items: [
      { source: 'billing', sourceLabel: 'Mobilfunk', documentNumber: 'R-1001', dueDate: '2025-03-01', openMinor: 4999 },
      { source: 'fica', sourceLabel: 'Festnetz', documentNumber: 'R-1002', dueDate: '2025-03-15', openMinor: 1990 },
      { source: 'hardware', documentNumber: 'H-77', dueDate: '2025-02-10', openMinor: 12900, amountMinor: 15900 },
    ],
    fees: [{ kind: 'dunning-fee', amountMinor: 250 }],
    interest: [{ amountMinor: 37, principalMinor: 4999, from: '2025-03-02', to: '2025-03-31', rateBasisPoints: 912 }],
    totals: { itemsMinor: 19889, feesMinor: 250, interestMinor: 37, totalMinor: 20176 },
    payLink: GOLDEN.payLink,
    bankTransfer: { beneficiary: 'Acme Mobil GmbH', iban: GOLDEN.iban, bic: GOLDEN.bic, reference: GOLDEN.reference },
    contact: { phone: GOLDEN.phone, callbackUrl: GOLDEN.callbackUrl, promiseUrl: GOLDEN.promiseUrl },
    ...over,
  };
}

/** Every locale × tone × form of address the templates ship: German in both forms, English in its one. */
export const COMBINATIONS: [Locale, ToneName, 'du' | 'Sie'][] = [
  ...(['friendly', 'neutral', 'firm', 'final'] as const).flatMap((t) => [
    ['de', t, 'Sie'] as [Locale, ToneName, 'Sie'],
    ['de', t, 'du'] as [Locale, ToneName, 'du'],
  ]),
  ...(['friendly', 'neutral', 'firm', 'final'] as const).map((t) => ['en', t, 'Sie'] as [Locale, ToneName, 'Sie']),
];

/** Words a reader takes the tone from, per locale and tone (written for these tests, not copied from templates). */
export const TONE_WORDS: Record<Locale, Record<ToneName, RegExp>> = {
  de: {
    friendly: /Erinnerung/,
    neutral: /Mahnung/,
    firm: /Zahlungsaufforderung|weiterhin offen/,
    final: /letzte Mahnung/i,
  },
  en: { friendly: /reminder/i, neutral: /overdue/i, firm: /demand for payment/i, final: /final notice/i },
};

/** Collection-agency escalation: only the final notice may threaten it. */
export const ESCALATION: Record<Locale, RegExp> = { de: /Inkasso/, en: /collection agency/ };

export const DU_WORDS = /\b(du|dich|dir|dein\w*)\b/i;
export const SIE_WORDS = /\b(Sie|Ihnen|Ihr\w*)\b/;

/** Text with no-break spaces made plain, as a reader sees it. */
export const plain = (s: string) => s.replace(/[\u00a0\u202f]/g, ' ');

/** The text of a PDF (pdftotext, layout kept), pages `first`..`last` (1-based) or all. */
export function pdfText(pdf: Buffer, first?: number, last?: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'clearhub-pdf-'));
  const file = join(dir, 'in.pdf');
  writeFileSync(file, pdf);
  const args = ['-layout', '-enc', 'UTF-8'];
  if (first) args.push('-f', String(first));
  if (last) args.push('-l', String(last));
  return plain(execFileSync('pdftotext', [...args, file, '-'], { encoding: 'utf8' }));
}

/** Every QR code on the PDF's pages, decoded from 150 dpi renderings (pdftoppm + zbarimg). */
export function pdfQrCodes(pdf: Buffer, first?: number, last?: number): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'clearhub-qr-'));
  const file = join(dir, 'in.pdf');
  writeFileSync(file, pdf);
  const args = ['-r', '150', '-png'];
  if (first) args.push('-f', String(first));
  if (last) args.push('-l', String(last));
  execFileSync('pdftoppm', [...args, file, join(dir, 'page')]);
  const out: string[] = [];
  for (const png of readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort()) {
    let xml = '';
    try {
      xml = execFileSync('zbarimg', ['--xml', '-q', join(dir, png)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    } catch (err) {
      // zbarimg exits 4 when a page has no symbol
      xml = (err as { stdout?: string }).stdout ?? '';
    }
    for (const m of xml.matchAll(/<data><!\[CDATA\[([\s\S]*?)\]\]><\/data>/g)) out.push(m[1]!);
  }
  return out;
}

/** A notice ready for a channel, rendered from the shipped templates. */
export function outboundOf(view: NoticeViewModel, tenantId = 't-golden'): OutboundNotice {
  const r = renderNoticeView(TEMPLATES, view);
  let pdf: Promise<Buffer> | undefined;
  return {
    tenantId,
    view,
    rendered: {
      subject: r.subject,
      text: r.text,
      html: r.html,
      sms: r.sms,
      title: r.title,
      pdf: () => {
        pdf ??= renderLetterPdf(r, view);
        return pdf;
      },
    },
  };
}

export interface SeedDebtor {
  debtorId: string;
  name: string;
  type?: 'B2B' | 'B2C';
  email?: string;
  phone?: string;
  language?: string;
  address?: string[];
  /** The notice's channel column: one name or a fallback list. */
  channel: string;
  template?: string;
  items: { doc: string; due: string; openMinor: number; source?: string }[];
  feeMinor?: number;
  /** What the run recorded (migration 0004): tone, form of address, §288 lump sum, interest per item. */
  tone?: string;
  addressForm?: string;
  lumpSumMinor?: number;
  interest?: { doc: string; minor: number; from: string; to: string; rateBasisPoints: number }[];
  runId?: string;
}

export const RUN_ID = 'run-2025-03-31';

/** A tenant with debtors, their open items and one pending notice each, as a dunning run leaves them. */
export async function seedNotices(store: Store, tenantId: string, debtors: SeedDebtor[]): Promise<void> {
  await store.db
    .insertInto('tenants')
    .values({ tenant_id: tenantId, name: 'Acme Mobil GmbH', country: 'DE', currency: 'EUR', profile: null })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
  for (const d of debtors) {
    await store.db
      .insertInto('debtors')
      .values({
        tenant_id: tenantId,
        debtor_id: d.debtorId,
        name: d.name,
        type: d.type ?? 'B2C',
        email: d.email ?? null,
        phone: d.phone ?? null,
        language: d.language ?? 'de',
        country: 'DE',
        tags: '[]',
      })
      .execute();
    if (d.address) {
      await store.db
        .insertInto('debtor_addresses')
        .values({ tenant_id: tenantId, debtor_id: d.debtorId, lines: JSON.stringify(d.address), country: 'DE' })
        .execute();
    }
    const ids: string[] = [];
    const idByDoc = new Map<string, string>();
    for (const i of d.items) {
      const row = await store.db
        .insertInto('items')
        .values({
          tenant_id: tenantId,
          source: i.source ?? 'billing',
          source_key: `${d.debtorId}-${i.doc}`,
          debtor_id: d.debtorId,
          external_id: d.debtorId.toUpperCase(),
          document_number: i.doc,
          currency: 'EUR',
          amount_minor: i.openMinor,
          source_open_minor: i.openMinor,
          open_minor: i.openMinor,
          due_date: i.due,
        })
        .returning('item_id')
        .executeTakeFirstOrThrow();
      ids.push(row.item_id);
      idByDoc.set(i.doc, row.item_id);
    }
    const noticeId = `ntc-${tenantId}-${d.debtorId}`;
    await store.db
      .insertInto('notices')
      .values({
        tenant_id: tenantId,
        notice_id: noticeId,
        run_id: d.runId ?? RUN_ID,
        debtor_id: d.debtorId,
        level: 2,
        channel: d.channel,
        recipient: null,
        template: d.template ?? 'first',
        locale: d.language ?? 'de',
        strategy: 'test',
        strategy_version: 1,
        variant: 'default',
        currency: 'EUR',
        total_minor: d.items.reduce((s, i) => s + i.openMinor, 0),
        fee_minor: d.feeMinor ?? 0,
        item_ids: JSON.stringify(ids),
        status: 'pending',
        tone: d.tone ?? null,
        address_form: d.addressForm ?? null,
        interest_minor: (d.interest ?? []).reduce((s, i) => s + i.minor, 0),
        lump_sum_minor: d.lumpSumMinor ?? 0,
      })
      .execute();
    for (const i of d.interest ?? []) {
      const item = d.items.find((x) => x.doc === i.doc)!;
      await store.db
        .insertInto('notice_items')
        .values({
          tenant_id: tenantId,
          notice_id: noticeId,
          item_id: idByDoc.get(i.doc)!,
          debtor_id: d.debtorId,
          level_before: 1,
          level: 2,
          days_past_due: 30,
          open_minor: item.openMinor,
          interest_minor: i.minor,
          interest_from: i.from,
          interest_to: i.to,
          interest_rate_bp: i.rateBasisPoints,
        })
        .execute();
    }
  }
}

/** Sends what `seedNotices` left pending: its run, level 2 as template `first`, rendered from the shipped templates. */
export function sendOptions(tenantId: string, email: EmailChannel, over: Partial<SendOptions> = {}): SendOptions {
  return {
    tenantId,
    tenantName: 'Acme Mobil GmbH',
    runId: RUN_ID,
    asOf: '2025-03-31',
    languages: ['de', 'en'],
    defaultLanguage: 'de',
    levelNames: new Map([[2, 'first']]),
    render: (locale, template, view) => renderNotice(TEMPLATES, locale, template, view),
    email,
    ...over,
  };
}

/** A debtor who is texted first and sent a letter when the text does not arrive; owes one item of 49.99. */
export function smsDebtor(debtorId: string, name: string, phone: string): SeedDebtor {
  return {
    debtorId,
    name,
    phone,
    address: [name, 'Lindenweg 5', '50667 Köln'],
    channel: 'sms,letter',
    items: [{ doc: 'R-1', due: '2025-03-01', openMinor: 4999 }],
  };
}

/** The status of each debtor's notice in a tenant. */
export async function noticeStatuses(store: Store, tenantId: string): Promise<Record<string, string>> {
  const rows = await store.db
    .selectFrom('notices')
    .select(['debtor_id', 'status'])
    .where('tenant_id', '=', tenantId)
    .execute();
  return Object.fromEntries(rows.map((r) => [r.debtor_id, r.status]));
}
