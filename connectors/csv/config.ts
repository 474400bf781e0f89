import { resolve } from 'node:path';
import { z } from 'zod';
import { parseConnectorOptions } from '../../src/sync/connector';

/**
 * Options of the CSV connector (a source's `options` in a tenant config).
 *
 * @example
 * ```yaml
 * kind: csv
 * inbound: data/billing/in      # files to import
 * outbound: data/billing/out    # confirmation files we write (one per write-back)
 * delimiter: ";"
 * encoding: latin1
 * pattern: "export-*.csv"
 * ```
 */
export const csvConnectorConfigSchema = z
  .strictObject({
    /** @defaultValue 'csv' */
    kind: z.literal('csv').default('csv'),
    /** Directory the source drops its files into; read, never changed. */
    inbound: z.string().min(1),
    /** Directory we write confirmation files into; must differ from `inbound`. */
    outbound: z.string().min(1),
    /** Field delimiter, one character (`,` `;` tab `|`). @defaultValue ',' */
    delimiter: z.string().length(1).default(','),
    /** Text encoding of inbound and outbound files. @defaultValue 'utf8' */
    encoding: z.enum(['utf8', 'latin1']).default('utf8'),
    /**
     * Which files in `inbound` are read: a suffix such as `.csv`, or a glob on the file name with `*` and `?` such as
     * `export-*.csv`. Case-insensitive. @defaultValue '.csv'
     */
    pattern: z.string().min(1).default('.csv'),
    /** Records per batch (one store transaction each). @defaultValue 5000 */
    batchSize: z.int().min(1).max(100_000).default(5000),
  })
  .refine((c) => resolve(c.inbound) !== resolve(c.outbound), {
    path: ['outbound'],
    message: 'must differ from inbound (we would read our own confirmation files)',
  });

export type CsvConnectorConfigInput = z.input<typeof csvConnectorConfigSchema>;
export type CsvConnectorConfig = z.output<typeof csvConnectorConfigSchema>;

/**
 * Validates options from code (a tenant config already checked with file positions passes through unchanged) and
 * resolves relative directories against `baseDir`.
 *
 * @throws IntegrationError naming each bad option.
 */
export function parseCsvConnectorConfig(input: unknown, baseDir = process.cwd()): CsvConnectorConfig {
  const data = parseConnectorOptions('CSV', csvConnectorConfigSchema, input);
  return { ...data, inbound: resolve(baseDir, data.inbound), outbound: resolve(baseDir, data.outbound) };
}
