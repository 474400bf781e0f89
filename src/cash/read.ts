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

/**
 * Reads a statement file of any supported format: camt.052/053/054 when it is XML, MT940/MT942 otherwise. Errors are
 * {@link IntegrationError}s naming the file (and for MT940 the line; for camt the statement and entry).
 */
export function readStatements(buf: Buffer, file: string): { format: StatementFormat; statements: Statement[] } {
  if (buf.length === 0) throw new IntegrationError(`${file}: the file is empty`, 'file');
  if (looksLikeXml(buf)) {
    const reader = createCamtReader({ file });
    reader.write(buf.toString('utf8'));
    return reader.end();
  }
  return { format: 'mt940', statements: parseMt940Buffer(buf, file) };
}
