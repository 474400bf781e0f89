/**
 * Notice templates (Handlebars). For a template `first` in locale `de` there are two files under the templates dir:
 *
 * - `de/first.hbs`: the first line is `Subject: …`, the rest (after an optional blank line) is the plain-text body;
 * - `de/first.html.hbs`: the HTML body. Values are HTML-escaped here (`{{x}}`), never in the subject or text.
 *
 * Templates run in strict mode: a misspelt field is an error, not an empty string. Helper: `{{date dueDate}}` formats
 * a `YYYY-MM-DD` date for the locale (de: 01.05.2025; en: 1 May 2025). Each file is read and compiled once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Handlebars from 'handlebars';
import { IntegrationError } from '../domain/errors';

/** What a notice template renders. The names are the templates' contract: keep them stable. */
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
}

export interface RenderedNotice {
  subject: string;
  text: string;
  html: string;
}

interface Compiled {
  subject: Handlebars.TemplateDelegate;
  body: Handlebars.TemplateDelegate;
}

const hbs = Handlebars.create();
const INTL_LOCALES: Record<string, string> = { de: 'de-DE', en: 'en-GB' };

hbs.registerHelper('date', (value: unknown, options: Handlebars.HelperOptions) => {
  const s = String(value);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
  const locale = String((options.data as { locale?: unknown } | undefined)?.locale ?? 'en');
  try {
    return new Intl.DateTimeFormat(INTL_LOCALES[locale] ?? locale, { dateStyle: 'medium', timeZone: 'UTC' }).format(
      new Date(`${s}T00:00:00Z`),
    );
  } catch {
    return s;
  }
});

const cache = new Map<string, Compiled>();

/**
 * Renders notice `template` in `locale` from `templatesDir` (`<dir>/<locale>/<template>.hbs` and `.html.hbs`).
 * @throws IntegrationError naming the missing or broken template file, or the field a template uses that the view
 *   lacks.
 * @example renderNotice('config/templates', 'de', 'reminder', view).subject // 'Zahlungserinnerung …'
 */
export function renderNotice(templatesDir: string, locale: string, template: string, view: NoticeView): RenderedNotice {
  if (!/^[a-z]{2}(?:-[A-Za-z]{2,4})?$/.test(locale)) {
    throw new IntegrationError(`"${locale}" is not a locale such as de or en`, 'locale');
  }
  if (!/^[a-z0-9][a-z0-9-]*$/.test(template)) {
    throw new IntegrationError(`"${template}" is not a template name (lower-case letters, digits, "-")`, 'template');
  }
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

/** Forgets compiled templates (for tools that edit templates while running). */
export function clearTemplateCache(): void {
  cache.clear();
}

function load(file: string, withSubject: boolean): Compiled {
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
    body: compile(file, bodySource, withSubject),
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
