/**
 * The two QR codes of a notice: the EPC069-12 GiroCode (the bank transfer pre-filled in a banking app; euro only) and
 * the pay link. Both are drawn by the bank-transfer room's QR helpers (one symbol per payload, as PNG or as modules).
 */
import {
  epcQrModules,
  epcQrPng,
  type QrModules,
  qrModules,
  qrPng,
  qrSymbol,
} from '../gateway/providers/bank-transfer/qr';
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
  return qrPng(payLinkSymbol(url), { margin: 4, scale });
}

export type { QrModules };

/** The GiroCode's modules, or undefined when the notice has no bank details or is not in euros. */
export async function giroCodeModules(view: NoticeViewModel): Promise<QrModules | undefined> {
  const payload = giroCodeOf(view);
  return payload === undefined ? undefined : epcQrModules(payload, 4);
}

/** A pay link's modules: error correction M, 4-module quiet zone. */
export async function payLinkModules(url: string): Promise<QrModules> {
  return qrModules(payLinkSymbol(url), 4);
}

const payLinkSymbol = (url: string) => qrSymbol(`url\n${url}`, () => urlSegments(url));

/**
 * A URL as one byte-mode segment. Given the text, qrcode searches the cheapest mix of modes (a shortest path over every
 * character), which for a URL's lower-case letters ends in byte mode anyway.
 */
const urlSegments = (url: string) => [{ mode: 'byte' as const, data: Buffer.from(url, 'utf8') }];

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
