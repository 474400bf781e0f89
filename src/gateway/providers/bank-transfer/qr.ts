/**
 * Renders an EPC069-12 payload ({@link giroCodePayload}) as the QR code a banking app scans: error correction level M,
 * the payload as one byte-mode segment in the character set its third line declares (1 = UTF-8, 2 = ISO 8859-1), at
 * most 331 bytes and QR version 13, with the 4-module quiet zone the QR standard asks for.
 */
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
  const { version } = QRCode.create(segmentsOf(payload), { errorCorrectionLevel: 'M' });
  if (version > MAX_VERSION) {
    throw new IntegrationError(`needs QR version ${version}; EPC069-12 allows at most ${MAX_VERSION}`, 'payload');
  }
  return version;
}

/** A PNG image of the EPC QR code. */
export async function epcQrPng(payload: string, options: EpcQrRenderOptions = {}): Promise<Buffer> {
  epcQrVersion(payload);
  return QRCode.toBuffer(segmentsOf(payload), {
    type: 'png',
    errorCorrectionLevel: 'M',
    margin: options.margin ?? 4,
    scale: options.scale ?? 8,
  });
}

/** An SVG document of the EPC QR code (one `<path>` of dark modules on a white background). */
export async function epcQrSvg(payload: string, options: EpcQrRenderOptions = {}): Promise<string> {
  epcQrVersion(payload);
  return QRCode.toString(segmentsOf(payload), {
    type: 'svg',
    errorCorrectionLevel: 'M',
    margin: options.margin ?? 4,
    ...(options.scale ? { width: options.scale } : {}),
  });
}
