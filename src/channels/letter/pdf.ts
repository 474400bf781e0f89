/**
 * The letter of a notice as PDF (pdfkit), laid out for a DIN 5008 window envelope (form B, DL/C5/C4 with a window on
 * the left): the return address line and the recipient in the address field (20 mm from the left, 45 mm from the top,
 * 85 × 45 mm), the information block at 125 mm, the subject at 98.46 mm, fold marks at 105 and 210 mm and the punch
 * mark at 148.5 mm. Below the text: the items table with fees, interest and the total, the pay link with its QR code,
 * the bank details with the RF reference and the EPC QR code (GiroCode), the offer to talk and the closing. Every
 * page carries the creditor's footer and "Seite x von y".
 *
 * Fonts: the PDF standard fonts (Helvetica) unless `fonts` names TrueType files. The standard fonts cover Western
 * European text (WinAnsi); other characters are transliterated (Ł → L) or printed as "?", so a tenant writing to
 * debtors in other scripts names a Unicode font (`channels.fonts` in its tenant file; channels/from-config.ts).
 */
import { readFileSync } from 'node:fs';
import * as fontkit from 'fontkit';
import PDFDocument from 'pdfkit';
import { IntegrationError } from '../../domain/errors';
import { formatDate, paragraphsOf } from '../present';
import { giroCodeModules, payLinkModules, type QrModules } from '../qr';
import type { RenderedNoticeView } from '../templates';
import type { NoticeViewModel } from '../view-model';

export interface LetterPdfOptions {
  /**
   * The sender line printed above the recipient in the address field (DIN 5008 "Rücksendeangabe"), one part each,
   * joined with " · ". @defaultValue the creditor's name and address lines
   */
  returnAddress?: readonly string[];
  /** TrueType fonts for text outside Western European scripts. @defaultValue Helvetica and Helvetica-Bold */
  fonts?: { regular: string; bold: string };
}

/** A letter ready to draw: its text and its QR code images. */
export interface LetterContent {
  rendered: RenderedNoticeView;
  view: NoticeViewModel;
  giroCode?: QrModules;
  payLinkQr?: QrModules;
}

const MM = 72 / 25.4;
const mm = (v: number) => v * MM;
const PAGE_W = mm(210);
const PAGE_H = mm(297);
const LEFT = mm(25);
const RIGHT = mm(20);
const WIDTH = PAGE_W - LEFT - RIGHT;
const TOP = mm(20);
const BOTTOM = mm(27);
const FOOTER_Y = PAGE_H - mm(20);
const INK = '#1f2933';
const MUTED = '#52606d';

/** Computes the QR codes of a letter. */
export async function prepareLetter(rendered: RenderedNoticeView, view: NoticeViewModel): Promise<LetterContent> {
  const [giroCode, payLinkQr] = await Promise.all([
    giroCodeModules(view),
    view.payLink ? payLinkModules(view.payLink) : Promise.resolve(undefined),
  ]);
  return { rendered, view, giroCode, payLinkQr };
}

/** Draws a QR code as black rectangles on white, `side` points square. */
function drawQr(doc: PDFKit.PDFDocument, qr: QrModules, x: number, y: number, side: number): void {
  const unit = side / qr.size;
  doc.save();
  doc.rect(x, y, side, side).fill('#ffffff');
  for (const [mx, my, w] of qr.runs) doc.rect(x + mx * unit, y + my * unit, w * unit, unit);
  doc.fill('#000000');
  doc.restore();
}

/** One letter as a PDF file. */
export async function renderLetterPdf(
  rendered: RenderedNoticeView,
  view: NoticeViewModel,
  opts: LetterPdfOptions = {},
): Promise<Buffer> {
  const content = await prepareLetter(rendered, view);
  const doc = newLetterDocument(rendered.context.title, view.creditor.name, opts);
  const done = collect(doc);
  drawLetter(doc, content, opts);
  doc.end();
  return done;
}

/** A document for one or more letters: A4, buffered pages (footers are written last), no first page yet. */
export function newLetterDocument(title: string, author: string, opts: LetterPdfOptions = {}): PDFKit.PDFDocument {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: TOP, bottom: BOTTOM, left: LEFT, right: RIGHT },
    bufferPages: true,
    autoFirstPage: false,
    compress: true,
    info: { Title: title, Author: author, Creator: 'Clearhub' },
  });
  if (opts.fonts) {
    // pdfkit takes a parsed font where its types say a file (it tells them apart by their `layout` method).
    doc.registerFont(REGULAR, letterFont(opts.fonts.regular) as unknown as string);
    doc.registerFont(BOLD, letterFont(opts.fonts.bold) as unknown as string);
  }
  return doc;
}

/**
 * TrueType fonts by file, parsed once. Given a file, pdfkit reads and parses it again for every document (a letter in
 * DejaVu Sans took 35 ms, 14 ms with the parsed font); given the parsed font it only makes the document's subset.
 */
const letterFonts = new Map<string, fontkit.Font>();

/**
 * The parsed TrueType or OpenType font in `file`.
 * @throws IntegrationError naming `field` when the file cannot be read or holds no single font.
 */
export function letterFont(file: string, field = 'fonts'): fontkit.Font {
  let font = letterFonts.get(file);
  if (font) return font;
  let parsed: fontkit.Font | fontkit.FontCollection;
  try {
    parsed = fontkit.create(readFileSync(file));
  } catch (err) {
    throw new IntegrationError(`${file}: not a font file that can be read (${(err as Error).message})`, field);
  }
  if (!('layout' in parsed)) throw new IntegrationError(`${file} is a font collection: name one font file`, field);
  font = parsed;
  letterFonts.set(file, font);
  return font;
}

const REGULAR = 'regular';
const BOLD = 'bold';

/**
 * The names a letter's text is set in. The standard fonts are asked for by their own names: pdfkit keeps a font under
 * the name it was asked for, except a standard font registered under another name whose font it already has (the
 * document's default Helvetica): that one it parses again (its AFM metrics, ~4 ms) on every switch to it.
 */
function fontNames(opts: LetterPdfOptions): { regular: string; bold: string } {
  return opts.fonts ? { regular: REGULAR, bold: BOLD } : { regular: 'Helvetica', bold: 'Helvetica-Bold' };
}

/** The bytes of a document once it is ended. */
export function collect(doc: PDFKit.PDFDocument): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

/**
 * Draws one letter from a new page on, with its footers; returns its page range in the document (0-based first page).
 */
export function drawLetter(
  doc: PDFKit.PDFDocument,
  content: LetterContent,
  opts: LetterPdfOptions = {},
): { firstPage: number; pages: number } {
  const { rendered } = content;
  const { context: c, labels, wording } = rendered;
  const t = opts.fonts ? (s: string) => s : toWinAnsi;
  const locale = c.locale;
  doc.addPage();
  const firstPage = doc.bufferedPageRange().start + doc.bufferedPageRange().count - 1;

  const fonts = fontNames(opts);
  const regular = (size: number) => doc.font(fonts.regular).fontSize(size).fillColor(INK);
  const bold = (size: number) => doc.font(fonts.bold).fontSize(size).fillColor(INK);
  const ensure = (height: number) => {
    if (doc.y + height > PAGE_H - BOTTOM) {
      doc.addPage();
      doc.y = TOP;
    }
  };
  const paragraph = (text: string, size = 10, strong = false) => {
    for (const p of paragraphsOf(text)) {
      (strong ? bold(size) : regular(size)).text(t(p), LEFT, doc.y, { width: WIDTH, lineGap: 1.5 });
      doc.moveDown(0.6);
    }
  };

  // Letterhead, right: the creditor.
  let y = mm(15);
  bold(11).text(t(c.creditor.name), mm(125), y, { width: mm(65) });
  regular(8.5).fillColor(MUTED);
  for (const line of [...c.creditor.addressLines, c.creditor.phone, c.creditor.email, c.creditor.website]) {
    if (line) doc.text(t(line), mm(125), doc.y, { width: mm(65) });
  }

  // Fold and punch marks.
  doc.save().lineWidth(0.5).strokeColor('#9aa5b1');
  doc.moveTo(mm(4), mm(105)).lineTo(mm(8), mm(105)).stroke();
  doc.moveTo(mm(4), mm(210)).lineTo(mm(8), mm(210)).stroke();
  doc.moveTo(mm(4), mm(148.5)).lineTo(mm(10), mm(148.5)).stroke();
  doc.restore();

  // Address field: return address at the foot of the 17.7 mm endorsement zone, then up to 6 recipient lines.
  const returnLine = (opts.returnAddress ?? [c.creditor.name, ...c.creditor.addressLines]).join(' · ');
  regular(7)
    .fillColor(MUTED)
    .text(t(returnLine), LEFT, mm(45 + 17.7 - 4.5), {
      width: mm(80),
      lineBreak: false,
      ellipsis: true,
      height: mm(4),
      underline: true,
    });
  const recipient = c.debtor.postalAddress.length > 0 ? c.debtor.postalAddress : [c.debtor.name];
  regular(10);
  y = mm(45 + 17.7 + 1);
  for (const line of recipient.slice(0, 6)) {
    doc.text(t(line), LEFT, y, { width: mm(80), lineBreak: false, ellipsis: true, height: mm(5) });
    y += mm(4.23);
  }

  // Information block.
  const info: [string, string][] = [];
  if (c.debtor.customerNumber) info.push([labels.customerNumber, c.debtor.customerNumber]);
  info.push([labels.date, formatDate(c.asOf, locale)]);
  info.push([labels.level, String(c.level)]);
  if (c.contact.phone) info.push([labels.phone, c.contact.phone]);
  y = mm(50);
  for (const [k, v] of info) {
    regular(8.5)
      .fillColor(MUTED)
      .text(t(k), mm(125), y, { width: mm(30), lineBreak: false });
    regular(8.5).text(t(v), mm(155), y, { width: mm(40), lineBreak: false, ellipsis: true, height: mm(5) });
    y += mm(4.5);
  }

  // Subject and text.
  bold(11).text(t(wording.subject), LEFT, mm(98.46), { width: WIDTH });
  doc.moveDown(1.2);
  regular(10).text(t(`${c.debtor.salutation},`), LEFT, doc.y, { width: WIDTH });
  doc.moveDown(0.8);
  paragraph(wording.intro);

  // Items table.
  const cols = [
    { key: 'source', w: mm(30), align: 'left' },
    { key: 'document', w: mm(42), align: 'left' },
    { key: 'due', w: mm(28), align: 'left' },
    { key: 'days', w: mm(27), align: 'right' },
    { key: 'open', w: mm(38), align: 'right' },
  ] as const;
  const rowH = mm(5.2);
  const pad = mm(1);
  const cell = (text: string, col: number, yy: number, strong = false) => {
    const x = LEFT + cols.slice(0, col).reduce((s, k) => s + k.w, 0);
    const spec = cols[col]!;
    (strong ? bold(9) : regular(9)).text(t(text), x + pad, yy + mm(1.2), {
      width: spec.w - 2 * pad,
      align: spec.align,
      lineBreak: false,
      ellipsis: true,
      height: rowH,
    });
  };
  const rule = (yy: number, weight = 0.5) => {
    doc
      .save()
      .lineWidth(weight)
      .strokeColor('#9aa5b1')
      .moveTo(LEFT, yy)
      .lineTo(LEFT + WIDTH, yy)
      .stroke()
      .restore();
  };
  const header = () => {
    const yy = doc.y;
    cell(labels.source, 0, yy, true);
    cell(labels.document, 1, yy, true);
    cell(labels.dueDate, 2, yy, true);
    cell(labels.daysPastDue, 3, yy, true);
    cell(labels.open, 4, yy, true);
    rule(yy + rowH);
    doc.y = yy + rowH;
  };
  ensure(rowH * 3);
  header();
  for (const item of c.items) {
    if (doc.y + rowH > PAGE_H - BOTTOM) {
      doc.addPage();
      doc.y = TOP;
      header();
    }
    const yy = doc.y;
    cell(item.sourceLabel, 0, yy);
    cell(item.documentNumber, 1, yy);
    cell(formatDate(item.dueDate, locale), 2, yy);
    cell(item.overdue ? String(item.daysPastDue) : '', 3, yy);
    cell(item.openAmount, 4, yy);
    doc.y = yy + rowH;
  }
  const spanned = (label: string, amount: string, strong = false) => {
    const labelW = WIDTH - cols[4].w - 2 * pad;
    strong ? bold(9) : regular(9);
    const h = Math.max(rowH, doc.heightOfString(t(label), { width: labelW }) + mm(2));
    ensure(h);
    const yy = doc.y;
    (strong ? bold(9) : regular(9)).text(t(label), LEFT + pad, yy + mm(1.2), { width: labelW });
    cell(amount, 4, yy, strong);
    doc.y = yy + h;
  };
  if (c.hasFees || c.hasInterest) {
    rule(doc.y);
    if (c.items.length > 1) spanned(labels.itemsTotal, c.totals.items);
    for (const f of c.fees) spanned(f.label, f.amount);
    for (const i of c.interest) spanned(i.label, i.amount);
  }
  rule(doc.y, 0.8);
  spanned(labels.total, c.totals.total, true);
  doc.moveDown(1);

  paragraph(wording.request, 10, c.emphasis);
  paragraph(wording.escalation);

  // Paying: online (link and QR code), then by transfer (bank details and GiroCode).
  const qrSize = mm(30);
  if (c.payLink) {
    ensure(qrSize + mm(10));
    const yy = doc.y;
    bold(10).text(t(labels.payOnline), LEFT, yy, { width: WIDTH - qrSize - mm(8) });
    doc.moveDown(0.3);
    regular(10).text(t(wording.payOnline), LEFT, doc.y, { width: WIDTH - qrSize - mm(8) });
    regular(9)
      .fillColor('#1f6feb')
      .text(c.payLink, LEFT, doc.y, { width: WIDTH - qrSize - mm(8), link: c.payLink, underline: true });
    const textEnd = doc.y;
    if (content.payLinkQr) {
      drawQr(doc, content.payLinkQr, LEFT + WIDTH - qrSize, yy, qrSize);
      regular(7)
        .fillColor(MUTED)
        .text(t(labels.scanToPay), LEFT + WIDTH - qrSize, yy + qrSize + mm(0.5), {
          width: qrSize,
          align: 'center',
        });
    }
    doc.y = Math.max(doc.y, textEnd, yy + qrSize + mm(8));
  }
  const transfer = paragraphsOf(wording.payTransfer);
  if (c.bank) {
    const giroSize = mm(32);
    ensure(giroSize + mm(12));
    const yy = doc.y;
    const textW = WIDTH - giroSize - mm(8);
    bold(10).text(t(labels.bankDetails), LEFT, yy, { width: textW });
    doc.moveDown(0.3);
    for (const p of transfer) {
      regular(10).text(t(p), LEFT, doc.y, { width: textW, lineGap: 1.5 });
      doc.moveDown(0.4);
    }
    const rows: [string, string][] = [
      [labels.beneficiary, c.bank.beneficiary],
      [labels.iban, c.bank.iban],
      ...(c.bank.bic ? ([[labels.bic, c.bank.bic]] as [string, string][]) : []),
      [labels.amount, c.bank.amount],
      [labels.reference, c.bank.reference],
    ];
    for (const [k, v] of rows) {
      const ry = doc.y;
      regular(9.5)
        .fillColor(MUTED)
        .text(t(k), LEFT, ry, { width: mm(32), lineBreak: false });
      (k === labels.reference ? bold(9.5) : regular(9.5)).text(t(v), LEFT + mm(33), ry, {
        width: textW - mm(33),
        lineBreak: false,
      });
      doc.y = ry + mm(4.6);
    }
    const rowsEnd = doc.y;
    if (content.giroCode) {
      drawQr(doc, content.giroCode, LEFT + WIDTH - giroSize, yy, giroSize);
      regular(7)
        .fillColor(MUTED)
        .text(t(labels.giroCode), LEFT + WIDTH - giroSize, yy + giroSize + mm(0.5), {
          width: giroSize,
          align: 'center',
        });
    }
    doc.y = Math.max(doc.y, rowsEnd, yy + giroSize + mm(8));
    doc.moveDown(0.4);
  } else {
    for (const p of transfer) paragraph(p);
  }

  paragraph(wording.offer);
  paragraph(wording.talk);
  paragraph(wording.paid);
  ensure(mm(15));
  regular(10).text(t(wording.closing), LEFT, doc.y, { width: WIDTH });
  doc.moveDown(0.2);
  regular(10).text(t(c.creditor.name), LEFT, doc.y, { width: WIDTH });

  // Footers, now that the letter's page count is known.
  const range = doc.bufferedPageRange();
  const pages = range.start + range.count - firstPage;
  const footer = [c.creditor.name, ...c.creditor.addressLines, ...c.creditor.legalLines].filter(Boolean).join(' · ');
  for (let i = 0; i < pages; i++) {
    doc.switchToPage(firstPage + i);
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0; // writing into the bottom margin must not start a new page
    regular(7)
      .fillColor(MUTED)
      .text(t(footer), LEFT, FOOTER_Y, { width: WIDTH - mm(30), lineBreak: false, ellipsis: true, height: mm(4) });
    regular(7)
      .fillColor(MUTED)
      .text(t(`${labels.page} ${i + 1} / ${pages}`), LEFT + WIDTH - mm(30), FOOTER_Y, {
        width: mm(30),
        align: 'right',
        lineBreak: false,
      });
    doc.page.margins.bottom = bottom;
  }
  doc.switchToPage(firstPage + pages - 1);
  return { firstPage, pages };
}

/** Characters the standard PDF fonts can print (WinAnsiEncoding). */
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
const TRANSLITERATE: Record<string, string> = {
  Ł: 'L',
  ł: 'l',
  Đ: 'D',
  đ: 'd',
  ı: 'i',
  Ħ: 'H',
  ħ: 'h',
  '\u2212': '-',
  '\u2010': '-',
  '\u2011': '-',
  '\u202f': ' ',
  '\u2009': ' ',
};

/** Text the standard fonts can print: Latin-1 and the WinAnsi extras as they are, others transliterated or "?". */
export function toWinAnsi(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if ((code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(ch) || ch === '\n') {
      out += ch;
      continue;
    }
    const mapped = TRANSLITERATE[ch];
    if (mapped !== undefined) {
      out += mapped;
      continue;
    }
    const base = ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
    out += [...base].every((b) => b.codePointAt(0)! <= 0xff) && base !== '' ? base : '?';
  }
  return out;
}
