import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { readTextFile } from '../config/read-file';
import { IntegrationError } from '../domain/errors';
import type { CompiledMapping, MappingResult } from './compile';

export interface SampleRecord {
  /** 1-based: the physical line for CSV (the header is line 1), the array position for JSON. */
  position: number;
  record: Record<string, string>;
}

/**
 * Reads a sample of source records for `clearhub mapping test`: a CSV file with a header row, or JSON as an array of
 * records, an OData V2 page (`{"d":{"results":[…]}}`), or `{"results":[…]}` / `{"items":[…]}`. Nested objects are
 * flattened with dotted names; every value becomes a string, the way connectors hand records to a mapping.
 */
export function readSample(file: string): SampleRecord[] {
  const text = readTextFile(file);
  if (extname(file).toLowerCase() === '.csv') {
    const rows = parse(text, {
      columns: true,
      bom: true,
      skip_empty_lines: true,
      info: true,
      relax_column_count: true,
    }) as {
      record: Record<string, string>;
      info: { lines: number };
    }[];
    return rows.map((r) => ({ position: r.info.lines, record: r.record }));
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new IntegrationError(`${file} is neither CSV nor valid JSON: ${(err as Error).message}`, 'file');
  }
  const list = pickArray(data);
  if (!list)
    throw new IntegrationError(
      `${file}: expected an array of records, {"d":{"results":[…]}} or {"results":[…]}`,
      'file',
    );
  return list.map((r, i) => ({ position: i + 1, record: flatten(r) }));
}

function pickArray(data: unknown): unknown[] | undefined {
  if (Array.isArray(data)) return data;
  if (data && typeof data === 'object') {
    const o = data as Record<string, unknown>;
    if (o.d && typeof o.d === 'object') return pickArray((o.d as Record<string, unknown>).results ?? o.d);
    for (const k of ['results', 'items', 'records', 'value']) if (Array.isArray(o[k])) return o[k] as unknown[];
  }
  return undefined;
}

function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value === null || value === undefined) {
    if (prefix) out[prefix] = '';
    return out;
  }
  if (typeof value !== 'object') {
    out[prefix] = String(value);
    return out;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === '__metadata' || k === '__deferred') continue;
    flatten(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

export interface SampleOutcome {
  position: number;
  result: MappingResult;
}

export function testMapping(mapping: CompiledMapping, samples: readonly SampleRecord[]): SampleOutcome[] {
  return samples.map((s) => ({ position: s.position, result: mapping(s.record, { line: s.position }) }));
}
