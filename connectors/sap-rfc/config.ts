import { z } from 'zod';
import { UNSET_SECRET as UNSET } from '../../src/config/secrets';
import { IntegrationError } from '../../src/domain/errors';
import { parseConnectorOptions } from '../../src/sync/connector';
import { resilienceOptionsSchema } from '../../src/sync/resilience';

const dats = z
  .string()
  .regex(/^\d{4}-?\d{2}-?\d{2}$/, { error: 'expected a date YYYYMMDD or YYYY-MM-DD' })
  .transform((s) => s.replace(/-/g, ''))
  .refine(
    (s) => {
      const d = new Date(Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8)));
      return d.getUTCFullYear() === +s.slice(0, 4) && d.getUTCMonth() === +s.slice(4, 6) - 1;
    },
    { error: 'not a calendar date' },
  );
const alnum = (max: number, what: string) =>
  z
    .string()
    .trim()
    .toUpperCase()
    .regex(new RegExp(`^[A-Z0-9]{1,${max}}$`), { error: `expected a ${what} of 1 to ${max} letters or digits` });

/**
 * node-rfc connection parameters. Either `dest` (a destination in `sapnwrfc.ini`, found through `RFC_INI` or the
 * working directory), or an application server (`ashost` + `sysnr`), or a message server (`mshost` + `group` /
 * `r3name`). `passwd` must be written as `${env:NAME}` in a tenant file.
 */
const connectionSchema = z
  .strictObject({
    dest: z.string().min(1).optional(),
    ashost: z.string().min(1).optional(),
    sysnr: z
      .string()
      .regex(/^\d{2}$/, { error: 'expected a two-digit system number such as 00' })
      .optional(),
    mshost: z.string().min(1).optional(),
    msserv: z.string().min(1).optional(),
    group: z.string().min(1).optional(),
    r3name: z.string().min(1).optional(),
    saprouter: z.string().min(1).optional(),
    client: z
      .string()
      .regex(/^\d{3}$/, { error: 'expected a three-digit client such as 100' })
      .optional(),
    lang: z.string().min(1).max(2).optional(),
    user: z.string().min(1).optional(),
    /** Write it as `${env:SAP_RFC_PASSWORD}`. */
    passwd: z.string().optional(),
    /** Further node-rfc / NW RFC SDK parameters (`snc_mode`, `snc_partnername`, `trace` …), passed as they are. */
    extra: z.record(z.string(), z.string()).default({}),
  })
  .refine((c) => c.dest !== undefined || (c.ashost && c.sysnr) || (c.mshost && (c.group || c.r3name)), {
    error: 'give dest, or ashost with sysnr, or mshost with group',
  });

const common = {
  /** @defaultValue 'sap-rfc' */
  kind: z.literal('sap-rfc').default('sap-rfc'),
  connection: connectionSchema,
  /** Most open RFC connections (node-rfc `Pool` high mark). @defaultValue 4 */
  poolSize: z.int().min(1).max(64).default(4),
  /** node-rfc client timeout per call, in seconds. @defaultValue 60 */
  timeoutSeconds: z.int().min(1).max(3600).default(60),
  /** Key date of the open-item selection, YYYYMMDD. @defaultValue today (local time of the Clearhub process) */
  keyDate: dats.optional(),
  /** Records per batch (one store transaction each). @defaultValue 5000 */
  batchSize: z.int().min(1).max(100_000).default(5000),
  /** Resilience of reads (see src/sync/resilience.ts). Writes are retried by the outbox, not here. */
  resilience: resilienceOptionsSchema,
};

const fiArSchema = z.strictObject({
  ...common,
  variant: z.literal('fi-ar'),
  /** Company codes (BUKRS) to read. */
  companyCodes: z.array(alnum(4, 'company code')).min(1),
  /**
   * Customer numbers (KUNNR) to read in every company code. Numeric ones are zero-padded to 10 digits (SAP's ALPHA
   * conversion); `1001` and `0000001001` are the same customer.
   */
  customers: z.array(alnum(10, 'customer number')).min(1),
  /** The payment posting (`BAPI_ACC_DOCUMENT_POST`). */
  posting: z.strictObject({
    /** G/L account of the bank clearing line (the debit side of the payment), e.g. 113109. */
    bankClearingAccount: alnum(10, 'G/L account'),
    /** Document type. @defaultValue 'DZ' (customer payment) */
    docType: alnum(2, 'document type').default('DZ'),
    /** `USERNAME` in the document header. @defaultValue '' (SAP uses the RFC user) */
    username: z.string().max(12).default(''),
    /** How many days before the payment's value date the duplicate check looks for cleared postings. @defaultValue 0 */
    lookbackDays: z.int().min(0).max(366).default(0),
  }),
});

const fiCaSchema = z.strictObject({
  ...common,
  variant: z.literal('fi-ca'),
  /** Contract accounts (VKONT) to read; numeric ones are zero-padded to 12 digits. */
  contractAccounts: z.array(alnum(12, 'contract account')).min(1),
});

/**
 * Options of the sap-rfc connector (a source's `options` in a tenant config).
 *
 * @example
 * ```yaml
 * variant: fi-ar
 * connection: { ashost: sap.example.internal, sysnr: "00", client: "100", user: CLEARHUB, passwd: "${env:SAP_RFC_PASSWORD}" }
 * poolSize: 4
 * companyCodes: ["1010"]
 * customers: ["10100001", "10100002"]
 * posting: { bankClearingAccount: "113109" }
 * ```
 */
export const sapRfcConnectorConfigSchema = z.discriminatedUnion('variant', [fiArSchema, fiCaSchema]);

export type SapRfcConnectorConfigInput = z.input<typeof sapRfcConnectorConfigSchema>;
export type SapRfcConnectorConfig = z.output<typeof sapRfcConnectorConfigSchema>;
export type SapRfcFiArConfig = z.output<typeof fiArSchema>;
export type SapRfcFiCaConfig = z.output<typeof fiCaSchema>;

/**
 * Validates options from code (a tenant config already checked passes through unchanged).
 * @throws IntegrationError naming each bad option, or an unset password variable.
 */
export function parseSapRfcConnectorConfig(input: unknown): SapRfcConnectorConfig {
  const data = parseConnectorOptions('sap-rfc', sapRfcConnectorConfigSchema, input);
  const pw = data.connection.passwd;
  if (pw?.startsWith(UNSET)) {
    throw new IntegrationError(
      `environment variable ${pw.slice(UNSET.length)} is not set (referenced by connection.passwd)`,
      'options.connection.passwd',
    );
  }
  return data;
}

/** node-rfc connection parameters from the validated options (what `Pool` gets as `connectionParameters`). */
export function connectionParameters(c: SapRfcConnectorConfig['connection']): Record<string, string> {
  const { extra, ...known } = c;
  const out: Record<string, string> = { ...extra };
  for (const [k, v] of Object.entries(known)) if (typeof v === 'string') out[k] = v;
  return out;
}
