import { z } from 'zod';
import { parseConnectorOptions } from '../../src/sync/connector';
import { resilienceOptionsSchema } from '../../src/sync/resilience';

/** Service roots of the two A2X services we use, relative to `baseUrl`. */
export const DEFAULT_SERVICES = {
  items: '/sap/opu/odata/sap/API_OPLACCTGDOCITEMCUBE_SRV',
  partners: '/sap/opu/odata/sap/API_BUSINESS_PARTNER',
} as const;

const basicAuth = z.strictObject({
  type: z.literal('basic'),
  /** Communication user (S/4HANA Cloud) or technical user (on-premise). */
  user: z.string().min(1),
  /** Write it as `${env:SAP_PASSWORD}`. */
  password: z.string().min(1),
});

const oauth2Auth = z.strictObject({
  type: z.literal('oauth2'),
  /** Token endpoint of the client-credentials grant, e.g. `https://<host>/sap/bc/sec/oauth2/token`. */
  tokenUrl: z.url(),
  clientId: z.string().min(1),
  /** Write it as `${env:SAP_CLIENT_SECRET}`. */
  clientSecret: z.string().min(1),
  /** Space-separated scopes, when the token endpoint wants them. */
  scope: z.string().min(1).optional(),
});

/**
 * Options of the sap-odata connector (a source's `options` in a tenant config).
 *
 * @example
 * ```yaml
 * kind: sap-odata
 * baseUrl: https://my-s4.example.com:44300
 * sapClient: "100"
 * companyCodes: ["1010", "1710"]
 * auth: { type: basic, user: CLEARHUB_COMM, password: "${env:SAP_PASSWORD}" }
 * # or: auth: { type: oauth2, tokenUrl: https://…/sap/bc/sec/oauth2/token, clientId: CLEARHUB, clientSecret: "${env:SAP_SECRET}" }
 * pageSize: 1000
 * dunningArea: ""
 * ```
 */
export const sapOdataConnectorConfigSchema = z.strictObject({
  /** @defaultValue 'sap-odata' */
  kind: z.literal('sap-odata').default('sap-odata'),
  /** Scheme, host and port of the SAP Gateway (no path). */
  baseUrl: z.url(),
  /** Service roots; change only for a custom or proxied path. @defaultValue {@link DEFAULT_SERVICES} */
  services: z
    .strictObject({
      items: z.string().startsWith('/').default(DEFAULT_SERVICES.items),
      partners: z.string().startsWith('/').default(DEFAULT_SERVICES.partners),
    })
    .default({ ...DEFAULT_SERVICES }),
  /** `sap-client` query parameter (on-premise client, three digits). Left out when not given. */
  sapClient: z
    .string()
    .regex(/^\d{3}$/, { error: 'expected a three-digit SAP client such as "100"' })
    .optional(),
  /** Company codes whose customer open items are read (four characters each). */
  companyCodes: z.array(z.string().regex(/^[A-Z0-9]{1,4}$/, { error: 'expected a company code such as 1010' })).min(1),
  auth: z.discriminatedUnion('type', [basicAuth, oauth2Auth]),
  /** Rows asked for per request (`$top`); the server may send fewer and a `__next` link. @defaultValue 1000 */
  pageSize: z.int().min(1).max(5000).default(1000),
  /** Customers looked up per API_BUSINESS_PARTNER request. @defaultValue 50 */
  customerBatchSize: z.int().min(1).max(200).default(50),
  /** Parallel customer lookups per page. @defaultValue 4 */
  customerConcurrency: z.int().min(1).max(16).default(4),
  /** Dunning area of `A_CustomerDunning` written by dunning_level commands (blank = no dunning areas). @defaultValue '' */
  dunningArea: z.string().max(2).default(''),
  /** Timeout, retries and breaker of the HTTP calls (see `src/sync/resilience.ts`). */
  resilience: resilienceOptionsSchema,
});

export type SapOdataConnectorConfigInput = z.input<typeof sapOdataConnectorConfigSchema>;
export type SapOdataConnectorConfig = z.output<typeof sapOdataConnectorConfigSchema>;

/**
 * Validates options from code (a tenant config already checked with file positions passes through unchanged).
 * @throws IntegrationError naming each bad option.
 */
export function parseSapOdataConnectorConfig(input: unknown): SapOdataConnectorConfig {
  const data = parseConnectorOptions('sap-odata', sapOdataConnectorConfigSchema, input);
  return { ...data, baseUrl: data.baseUrl.replace(/\/+$/, '') };
}
