import { IntegrationError } from '../domain/errors';
import { createCamtReader } from './camt';
import { parseMt940Buffer } from './mt940';
import type { Statement, StatementFormat } from './statement';

/** Whether bytes are a camt XML document (with or without a BOM or XML declaration). */
export function looksLikeXml(buf: Buffer): boolean {
  const head = buf
    .subarray(0, 256)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  return head.startsWith('<');
}

// The encoding an XML declaration names; the declaration itself is ASCII whatever the encoding (after a UTF-8 BOM).
const XML_ENCODING_RE = /^(?:\xEF\xBB\xBF)?\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/;

/**
 * The text of an XML document in the encoding its declaration names (`ISO-8859-1` from some banks), UTF-8 when it names
 * none: read as UTF-8, the umlauts of an ISO-8859-1 file would turn into replacement characters.
 */
export function xmlText(buf: Buffer, file: string): string {
  const encoding = XML_ENCODING_RE.exec(buf.subarray(0, 256).toString('latin1'))?.[1]?.toLowerCase();
  if (!encoding || encoding === 'utf-8' || encoding === 'utf8') return buf.toString('utf8');
  try {
    return new TextDecoder(encoding).decode(buf);
  } catch {
    // (only the constructor throws: a label it does not know)
    throw new IntegrationError(
      `${file}: the XML declaration names encoding "${encoding}", which cannot be read`,
      'file',
    );
  }
}

/**
 * Reads a statement file of any supported format: camt.052/053/054 when it is XML, MT940/MT942 otherwise. Errors are
 * {@link IntegrationError}s naming the file (and for MT940 the line; for camt the statement and entry).
 */
export function readStatements(buf: Buffer, file: string): { format: StatementFormat; statements: Statement[] } {
  if (buf.length === 0) throw new IntegrationError(`${file}: the file is empty`, 'file');
  if (looksLikeXml(buf)) {
    const reader = createCamtReader({ file });
    reader.write(xmlText(buf, file));
    return reader.end();
  }
  return { format: 'mt940', statements: parseMt940Buffer(buf, file) };
}
