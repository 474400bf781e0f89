/**
 * The two QR codes of a notice: the EPC069-12 GiroCode (the bank transfer pre-filled in a banking app; euro only) and
 * the pay link. The GiroCode is drawn by the bank-transfer room (`epcQrPng`), the pay link by `qrcode` directly.
 */
import * as QRCode from 'qrcode';
import { epcQrPng, epcQrSvg } from '../gateway/providers/bank-transfer/qr';
import { giroCodePayload } from '../gateway/providers/bank-transfer/transformers';
import { IMAGE_CIDS } from './present';
import type { NoticeViewModel } from './view-model';

/** The GiroCode payload of a notice, or undefined when it has no bank details or is not in euros. */
export function giroCodeOf(view: NoticeViewModel): string | undefined {
  const b = view.bankTransfer;
  if (!b || view.currency !== 'EUR') return undefined;
  return giroCodePayload({
    name: b.beneficiary,
    iban: b.iban,
    bic: b.bic,
    amountMinor: view.totals.totalMinor,
    currency: 'EUR',
    reference: b.reference,
  });
}

/** PNG of the GiroCode, `scale` pixels per module. */
export async function giroCodePng(view: NoticeViewModel, scale = 6): Promise<Buffer | undefined> {
  const payload = giroCodeOf(view);
  return payload === undefined ? undefined : epcQrPng(payload, { scale });
}

/** PNG of a pay link: error correction M, 4-module quiet zone. */
export async function payLinkPng(url: string, scale = 6): Promise<Buffer> {
  return QRCode.toBuffer(url, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale });
}

/**
 * A QR symbol as its dark modules: `size` modules square (quiet zone included), each run `[x, y, width]` in modules.
 * Letters draw it as vector rectangles, sharp at any resolution.
 */
export interface QrModules {
  size: number;
  runs: [number, number, number][];
}

/** The GiroCode's modules, or undefined when the notice has no bank details or is not in euros. */
export async function giroCodeModules(view: NoticeViewModel): Promise<QrModules | undefined> {
  const payload = giroCodeOf(view);
  return payload === undefined ? undefined : modulesOfSvg(await epcQrSvg(payload, { margin: 4 }));
}

/** A pay link's modules: error correction M, 4-module quiet zone. */
export async function payLinkModules(url: string): Promise<QrModules> {
  return modulesOfSvg(await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 }));
}

/**
 * Reads the modules from the SVG `qrcode` writes: a `viewBox="0 0 n n"` and one stroked path of horizontal runs
 * (`M4 4.5h7m4 0h2…`, each run at the module row's centre line).
 */
export function modulesOfSvg(svg: string): QrModules {
  const size = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)?.[1]);
  const d = /<path[^>]*stroke="[^"]*"[^>]*d="([^"]+)"/.exec(svg)?.[1];
  if (!size || d === undefined) throw new Error('unexpected QR code SVG');
  const runs: [number, number, number][] = [];
  let x = 0;
  let y = 0;
  for (const [, op, a, b] of d.matchAll(/([MmHh])\s*(-?[\d.]+)(?:[ ,]+(-?[\d.]+))?/g)) {
    const u = Number(a);
    const v = Number(b ?? 0);
    if (op === 'M') [x, y] = [u, v];
    else if (op === 'm') [x, y] = [x + u, y + v];
    else if (op === 'h') {
      runs.push([x, y - 0.5, u]);
      x += u;
    } else {
      runs.push([x, y - 0.5, u - x]);
      x = u;
    }
  }
  return { size, runs };
}

export interface InlineImage {
  cid: string;
  filename: string;
  content: Buffer;
}

/** The inline images an HTML notice refers to (`cid:` sources of `NoticeContext.images`). */
export async function noticeImages(view: NoticeViewModel): Promise<InlineImage[]> {
  const out: InlineImage[] = [];
  if (view.payLink) {
    out.push({ cid: IMAGE_CIDS.payLink, filename: 'pay-link.png', content: await payLinkPng(view.payLink, 4) });
  }
  const giro = await giroCodePng(view, 4);
  if (giro) out.push({ cid: IMAGE_CIDS.giroCode, filename: 'girocode.png', content: giro });
  return out;
}
