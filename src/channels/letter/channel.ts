/**
 * Letters for a print service, as a folder drop: each batch is one folder `<outDir>/<batch id>/` holding
 *
 * - `letters.pdf`: every letter of the batch, each starting on a new page (and, with `duplex`, on a new sheet: a blank
 *   page pads a letter with an odd page count);
 * - `manifest.csv`: one row per letter — sequence, notice id, first page and page count in the PDF, sheets, the
 *   address as printed (up to six lines), country, currency and total — so the print service can split, frank and
 *   reconcile, and we can trace a letter back to its notice.
 *
 * The folder is written as `.<batch id>.partial` and renamed when complete, so a print service polling `outDir`
 * never picks up half a batch (a rename within one file system is atomic). No zip.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConnectorError } from '../../domain/errors';
import { formatMinor } from '../../domain/money';
import type { Channel, ChannelSendResult, OutboundNotice } from '../channel';
import { hasLetterForm, renderNoticeView } from '../templates';
import {
  collect,
  drawLetter,
  type LetterContent,
  type LetterPdfOptions,
  newLetterDocument,
  prepareLetter,
} from './pdf';

/**
 * Options of {@link createLetterChannel}.
 *
 * @example createLetterChannel({ outDir: 'data/acme/print', templatesDir: 'config/templates', returnAddress: ['ACME GmbH', 'Hafenstr. 1', '20457 Hamburg'] })
 */
export interface LetterChannelOptions extends LetterPdfOptions {
  /** Where batch folders are dropped; created when missing. */
  outDir: string;
  /** Templates the letters are drawn from (labels and wording of the notice's locale and tone). */
  templatesDir: string;
  /** Pad letters to an even page count, for duplex printing. @defaultValue `true` */
  duplex?: boolean;
  /** A batch is written once it holds this many letters (and on `flush`). @defaultValue `500` */
  maxPerBatch?: number;
  /** @defaultValue `letters-<UTC time>-<random>` */
  batchId?: () => string;
  /** Called with each batch written. */
  onBatch?: (batch: { batchId: string; dir: string; letters: number; pages: number }) => void;
}

interface Pending {
  noticeId: string;
  sequence: number;
  content: LetterContent;
}

const MIN_ADDRESS_LINES = 2;

export function createLetterChannel(opts: LetterChannelOptions): Channel {
  const duplex = opts.duplex ?? true;
  const maxPerBatch = opts.maxPerBatch ?? 500;
  const newBatchId =
    opts.batchId ??
    (() => `letters-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`);
  const done = new Map<string, ChannelSendResult>();
  let batchId = newBatchId();
  let pending: Pending[] = [];

  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const letters = pending;
    const id = batchId;
    pending = [];
    batchId = newBatchId();
    const partial = join(opts.outDir, `.${id}.partial`);
    const final = join(opts.outDir, id);
    try {
      const doc = newLetterDocument(`Clearhub ${id}`, letters[0]!.content.view.creditor.name, opts);
      const bytes = collect(doc);
      const rows: string[] = [MANIFEST_HEADER];
      let totalPages = 0;
      for (const l of letters) {
        const { firstPage, pages } = drawLetter(doc, l.content, opts);
        let sheets = pages;
        if (duplex) {
          if (pages % 2 === 1) doc.addPage();
          sheets = Math.ceil(pages / 2);
        }
        totalPages = doc.bufferedPageRange().count;
        rows.push(manifestRow(id, l, firstPage + 1, pages, sheets));
      }
      doc.end();
      const pdf = await bytes;
      await mkdir(partial, { recursive: true });
      await writeFile(join(partial, 'letters.pdf'), pdf);
      await writeFile(join(partial, 'manifest.csv'), `${rows.join('\r\n')}\r\n`);
      await rename(partial, final);
      opts.onBatch?.({ batchId: id, dir: final, letters: letters.length, pages: totalPages });
    } catch (err) {
      // Nothing of this batch reached the print service: its letters may be sent again.
      for (const l of letters) done.delete(l.noticeId);
      await rm(partial, { recursive: true, force: true }).catch(() => undefined);
      throw new ConnectorError(`could not write the letter batch ${id}: ${(err as Error).message}`, {
        code: (err as NodeJS.ErrnoException).code,
      });
    }
  };

  return {
    name: 'letter',
    async send(notice: OutboundNotice): Promise<ChannelSendResult> {
      const { view } = notice;
      const seen = done.get(view.noticeId);
      if (seen) return seen;
      if (notice.template && !hasLetterForm(notice.template)) {
        return { channel: 'letter', status: 'failed', reason: `template "${notice.template}" has no letter form` };
      }
      const address = (view.debtor.postalAddress ?? []).filter((l) => l.trim() !== '');
      if (address.length < MIN_ADDRESS_LINES) {
        return { channel: 'letter', status: 'failed', reason: 'debtor has no postal address' };
      }
      const rendered = renderNoticeView(opts.templatesDir, view, notice.template);
      const content = await prepareLetter(rendered, view);
      const sequence = pending.length + 1;
      const result: ChannelSendResult = {
        channel: 'letter',
        status: 'sent',
        providerMessageId: `${batchId}/${sequence}`,
        recipient: address.join(', '),
      };
      pending.push({ noticeId: view.noticeId, sequence, content });
      done.set(view.noticeId, result);
      if (pending.length >= maxPerBatch) await flush();
      return result;
    },
    flush,
    async close() {
      await flush();
    },
  };
}

const MANIFEST_HEADER = [
  'batch_id',
  'sequence',
  'notice_id',
  'first_page',
  'pages',
  'sheets',
  'address_1',
  'address_2',
  'address_3',
  'address_4',
  'address_5',
  'address_6',
  'country',
  'currency',
  'total',
].join(',');

function manifestRow(batchId: string, l: Pending, firstPage: number, pages: number, sheets: number): string {
  const v = l.content.view;
  const address = (v.debtor.postalAddress ?? []).filter((x) => x.trim() !== '').slice(0, 6);
  while (address.length < 6) address.push('');
  return [
    batchId,
    String(l.sequence),
    v.noticeId,
    String(firstPage),
    String(pages),
    String(sheets),
    ...address,
    v.debtor.country ?? '',
    v.currency,
    formatMinor(v.totals.totalMinor, v.currency),
  ]
    .map(csv)
    .join(',');
}

function csv(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
