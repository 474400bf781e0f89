import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseConnectorOptions } from '../../src/sync/connector';

/** Placeholders each operation's request template may use (`{{name}}`). */
export const PLACEHOLDERS = {
  openItems: ['pageToken', 'pageSize', 'changedSince'],
  customers: ['customerIds'],
  payment: [
    'documentNumber',
    'sourceKey',
    'externalId',
    'paymentId',
    'amount',
    'currency',
    'valueDate',
    'cleared',
    'idempotencyKey',
  ],
  reversal: [
    'documentNumber',
    'sourceKey',
    'externalId',
    'paymentId',
    'amount',
    'currency',
    'reason',
    'idempotencyKey',
  ],
  dunningLevel: ['documentNumber', 'sourceKey', 'externalId', 'level', 'noticeId', 'dunnedOn', 'idempotencyKey'],
} as const;

export type OperationRole = keyof typeof PLACEHOLDERS;

/**
 * A request template: the operation's input element as YAML, with `{{placeholder}}` in string values. A value that is
 * exactly one placeholder with no value (no page token on the first page) leaves the element out. Element order does
 * not matter: the connector sends elements in the order of the WSDL's schema.
 * @example { PageSize: '{{pageSize}}', PageToken: '{{pageToken}}', ChangedSince: '{{changedSince}}' }
 */
export type RequestTemplate = { [element: string]: TemplateValue };
export type TemplateValue = string | number | boolean | RequestTemplate | TemplateValue[];

const templateValue: z.ZodType<TemplateValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.array(templateValue), z.record(z.string(), templateValue)]),
);
const requestTemplate = z.record(z.string(), templateValue);

/** A dotted path into a response or a record (`OpenItems.OpenItem`, `DuplicateReferenceFault.OriginalPostingId`). */
const path = z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, { error: 'expected a dotted path such as OpenItems.OpenItem' });

const operation = z.string().min(1);

const writeOperation = z.strictObject({
  /** Operation name in the WSDL. */
  operation,
  /** Request template (see {@link RequestTemplate}). */
  request: requestTemplate,
  /** Response path to the source's reference of what it posted (becomes `WriteBackResult.sourceReference`). */
  reference: path.optional(),
  /**
   * Response paths to the amount and currency the source echoes; when set they must equal what was sent (DESIGN §3,
   * an echo that differs is an integrity error).
   */
  echo: z.strictObject({ amount: path, currency: path }).optional(),
});

const secretText = z.string().min(1);

/**
 * Options of the generic SOAP connector (a source's `options` in a tenant config). Operations and field paths are
 * configuration: one connector serves any WSDL.
 *
 * @example
 * ```yaml
 * kind: soap
 * wsdl: connectors/soap/wsdl/telco-billing-v2.wsdl
 * endpoint: https://billing.example.net/services/v2/OpenItemService
 * auth:
 *   basic: { user: clearhub, password: ${env:TELCO_BILLING_PASSWORD} }
 * operations:
 *   openItems:
 *     operation: ListOpenItems
 *     request: { ChangedSince: '{{changedSince}}', PageToken: '{{pageToken}}', PageSize: '{{pageSize}}' }
 *     items: OpenItems.OpenItem
 *     nextPageToken: NextPageToken
 *     changedAt: ChangedAt
 * ```
 */
export const soapConnectorConfigSchema = z
  .strictObject({
    /** @defaultValue 'soap' */
    kind: z.literal('soap').default('soap'),
    /** The WSDL: a file path (relative to the installation directory) or an http(s) URL. */
    wsdl: z.string().min(1),
    /** Overrides the WSDL's `soap:address` (the WSDL of a vendor rarely names your host). */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    /** Service and port in the WSDL; needed only when the WSDL has several. */
    service: z.string().min(1).optional(),
    port: z.string().min(1).optional(),
    /** Send SOAP 1.2 headers (`application/soap+xml`). @defaultValue false */
    soap12: z.boolean().default(false),
    auth: z
      .strictObject({
        /** HTTP Basic authentication (also used to fetch a WSDL by URL). Write the password as `${env:NAME}`. */
        basic: z.strictObject({ user: z.string().min(1), password: secretText }).optional(),
        /** WS-Security UsernameToken in the SOAP header. */
        wsSecurity: z
          .strictObject({
            user: z.string().min(1),
            password: secretText,
            /** @defaultValue 'PasswordText' */
            passwordType: z.enum(['PasswordText', 'PasswordDigest']).default('PasswordText'),
          })
          .optional(),
      })
      .default({}),
    /** Per call, in ms (WSDL download, each page, each write). @defaultValue 30000 */
    timeoutMs: z.int().min(1).max(600_000).default(30_000),
    /** Retries of reads and the circuit breaker (see `src/sync/resilience.ts`); writes are never retried here. */
    resilience: z
      .strictObject({
        retries: z.int().min(0).max(10).optional(),
        backoffBaseMs: z.int().min(0).optional(),
        backoffMaxMs: z.int().min(0).optional(),
        breakerThreshold: z.int().min(1).optional(),
        breakerHalfOpenAfterMs: z.int().min(0).optional(),
      })
      .default({}),
    operations: z.strictObject({
      /** The operation that pages through open items. Required. */
      openItems: z.strictObject({
        operation,
        request: requestTemplate,
        /** Response path to the item list (one element or many). */
        items: path,
        /** Response path to the next page's token; absent or empty on the last page. */
        nextPageToken: path.optional(),
        /**
         * Item field with the item's last change (xsd:dateTime). Its maximum becomes the next pull's `changedSince`;
         * without it every pull is a full read.
         */
        changedAt: path.optional(),
        /** `{{pageSize}}`. @defaultValue 500 */
        pageSize: z.int().min(1).max(10_000).default(500),
      }),
      /** Fetches customers by number; joined onto the items. Optional. */
      customers: z
        .strictObject({
          operation,
          /** Use `{{customerIds}}` where the list of numbers goes, e.g. `{ CustomerNumber: '{{customerIds}}' }`. */
          request: requestTemplate,
          /** Response path to the customer list. */
          items: path,
          /** Customer field holding its number. */
          id: path,
          /** Item field holding the customer number. */
          joinOn: path,
          /** Prefix of the customer's fields in the item record. @defaultValue 'customer.' */
          prefix: z.string().default('customer.'),
          /** Customer numbers per call. @defaultValue 100 */
          batchSize: z.int().min(1).max(1000).default(100),
        })
        .optional(),
      payment: writeOperation.optional(),
      reversal: writeOperation.optional(),
      dunningLevel: writeOperation.optional(),
    }),
    faults: z
      .strictObject({
        /**
         * Fault codes meaning "this reference was already posted": the write-back reports `duplicate`. Compared with
         * the code without its prefix and with each dotted part (`soap:Client.DuplicateReference` matches
         * `DuplicateReference`).
         */
        duplicate: z.array(z.string().min(1)).default([]),
        /** Path in the fault's `<detail>` to the original posting's id (becomes the duplicate's sourceReference). */
        duplicateReference: path.optional(),
        /** Further fault codes that mean "try again later" (retried like a 5xx). `Server`/`Receiver` always are. */
        retryable: z.array(z.string().min(1)).default([]),
      })
      .default({ duplicate: [], retryable: [] }),
  })
  .superRefine((c, ctx) => {
    for (const [role, op] of Object.entries(c.operations) as [OperationRole, { request: RequestTemplate }][]) {
      if (!op) continue;
      const allowed: readonly string[] = PLACEHOLDERS[role];
      for (const { name, at } of placeholdersIn(op.request)) {
        if (!allowed.includes(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['operations', role, 'request', ...at],
            message: `unknown placeholder {{${name}}}; ${role} knows ${allowed.map((p) => `{{${p}}}`).join(', ')}`,
          });
        }
      }
    }
  });

export type SoapConnectorConfigInput = z.input<typeof soapConnectorConfigSchema>;
export type SoapConnectorConfig = z.output<typeof soapConnectorConfigSchema>;
export type WriteOperationConfig = z.output<typeof writeOperation>;

const PLACEHOLDER = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/** Every placeholder in a template, with where it is. */
export function placeholdersIn(
  t: TemplateValue,
  at: (string | number)[] = [],
): { name: string; at: (string | number)[] }[] {
  if (typeof t === 'string') return [...t.matchAll(PLACEHOLDER)].map((m) => ({ name: m[1]!, at }));
  if (Array.isArray(t)) return t.flatMap((v, i) => placeholdersIn(v, [...at, i]));
  if (typeof t === 'object' && t !== null) return Object.entries(t).flatMap(([k, v]) => placeholdersIn(v, [...at, k]));
  return [];
}

/**
 * Validates options from code (a tenant config already checked with file positions passes through unchanged) and
 * resolves a relative WSDL path against `baseDir`.
 *
 * @throws IntegrationError naming each bad option.
 */
export function parseSoapConnectorConfig(input: unknown, baseDir = process.cwd()): SoapConnectorConfig {
  const data = parseConnectorOptions('SOAP', soapConnectorConfigSchema, input);
  const wsdl = isUrl(data.wsdl) || isAbsolute(data.wsdl) ? data.wsdl : resolve(baseDir, data.wsdl);
  return { ...data, wsdl };
}

export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}
