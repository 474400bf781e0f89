/**
 * Notice templates (Handlebars), per locale × tone × form of address. Under the templates dir, per locale:
 *
 * - `labels.yaml`: column heads and nouns (no sentences), shared by every template and the letter PDF;
 * - `phrases.hbs` or `phrases.<du|Sie>.hbs`: sentences every tone shares (how to pay, how to reach us, "already
 *   paid?"), as `{{#*inline "section"}}…{{/inline}}` blocks;
 * - `tones/<tone>.<du|Sie>.hbs` (German) or `tones/<tone>.hbs` (one form): the tone's sections — `subject`, `intro`,
 *   `request`, `offer`, `closing`, `sms`, and optionally `escalation`; a section defined here replaces the phrase of
 *   the same name;
 * - `<template>/text.hbs` (first line `Subject: …`) and `<template>/html.hbs`: the layout of the e-mail, which places
 *   the sections (`{{wording.intro}}`) around the items table, fees, interest, totals, pay link and bank details.
 *   The standard template is `notice`; the letter PDF draws the same sections and labels (letter/pdf.ts).
 *
 * Sections are rendered as plain text first (values unescaped) and placed into the layouts as values, so the HTML
 * layout escapes them like any other value; a blank line in a section starts a new paragraph. Everything runs in
 * strict mode: a misspelt field is an error naming the file. Helper: `{{date dueDate}}` formats a `YYYY-MM-DD` date
 * for the locale (de: 01.03.2025; en: 1 Mar 2025), `{{paragraphs wording.offer}}` turns a section into `<p>`s.
 *
 * The names the first profiles use — `reminder`, `first`, `second`, `final` — are the `notice` template in the tones
 * friendly, neutral, firm and final. A folder may still hold a complete template of the first kind,
 * `<locale>/<name>.hbs` + `<locale>/<name>.html.hbs` rendered from a {@link NoticeView}; it takes precedence.
 * Each file is read and compiled once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Handlebars from 'handlebars';
import { parse as parseYaml } from 'yaml';
import { IntegrationError } from '../domain/errors';
import { type LetterPdfOptions, renderLetterPdf } from './letter/pdf';
import { formatDate, LABEL_KEYS, type Labels, type NoticeContext, paragraphsOf, presentNotice } from './present';
import {
  type AddressForm,
  checkViewModel,
  type NoticeViewModel,
  TEMPLATE_ALIASES,
  TONES,
  type Tone,
} from './view-model';

/** The first view of a notice (formatted strings); `renderNotice` still renders it. */
export interface NoticeView {
  debtor: {
    name: string;
    /** Greeting without punctuation, e.g. `Guten Tag Erika Muster`; templates add the comma. */
    salutation: string;
  };
  tenant: { name: string };
  level: number;
  levelName: string;
  items: {
    documentNumber: string;
    /** YYYY-MM-DD */
    dueDate: string;
    /** Negative before the due date. */
    daysPastDue: number;
    /** Formatted for the locale, e.g. `119,00 €`. */
    openAmount: string;
    source: string;
  }[];
  /** Formatted fee, or empty when the notice carries none. */
  fee: string;
  /** Formatted total of the open amounts plus the fee. */
  total: string;
  payLink?: string;
  currency: string;
  /** YYYY-MM-DD of the run. */
  asOf: string;
  /**
   * The full view model of the notice. When set, the notice is rendered from it (tone, address form, bank details,
   * interest, SMS text, letter PDF) and the fields above are ignored.
   */
  model?: NoticeViewModel;
}

/** The wording sections of a tone, as plain text (paragraphs separated by a blank line). */
export interface Wording {
  subject: string;
  intro: string;
  request: string;
  escalation: string;
  payOnline: string;
  payTransfer: string;
  offer: string;
  talk: string;
  paid: string;
  closing: string;
  sms: string;
}

const SECTIONS: readonly (keyof Wording)[] = [
  'subject',
  'intro',
  'request',
  'escalation',
  'payOnline',
  'payTransfer',
  'offer',
  'talk',
  'paid',
  'closing',
  'sms',
];
const REQUIRED_SECTIONS: readonly (keyof Wording)[] = ['subject', 'intro', 'request', 'offer', 'closing', 'sms'];

export interface RenderedNotice {
  subject: string;
  text: string;
  html: string;
  /** The SMS text (only for notices rendered from a view model). */
  sms?: string;
  /** The document title of the tone, e.g. `Mahnung` (only for notices rendered from a view model). */
  title?: string;
  /** Renders the letter PDF of the notice (only for notices rendered from a view model); memoised. */
  pdf?: () => Promise<Buffer>;
}

/** Everything rendered from a view model, and what the letter PDF is drawn from. */
export interface RenderedNoticeView
  extends Required<Pick<RenderedNotice, 'subject' | 'text' | 'html' | 'sms' | 'title'>> {
  context: NoticeContext;
  labels: Labels;
  wording: Wording;
}

const hbs = Handlebars.create();

hbs.registerHelper('date', (value: unknown, options: Handlebars.HelperOptions) => {
  const locale = String((options.data as { locale?: unknown } | undefined)?.locale ?? 'en');
  return formatDate(String(value), locale);
});
hbs.registerHelper('paragraphs', (value: unknown) => {
  const html = paragraphsOf(String(value ?? ''))
    .map((p) => `<p>${Handlebars.escapeExpression(p)}</p>`)
    .join('\n');
  return new Handlebars.SafeString(html);
});

interface Compiled {
  subject: Handlebars.TemplateDelegate;
  body: Handlebars.TemplateDelegate;
}

const cache = new Map<string, Compiled>();
const labelCache = new Map<string, Labels>();
const wordingCache = new Map<string, { template: Handlebars.TemplateDelegate; files: SourceFile[] }>();

const LOCALE = /^[a-z]{2}(?:-[A-Za-z]{2,4})?$/;
const NAME = /^[a-z0-9][a-z0-9-]*$/;

/**
 * Renders notice `template` in `locale` from `templatesDir`. A legacy template (`<locale>/<template>.hbs`) renders the
 * view as it is; otherwise the template (or the tone a legacy name stands for) renders `view.model` when given, else
 * the view's fields in the tone the name stands for and the `Sie` form.
 * @throws IntegrationError naming the missing or broken template file, or the field a template uses that the view
 *   lacks.
 * @example renderNotice('config/templates', 'de', 'reminder', view).subject // 'Freundliche Erinnerung: …'
 */
export function renderNotice(
  templatesDir: string,
  locale: string,
  template: string,
  view: NoticeView,
  /** How the attached letter PDF is drawn (the tenant's fonts). */
  letter: LetterPdfOptions = {},
): RenderedNotice {
  checkNames(locale, template);
  const legacy = join(resolve(templatesDir), locale, `${template}.hbs`);
  if (existsSync(legacy) || !isKnownTemplate(templatesDir, locale, template)) {
    return renderLegacy(templatesDir, locale, template, view);
  }
  if (view.model) {
    const model = view.model;
    const r = renderNoticeView(templatesDir, model, template);
    let pdf: Promise<Buffer> | undefined;
    return {
      subject: r.subject,
      text: r.text,
      html: r.html,
      sms: r.sms,
      title: r.title,
      // The letter is the standard notice's; other templates (a thank-you) have no letter form.
      ...(hasLetterForm(template)
        ? {
            pdf: () => {
              pdf ??= renderLetterPdf(r, model, letter);
              return pdf;
            },
          }
        : {}),
    };
  }
  const alias = TEMPLATE_ALIASES[template];
  const tone: Tone = alias?.tone ?? 'neutral';
  const context = legacyContext(templatesDir, locale, tone, view);
  const r = renderContext(templatesDir, alias?.template ?? template, context);
  return { subject: r.subject, text: r.text, html: r.html, sms: r.sms };
}

/**
 * Renders a notice from its view model: subject, text and HTML of the e-mail, the SMS text, and the context, labels
 * and wording the letter PDF is drawn from. `template` is `notice` (the standard) or a legacy name standing for it.
 * @throws IntegrationError when the model does not add up, a file is missing or broken, or a template uses a field
 *   the context lacks.
 */
export function renderNoticeView(templatesDir: string, view: NoticeViewModel, template = 'notice'): RenderedNoticeView {
  checkNames(view.locale, template);
  checkViewModel(view);
  const labels = loadLabels(templatesDir, view.locale);
  const context = presentNotice(view, labels);
  return renderContext(templatesDir, TEMPLATE_ALIASES[template]?.template ?? template, context, labels);
}

/** Forgets compiled templates and labels (for tools that edit templates while running). */
export function clearTemplateCache(): void {
  cache.clear();
  labelCache.clear();
  wordingCache.clear();
}

/** The labels of a locale. @throws IntegrationError naming the file and the missing key. */
export function loadLabels(templatesDir: string, locale: string): Labels {
  const file = join(resolve(templatesDir), locale, 'labels.yaml');
  const hit = labelCache.get(file);
  if (hit) return hit;
  if (!existsSync(file)) throw new IntegrationError(`labels file ${file} does not exist`, 'template');
  let data: unknown;
  try {
    data = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new IntegrationError(`labels file ${file}: ${(err as Error).message}`, 'template');
  }
  if (!data || typeof data !== 'object') throw new IntegrationError(`labels file ${file} is not a mapping`, 'template');
  const record = data as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const key of LABEL_KEYS) {
    const value = record[key];
    if (typeof value !== 'string') {
      throw new IntegrationError(`labels file ${file}: "${key}" is missing or not text`, 'template');
    }
    out[key] = value;
  }
  const labels = Object.freeze(out) as Labels;
  labelCache.set(file, labels);
  return labels;
}

function checkNames(locale: string, template: string): void {
  if (!LOCALE.test(locale)) throw new IntegrationError(`"${locale}" is not a locale such as de or en`, 'locale');
  if (!NAME.test(template)) {
    throw new IntegrationError(`"${template}" is not a template name (lower-case letters, digits, "-")`, 'template');
  }
}

/** Whether a template is the standard notice, which the letter PDF draws (letter/pdf.ts). */
export function hasLetterForm(template: string): boolean {
  return (TEMPLATE_ALIASES[template]?.template ?? template) === 'notice';
}

function isKnownTemplate(templatesDir: string, locale: string, template: string): boolean {
  const name = TEMPLATE_ALIASES[template]?.template ?? template;
  return existsSync(join(resolve(templatesDir), locale, name, 'text.hbs'));
}

function renderContext(
  templatesDir: string,
  template: string,
  context: NoticeContext,
  labels = loadLabels(templatesDir, context.locale),
): RenderedNoticeView {
  const wording = renderWording(templatesDir, context);
  const base = join(resolve(templatesDir), context.locale, template);
  const textFile = join(base, 'text.hbs');
  const htmlFile = join(base, 'html.hbs');
  const text = load(textFile, true);
  const html = load(htmlFile, false);
  const smsFile = join(base, 'sms.hbs');
  const data = { data: { locale: context.locale } };
  const input = { ...context, labels, wording };
  // A template may bring its own SMS text (a thank-you); the standard notice uses the tone's.
  const sms = existsSync(smsFile) ? run(smsFile, () => load(smsFile, false, true).body(input, data)) : wording.sms;
  return {
    subject: run(textFile, () => text.subject(input, data))
      .replace(/\s+/g, ' ')
      .trim(),
    text: `${tidyText(run(textFile, () => text.body(input, data)))}\n`,
    html: run(htmlFile, () => html.body(input, data)).trim(),
    // A no-break space (in formatted amounts) is not in the GSM alphabet and would make the SMS UCS-2.
    sms: sms.replace(/[\s\u00a0]+/g, ' ').trim(),
    title: context.title,
    context,
    labels,
    wording,
  };
}

interface SourceFile {
  file: string;
  lines: number;
}

/** Renders the phrases and the tone's sections as plain text. */
function renderWording(templatesDir: string, context: NoticeContext): Wording {
  const dir = join(resolve(templatesDir), context.locale);
  const phrases = pickVariant(join(dir, 'phrases'), context.address);
  const tone = pickVariant(join(dir, 'tones', context.tone), context.address);
  if (!tone) {
    throw new IntegrationError(
      `template file ${join(dir, 'tones', `${context.tone}.${context.address}.hbs`)} does not exist (nor ${context.tone}.hbs)`,
      'template',
    );
  }
  const key = `${phrases ?? ''}|${tone}`;
  let compiled = wordingCache.get(key);
  if (!compiled) {
    const files: SourceFile[] = [];
    const sources: string[] = [];
    const defined = new Set<string>();
    for (const file of [phrases, tone]) {
      if (!file) continue;
      const source = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
      let ast: hbs.AST.Program;
      try {
        ast = hbs.parse(source);
      } catch (err) {
        throw new IntegrationError(`template ${file}: ${(err as Error).message}`, 'template');
      }
      for (const node of ast.body) {
        if (node.type !== 'DecoratorBlock') continue;
        const block = node as hbs.AST.DecoratorBlock;
        const name = (block.params[0] as hbs.AST.StringLiteral | undefined)?.value;
        if ((block.path as hbs.AST.PathExpression).original === 'inline' && name) defined.add(name);
      }
      // A line break keeps each file's own lines intact, so an error's line can be mapped back to its file.
      sources.push(source.endsWith('\n') ? source : `${source}\n`);
      files.push({ file, lines: (source.endsWith('\n') ? source : `${source}\n`).split('\n').length - 1 });
    }
    for (const s of REQUIRED_SECTIONS) {
      if (!defined.has(s)) {
        throw new IntegrationError(
          `template ${tone} defines no section "${s}" ({{#*inline "${s}"}}…{{/inline}})`,
          'template',
        );
      }
    }
    const tail = SECTIONS.filter((s) => defined.has(s))
      .map((s) => `\u0001${s}\u0002{{> ${s}}}`)
      .join('');
    const template = hbs.compile(`${sources.join('')}${tail}`, { strict: true, noEscape: true });
    compiled = { template, files };
    wordingCache.set(key, compiled);
  }
  let out: string;
  try {
    out = compiled.template(context, { data: { locale: context.locale } });
  } catch (err) {
    throw new IntegrationError(locateError(compiled.files, err as Error), 'template');
  }
  const wording = Object.fromEntries(SECTIONS.map((s) => [s, ''])) as unknown as Wording;
  for (const part of out.split('\u0001').slice(1)) {
    const [name, text = ''] = part.split('\u0002');
    (wording as unknown as Record<string, string>)[name!] = normaliseSection(text);
  }
  return wording;
}

/** `<base>.<address>.hbs` when it exists, else `<base>.hbs`, else undefined. */
function pickVariant(base: string, address: AddressForm): string | undefined {
  for (const file of [`${base}.${address}.hbs`, `${base}.${address.toLowerCase()}.hbs`, `${base}.hbs`]) {
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Names the file and line of a runtime error in concatenated sources (`"x" not defined in … - 12:4`). */
function locateError(files: SourceFile[], err: Error): string {
  const m = / - (\d+):(\d+)$/.exec(err.message);
  if (m) {
    let line = Number(m[1]);
    for (const f of files) {
      if (line <= f.lines) return `template ${f.file}:${line}:${Number(m[2]) + 1}: ${err.message.slice(0, m.index)}`;
      line -= f.lines;
    }
  }
  return `template ${files.map((f) => f.file).join(' + ')}: ${err.message}`;
}

function normaliseSection(text: string): string {
  return paragraphsOf(text).join('\n\n');
}

/** At most one blank line in a row, no trailing spaces. */
function tidyText(text: string): string {
  return text
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The context of a first-kind view: what it has, formatted; what it lacks, empty. */
function legacyContext(templatesDir: string, locale: string, tone: Tone, view: NoticeView): NoticeContext {
  const labels = loadLabels(templatesDir, locale);
  const titleKey = `title${tone[0]!.toUpperCase()}${tone.slice(1)}` as keyof Labels;
  return {
    noticeId: '',
    locale,
    tone,
    address: 'Sie',
    du: false,
    emphasis: tone === 'firm' || tone === 'final',
    asOf: view.asOf,
    level: view.level,
    payBy: '',
    currency: view.currency,
    title: labels[titleKey],
    tenant: { name: view.tenant.name },
    creditor: { name: view.tenant.name, addressLines: [], phone: '', email: '', website: '', legalLines: [] },
    debtor: {
      name: view.debtor.name,
      salutation: view.debtor.salutation,
      firstName: view.debtor.name,
      customerNumber: '',
      isBusiness: false,
      postalAddress: [],
    },
    items: view.items.map((i) => ({
      source: i.source,
      sourceLabel: i.source,
      documentNumber: i.documentNumber,
      documentDate: '',
      dueDate: i.dueDate,
      daysPastDue: i.daysPastDue,
      openAmount: i.openAmount,
      amount: '',
      overdue: i.daysPastDue > 0,
    })),
    fees: view.fee ? [{ label: labels.feeDunning, amount: view.fee }] : [],
    interest: [],
    hasFees: Boolean(view.fee),
    hasInterest: false,
    fee: view.fee,
    totals: { items: '', fees: view.fee, interest: '', total: view.total },
    total: view.total,
    payLink: view.payLink ?? '',
    bank: false,
    contact: { phone: '', email: '', callbackUrl: '', promiseUrl: '', hours: '' },
    hasContact: false,
    images: { payLink: '', giroCode: '' },
  };
}

// --- complete templates of the first kind (`<locale>/<name>.hbs`) ---

function renderLegacy(templatesDir: string, locale: string, template: string, view: NoticeView): RenderedNotice {
  const base = join(resolve(templatesDir), locale, template);
  const textFile = `${base}.hbs`;
  const htmlFile = `${base}.html.hbs`;
  const text = load(textFile, true);
  const html = load(htmlFile, false);
  const data = { data: { locale } };
  return {
    subject: run(textFile, () => text.subject(view, data))
      .replace(/\s+/g, ' ')
      .trim(),
    text: `${run(textFile, () => text.body(view, data)).trim()}\n`,
    html: run(htmlFile, () => html.body(view, data)),
  };
}

function load(file: string, withSubject: boolean, plain = withSubject): Compiled {
  const hit = cache.get(file);
  if (hit) return hit;
  if (!existsSync(file)) throw new IntegrationError(`template file ${file} does not exist`, 'template');
  const source = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  let subjectSource = '';
  let bodySource = source;
  if (withSubject) {
    const m = /^Subject:[ \t]*(.*)\r?\n(?:[ \t]*\r?\n)?/.exec(source);
    if (!m) throw new IntegrationError(`template ${file} must start with a line "Subject: …"`, 'template');
    subjectSource = m[1]!;
    bodySource = source.slice(m[0].length);
  }
  const compiled: Compiled = {
    subject: compile(file, subjectSource, true),
    body: compile(file, bodySource, plain),
  };
  cache.set(file, compiled);
  return compiled;
}

function compile(file: string, source: string, plain: boolean): Handlebars.TemplateDelegate {
  try {
    hbs.parse(source); // syntax errors now, with the file name, rather than at the first render
  } catch (err) {
    throw new IntegrationError(`template ${file}: ${(err as Error).message}`, 'template');
  }
  return hbs.compile(source, { strict: true, noEscape: plain });
}

function run(file: string, render: () => string): string {
  try {
    return render();
  } catch (err) {
    throw new IntegrationError(`template ${file}: ${(err as Error).message}`, 'template');
  }
}

/** Whether `tone` is one of the four tones. */
export function isTone(tone: string): tone is Tone {
  return (TONES as readonly string[]).includes(tone);
}
