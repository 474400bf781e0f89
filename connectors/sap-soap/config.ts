import { resolve } from 'node:path';
import { z } from 'zod';
import { IntegrationError } from '../../src/domain/errors';
import { parseConnectorOptions } from '../../src/sync/connector';

const token = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^\S(?:.*\S)?$/, { error: 'no leading or trailing white space' });

/** Basic authentication with a communication user (S/4HANA Cloud: communication arrangement SAP_COM_0002). */
const basicAuthSchema = z.strictObject({
  type: z.literal('basic'),
  /** The communication (or technical) user. */
  user: z.string().min(1),
  /** Write it as `${env:SAP_SOAP_PASSWORD}`: the tenant loader rejects a literal password. */
  password: z.string().min(1),
});

/** X.509 client certificate (PEM files); relative paths resolve against the installation directory. */
const certificateAuthSchema = z.strictObject({
  type: z.literal('certificate'),
  /** PEM certificate (chain) presented to SAP. */
  cert: z.string().min(1),
  /** PEM private key of `cert`. */
  key: z.string().min(1),
  /** Passphrase of `key`, as `${env:…}`. */
  password: z.string().optional(),
  /** Extra CA certificates (PEM) to trust for SAP's server certificate. */
  ca: z.string().optional(),
  /** The SAP user the certificate maps to; only used in messages and as `CreatedByUser` default. */
  user: z.string().min(1).optional(),
});

/**
 * Options of the sap-soap connector: payment and reversal postings to SAP S/4HANA through
 * `JournalEntryCreateRequestConfirmation_In` (a source's `options` in a tenant config).
 *
 * @example
 * ```yaml
 * kind: sap-soap
 * endpoint: https://my-s4.example.com/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi
 * sapClient: "100"
 * auth: { type: basic, user: CLEARHUB_COMM, password: "${env:SAP_SOAP_PASSWORD}" }
 * companyCode: "1010"
 * clearingAccount: "11002000"   # bank clearing G/L account the payments are debited to
 * timeZone: Europe/Berlin
 * ```
 */
export const sapSoapConnectorConfigSchema = z.strictObject({
  /** @defaultValue 'sap-soap' */
  kind: z.literal('sap-soap').default('sap-soap'),
  /** The service endpoint (SOAMANAGER binding URL or the communication arrangement's inbound URL). */
  endpoint: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL of the SOAP endpoint' }),
  /** SAP client (`sap-client=NNN` query parameter), on premise. */
  sapClient: z
    .string()
    .regex(/^\d{3}$/, { error: 'expected three digits such as "100"' })
    .optional(),
  /**
   * The WSDL the connector is built from. @defaultValue Clearhub's reduced WSDL
   * (`connectors/sap-soap/wsdl/journal-entry-create.wsdl`)
   */
  wsdl: z.string().min(1).optional(),
  auth: z.discriminatedUnion('type', [basicAuthSchema, certificateAuthSchema]),
  /**
   * Company code used when an item's `sourceKey` does not start with one (SAP items are keyed
   * `companyCode|fiscalYear|document|item`, and then the item's own company code wins).
   */
  companyCode: token(4).optional(),
  /** G/L account (bank clearing / incoming payments) debited by a payment and credited by its reversal. */
  clearingAccount: token(10),
  /** Accounting document type of payment postings. @defaultValue 'DZ' */
  documentType: token(5).default('DZ'),
  /** Accounting document type of reversal postings. @defaultValue 'DZ' */
  reversalDocumentType: token(5).default('DZ'),
  /** `CreatedByUser` (max. 12 characters). @defaultValue the auth user */
  createdByUser: z.string().max(12).optional(),
  /**
   * Prefix of the `DocumentReferenceID` (XBLNR, 16 characters) we derive from the idempotency key; the rest is a
   * hash of the key. Upper-case letters and digits, at most 4. @defaultValue 'CH'
   */
  referencePrefix: z
    .string()
    .regex(/^[A-Z0-9]{0,4}$/, { error: 'expected up to 4 upper-case letters or digits' })
    .default('CH'),
  /** Time zone whose calendar date is the posting date of reversals (payments post on their value date). */
  timeZone: z
    .string()
    .refine(
      (tz) => {
        try {
          new Intl.DateTimeFormat('en-CA', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      },
      { error: 'expected an IANA time zone such as Europe/Berlin' },
    )
    .default('UTC'),
  /**
   * SAP messages (as `CLASS NUMBER`, e.g. `F5 117`) that mean "this reference was already posted"; an error Log with
   * one of them makes the write-back `duplicate`. Added to the built-in list in `errors.ts`.
   */
  duplicateMessages: z.array(z.string().regex(/^\S+ \d{3}$/)).default([]),
  /** SAP messages (`CLASS NUMBER`) that are transient (locks): retried. Added to the built-in list. */
  transientMessages: z.array(z.string().regex(/^\S+ \d{3}$/)).default([]),
  /**
   * Before posting, ask a lookup (wired in code by the registry, normally the sap-odata connector) whether a
   * document with our `DocumentReferenceID` exists; if so report `duplicate` without posting.
   * @defaultValue false
   */
  precheckReference: z.boolean().default(false),
  /** Per-call timeout and circuit breaker (see `src/sync/resilience.ts`). */
  resilience: z
    .strictObject({
      timeoutMs: z.int().min(1).optional(),
      breakerThreshold: z.int().min(1).optional(),
      breakerHalfOpenAfterMs: z.int().min(1).optional(),
    })
    .default({}),
});

export type SapSoapConnectorConfigInput = z.input<typeof sapSoapConnectorConfigSchema>;
export type SapSoapConnectorConfig = z.output<typeof sapSoapConnectorConfigSchema>;

/**
 * Validates options and resolves relative file paths (WSDL, certificate, key, CA) against `baseDir`.
 * @throws IntegrationError naming each bad option.
 */
export function parseSapSoapConnectorConfig(input: unknown, baseDir = process.cwd()): SapSoapConnectorConfig {
  const data = parseConnectorOptions('sap-soap', sapSoapConnectorConfigSchema, input);
  const c = data;
  const auth =
    c.auth.type === 'certificate'
      ? {
          ...c.auth,
          cert: resolve(baseDir, c.auth.cert),
          key: resolve(baseDir, c.auth.key),
          ...(c.auth.ca ? { ca: resolve(baseDir, c.auth.ca) } : {}),
        }
      : c.auth;
  const user = c.createdByUser ?? (auth.type === 'basic' ? auth.user : auth.user);
  if (!user || user.length > 12) {
    throw new IntegrationError(
      user
        ? `the auth user "${user}" is longer than SAP's CreatedByUser (12 characters); set createdByUser`
        : 'set createdByUser (or auth.user): SAP requires CreatedByUser on every journal entry',
      'options.createdByUser',
    );
  }
  return { ...c, auth, createdByUser: user, ...(c.wsdl ? { wsdl: resolve(baseDir, c.wsdl) } : {}) };
}
