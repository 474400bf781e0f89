/**
 * `clearhub template preview <template> --debtor <id>`: renders the notice a debtor would get now, from the store,
 * in any locale, tone and form of address, as text (subject and body of the e-mail), HTML, the SMS text or the letter
 * PDF. Nothing is sent and nothing is written to the store.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { sql } from 'kysely';
import { letterPdfOptions } from '../channels/from-config';
import { buildViewModel, toneOfTemplate } from '../channels/from-store';
import { renderLetterPdf } from '../channels/letter/pdf';
import { IMAGE_CIDS } from '../channels/present';
import { noticeImages } from '../channels/qr';
import { smsLength } from '../channels/sms/segments';
import { hasLetterForm, renderNoticeView } from '../channels/templates';
import { ADDRESS_FORMS, type AddressForm, type NoticeLocale, TONES, type Tone } from '../channels/view-model';
import { checkCalendarDate } from '../domain/dates';
import { IntegrationError } from '../domain/errors';
import { type Runtime, resolveTemplatesDir } from '../runtime';
import { itemLevelSql } from '../store/schema-dunning';
import { withRuntime } from './context';

const FORMATS = ['text', 'html', 'pdf', 'sms'] as const;

/** Adds `template preview` to the program. */
export function registerTemplatePreview(program: Command): void {
  const template =
    program.commands.find((c) => c.name() === 'template') ??
    program.command('template').description('notice templates (config/templates)');
  template
    .command('preview')
    .description('render the notice a debtor would get now: text, HTML, SMS or the letter PDF (nothing is sent)')
    .argument('<template>', 'notice (the standard), or a name of the strategy: reminder, first, second, final')
    .requiredOption('--debtor <id>', "our debtor id, or the source's customer number")
    .option('--tenant <id>')
    .option('--locale <locale>', "de or en (default: the debtor's language)")
    .addOption(new Option('--tone <tone>', 'default: the tone of the strategy level or template').choices(TONES))
    .addOption(new Option('--address <form>', 'German form of address').choices(['du', 'Sie', 'sie']).default('Sie'))
    .option('--as-of <date>', 'the date of the notice, YYYY-MM-DD', new Date().toISOString().slice(0, 10))
    .addOption(new Option('--format <format>', 'what to render').choices(FORMATS).default('text'))
    .option('--out <file>', 'write to this file instead of standard output (needed for pdf on a terminal)')
    .action(async (name: string, o: PreviewOptions, cmd: Command) => {
      checkCalendarDate(o.asOf, '--as-of');
      await withRuntime(cmd, (rt) => preview(rt, name, o));
    });
}

interface PreviewOptions {
  debtor: string;
  tenant?: string;
  locale?: string;
  tone?: Tone;
  address: string;
  asOf: string;
  format: (typeof FORMATS)[number];
  out?: string;
}

async function preview(rt: Runtime, template: string, o: PreviewOptions): Promise<void> {
  const cfg = rt.tenant(o.tenant);
  const tenantId = cfg.tenant.id;
  const db = rt.store.db;
  let debtor = await db
    .selectFrom('debtors')
    .select(['debtor_id', 'name', 'type', 'email', 'phone', 'language', 'country'])
    .where('tenant_id', '=', tenantId)
    .where('debtor_id', '=', o.debtor)
    .executeTakeFirst();
  if (!debtor) {
    const links = await db
      .selectFrom('debtor_links')
      .select(['debtor_id', 'source'])
      .where('tenant_id', '=', tenantId)
      .where('external_id', '=', o.debtor)
      .execute();
    const ids = [...new Set(links.map((l) => l.debtor_id))];
    if (ids.length > 1) {
      throw new IntegrationError(
        `customer number ${o.debtor} belongs to several debtors (${ids.join(', ')}); give our debtor id`,
        '--debtor',
      );
    }
    if (ids.length === 1) {
      debtor = await db
        .selectFrom('debtors')
        .select(['debtor_id', 'name', 'type', 'email', 'phone', 'language', 'country'])
        .where('tenant_id', '=', tenantId)
        .where('debtor_id', '=', ids[0]!)
        .executeTakeFirst();
    }
  }
  if (!debtor) throw new IntegrationError(`no debtor "${o.debtor}" in tenant ${tenantId}`, '--debtor');

  const open = await db
    .selectFrom('items')
    .select([
      'item_id',
      'source',
      'document_number',
      'document_date',
      'due_date',
      'amount_minor',
      'open_minor',
      'currency',
      'external_id',
      'contract_ref',
      sql<number>`${sql.raw(itemLevelSql())}`.as('dunning_level'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('debtor_id', '=', debtor.debtor_id)
    .where('status', '=', 'open')
    .where('open_minor', '>', 0)
    .orderBy('due_date')
    .orderBy('document_number')
    .execute();
  if (open.length === 0) throw new IntegrationError(`debtor ${debtor.debtor_id} has no open items`, '--debtor');
  const due = open.filter((i) => i.due_date <= o.asOf);
  if (due.length === 0) process.stderr.write(`note: nothing is due on ${o.asOf}; showing all open items\n`);
  const currency = (due[0] ?? open[0])!.currency;
  const items = (due.length > 0 ? due : open).filter((i) => i.currency === currency);

  const levels = cfg.dunning.strategy.levels;
  const level = levels.find((l) => l.template === template || l.name === template);
  const tone: Tone = o.tone ?? level?.tone ?? toneOfTemplate(template);
  const locale =
    o.locale ?? (cfg.tenant.languages.includes(debtor.language) ? debtor.language : cfg.tenant.defaultLanguage);
  if (locale !== 'de' && locale !== 'en') throw new IntegrationError(`"${locale}" is not de or en`, '--locale');
  const address = ADDRESS_FORMS.find((a) => a.toLowerCase() === o.address.toLowerCase()) as AddressForm;
  const postal = await db
    .selectFrom('debtor_addresses')
    .select(['lines'])
    .where('tenant_id', '=', tenantId)
    .where('debtor_id', '=', debtor.debtor_id)
    .executeTakeFirst();
  const returnAddress = cfg.channels.letter?.returnAddress ?? [];
  const view = buildViewModel({
    noticeId: `preview-${debtor.debtor_id}-${o.asOf}`,
    locale: locale as NoticeLocale,
    tone,
    address,
    asOf: o.asOf,
    level: level?.level ?? Math.max(1, ...items.map((i) => i.dunning_level)),
    currency,
    debtor,
    postalAddress: postal?.lines,
    items,
    fees: level && level.feeMinor > 0 ? [{ kind: 'dunning-fee', amountMinor: level.feeMinor }] : [],
    settings: {
      creditor: {
        name: cfg.tenant.name,
        addressLines: returnAddress[0] === cfg.tenant.name ? returnAddress.slice(1) : returnAddress,
        email: cfg.channels.email.replyTo,
      },
    },
  });
  const templatesDir = resolveTemplatesDir(cfg.templates.dir);
  const rendered = renderNoticeView(templatesDir, view, template);

  let output: string | Buffer;
  switch (o.format) {
    case 'text':
      output = `Subject: ${rendered.subject}\n\n${rendered.text}`;
      break;
    case 'html': {
      // Outside an e-mail there are no inline parts: the QR codes become data URIs.
      let html = rendered.html;
      for (const img of await noticeImages(view)) {
        html = html.split(`cid:${img.cid}`).join(`data:image/png;base64,${img.content.toString('base64')}`);
      }
      output = html.replace(new RegExp(`cid:(${Object.values(IMAGE_CIDS).join('|')})`, 'g'), '');
      break;
    }
    case 'sms': {
      const l = smsLength(rendered.sms);
      process.stderr.write(`${l.units} characters (${l.encoding}), ${l.segments} SMS\n`);
      output = `${rendered.sms}\n`;
      break;
    }
    case 'pdf':
      if (!hasLetterForm(template)) throw new IntegrationError(`template "${template}" has no letter form`, '--format');
      output = await renderLetterPdf(rendered, view, {
        returnAddress: returnAddress.length ? returnAddress : undefined,
        ...letterPdfOptions(cfg.channels, rt.home),
      });
      if (!o.out && process.stdout.isTTY) {
        throw new IntegrationError('a PDF does not belong on a terminal; give --out <file>', '--out');
      }
      break;
    default: {
      const never: never = o.format;
      throw new IntegrationError(`unknown format ${String(never)}`, '--format');
    }
  }
  if (o.out) {
    writeFileSync(resolve(o.out), output);
    process.stderr.write(`${o.format} written to ${o.out}\n`);
  } else {
    process.stdout.write(output);
  }
}
