/**
 * Renders an EPC069-12 payload ({@link giroCodePayload}) as the QR code a banking app scans: error correction level M,
 * the payload as one byte-mode segment in the character set its third line declares (1 = UTF-8, 2 = ISO 8859-1), at
 * most 331 bytes and QR version 13, with the 4-module quiet zone the QR standard asks for.
 */
import { PNG } from 'pngjs';
import * as QRCode from 'qrcode';
import { IntegrationError } from '../../../domain/errors';

/** EPC069-12: the payload may not exceed 331 bytes, the symbol version 13. */
const MAX_BYTES = 331;
const MAX_VERSION = 13;

export interface EpcQrRenderOptions {
  /** Pixels per module (PNG) or the SVG's width in pixels over the whole symbol. @defaultValue 8 (PNG) */
  scale?: number;
  /** Quiet zone in modules. @defaultValue 4 */
  margin?: number;
}

function segmentsOf(payload: string): QRCode.QRCodeSegment[] {
  const lines = payload.split('\n');
  if (lines[0] !== 'BCD' || lines.length < 7)
    throw new IntegrationError('is not an EPC069-12 payload (BCD …)', 'payload');
  let bytes: Buffer;
  switch (lines[2]) {
    case '1':
      bytes = Buffer.from(payload, 'utf8');
      break;
    case '2':
      if ([...payload].some((ch) => ch.charCodeAt(0) > 0xff)) {
        throw new IntegrationError('declares ISO 8859-1 but has characters outside it', 'payload');
      }
      bytes = Buffer.from(payload, 'latin1');
      break;
    default:
      throw new IntegrationError(`character set ${lines[2]} is not supported (1 = UTF-8, 2 = ISO 8859-1)`, 'payload');
  }
  if (bytes.length > MAX_BYTES) {
    throw new IntegrationError(`is ${bytes.length} bytes; EPC069-12 allows at most ${MAX_BYTES}`, 'payload');
  }
  return [{ mode: 'byte', data: bytes }];
}

/** The QR symbol's version (size) for a payload; throws when it would exceed version 13. */
export function epcQrVersion(payload: string): number {
  return epcQrSymbol(payload).version;
}

/** The EPC QR symbol of a payload (made once for a recent payload); throws when it would exceed version 13. */
export function epcQrSymbol(payload: string): QRCode.QRCode {
  const symbol = qrSymbol(`epc\n${payload}`, () => segmentsOf(payload));
  if (symbol.version > MAX_VERSION) {
    throw new IntegrationError(
      `needs QR version ${symbol.version}; EPC069-12 allows at most ${MAX_VERSION}`,
      'payload',
    );
  }
  return symbol;
}

/** A PNG image of the EPC QR code. */
export async function epcQrPng(payload: string, options: EpcQrRenderOptions = {}): Promise<Buffer> {
  return qrPng(epcQrSymbol(payload), { margin: options.margin ?? 4, scale: options.scale ?? 8 });
}

/**
 * A QR symbol as its dark modules: `size` modules square (quiet zone included), each run `[x, y, width]` in modules.
 * Letters draw it as vector rectangles, sharp at any resolution.
 */
export interface QrModules {
  size: number;
  runs: [number, number, number][];
}

/** The EPC QR code's dark modules with a quiet zone of `margin` modules. */
export function epcQrModules(payload: string, margin = 4): QrModules {
  return qrModules(epcQrSymbol(payload), margin);
}

// ---- any QR code (error correction M) -------------------------------------------------------------------------------

/**
 * Recent symbols by payload. Making a symbol is mostly choosing its mask (qrcode scores all eight); a notice draws the
 * same two codes into its e-mail and its letter, so the second drawing reuses the first one's choice.
 */
const symbols = new Map<string, QRCode.QRCode>();
const SYMBOLS_KEPT = 64;

/** The symbol of `key`'s data (error correction M), made by `input` the first time. */
export function qrSymbol(key: string, input: () => string | QRCode.QRCodeSegment[]): QRCode.QRCode {
  let symbol = symbols.get(key);
  if (symbol) {
    symbols.delete(key); // most recent last
  } else {
    symbol = QRCode.create(input(), { errorCorrectionLevel: 'M' });
    if (symbols.size >= SYMBOLS_KEPT) symbols.delete(symbols.keys().next().value!);
  }
  symbols.set(key, symbol);
  return symbol;
}

/**
 * A PNG of a symbol made by {@link qrSymbol}: 8-bit grayscale, `scale` pixels per module, a quiet zone of `margin`
 * modules. Drawn from the symbol's modules (qrcode's own PNG renderer makes an RGBA image of the same pixels and
 * filters four bytes a pixel: three quarters of the work and of the raw image for nothing in a black-and-white code).
 * Rows use the Up filter: each module row repeats `scale` times, so all but its first pixel row filter to zeros.
 */
export function qrPng(symbol: QRCode.QRCode, o: { margin: number; scale: number }): Buffer {
  const { size, data } = symbol.modules;
  const width = (size + 2 * o.margin) * o.scale;
  const pixels = Buffer.alloc(width * width, 0xff);
  const row = Buffer.alloc(width);
  for (let y = 0; y < size; y++) {
    row.fill(0xff);
    for (let x = 0; x < size; x++) {
      if (data[y * size + x]) row.fill(0, (x + o.margin) * o.scale, (x + o.margin + 1) * o.scale);
    }
    const top = (y + o.margin) * o.scale;
    for (let k = 0; k < o.scale; k++) row.copy(pixels, (top + k) * width);
  }
  const png = new PNG({ width, height: width, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  png.data = pixels;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8, filterType: 2 });
}

/** A symbol's dark modules as runs per row, shifted by a quiet zone of `margin` modules. */
export function qrModules(symbol: QRCode.QRCode, margin: number): QrModules {
  const { size, data } = symbol.modules;
  const runs: [number, number, number][] = [];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; ) {
      if (!data[y * size + x]) {
        x++;
        continue;
      }
      const from = x;
      while (x < size && data[y * size + x]) x++;
      runs.push([from + margin, y + margin, x - from]);
    }
  }
  return { size: size + 2 * margin, runs };
}

/** An SVG document of the EPC QR code (one `<path>` of dark modules on a white background). */
export async function epcQrSvg(payload: string, options: EpcQrRenderOptions = {}): Promise<string> {
  const symbol = epcQrSymbol(payload);
  return QRCode.toString(segmentsOf(payload), {
    type: 'svg',
    errorCorrectionLevel: 'M',
    version: symbol.version,
    maskPattern: symbol.maskPattern,
    margin: options.margin ?? 4,
    ...(options.scale ? { width: options.scale } : {}),
  });
}
