import { type Kysely, sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { IntegrationError } from '../domain/errors';
import { formatMinor, isKnownCurrency, parseAmountInput } from '../domain/money';
import type { AllocationLine } from '../gateway/settlement';
import type { Store } from '../store/db';
import type { Database } from '../store/schema';
import { itemLevelSql } from '../store/schema-dunning';
import { scrubText } from './logger';
import { fieldProblems, problems } from './problems';
import { cashRoutes } from './routes-cash';
import { channelRoutes } from './routes-channels';
import { dunningRoutes } from './routes-dunning';
import { gatewayRoutes } from './routes-gateway';
import {
  type Amount,
  DebtorParams,
  Debtor as DebtorSchema,
  Health,
  IdempotencyKey,
  ItemPage,
  ItemsQuery,
  OutboxPage,
  OutboxQuery,
  PaymentRequest,
  PaymentResponse,
  PushItemsRequest,
  PushItemsResponse,
  Readiness,
} from './schemas';
import type { ApiServices } from './services';

/** What a handler gets: validated input, and the tenant when the route requires an API key. */
export interface RouteContext<B, Q, P> {
  /** The authenticated tenant; empty on routes without `auth`. */
  tenantId: string;
  body: B;
  query: Q;
  params: P;
  headers: Record<string, string>;
  /** Every request header, lower-cased (webhook signatures are checked over headers the route does not declare). */
  requestHeaders: Record<string, string>;
}

export interface Reply {
  status: number;
  /** Sent as JSON (or as `application/problem+json` when the status is an error). */
  json?: unknown;
  /** Sent as is, with `contentType`. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface HeaderSpec {
  name: string;
  required: boolean;
  schema: z.ZodType<string>;
}

export interface ResponseSpec {
  description: string;
  /** A registered schema (see schemas.ts); errors use the Problem schema. */
  schema?: z.ZodType;
  /** @defaultValue `application/json`, or `application/problem+json` for 4xx/5xx */
  contentType?: string;
}

/** One route: what the app mounts and what the OpenAPI document describes, from the same schemas. */
export interface Route {
  method: 'get' | 'post';
  /** Express path pattern, e.g. `/v1/debtors/:id`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** Requires `Authorization: Bearer chk_…` and scopes the request to the key's tenant. */
  auth: boolean;
  body?: z.ZodType;
  query?: z.ZodObject;
  params?: z.ZodObject;
  headers: HeaderSpec[];
  /**
   * The body is handed over untouched as a Buffer (webhooks, whose signatures are over the raw bytes; statement
   * uploads; HTML form posts), up to `limit`; `body` then describes it for the OpenAPI document only.
   */
  raw?: { limit: string; contentTypes: string[] };
  responses: Record<number, ResponseSpec>;
  /** Validates the raw input against the schemas and runs the handler. */
  run(raw: {
    tenantId: string;
    body: unknown;
    query: unknown;
    params: unknown;
    header(name: string): string | undefined;
    headers: Record<string, string>;
  }): Promise<Reply>;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw problems.validation(fieldProblems(r.error.issues));
  const nul = nulPaths(r.data);
  if (nul.length > 0)
    throw problems.validation(nul.map((path) => ({ path, message: 'must not contain a NUL (\\u0000)' })));
  return r.data;
}

/** Paths of the strings (values and keys) that hold a NUL: PostgreSQL's text cannot, and would fail the request. */
function nulPaths(v: unknown, path: readonly string[] = []): string[] {
  if (typeof v === 'string') return v.includes('\0') ? [path.join('.')] : [];
  if (v === null || typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) =>
    k.includes('\0') ? [[...path, k].join('.')] : nulPaths(x, [...path, k]),
  );
}

/** Declares a route; the handler's input types follow from the schemas. */
export function defineRoute<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  P extends z.ZodObject | undefined = undefined,
>(spec: {
  method: Route['method'];
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  auth: boolean;
  body?: B;
  query?: Q;
  params?: P;
  headers?: HeaderSpec[];
  raw?: Route['raw'];
  responses: Record<number, ResponseSpec>;
  handle(ctx: RouteContext<Out<B>, Out<Q>, Out<P>>): Promise<Reply>;
}): Route {
  const { handle, ...meta } = spec;
  const headers = spec.headers ?? [];
  return {
    ...meta,
    headers,
    async run(raw) {
      const values: Record<string, string> = {};
      for (const h of headers) {
        const v = raw.header(h.name);
        if (v === undefined || v === '') {
          if (h.required) throw problems.missingHeader(h.name);
          continue;
        }
        const r = h.schema.safeParse(v);
        if (!r.success) throw problems.validation(r.error.issues.map((i) => ({ path: h.name, message: i.message })));
        values[h.name] = r.data;
      }
      const params = spec.params ? parse(spec.params, raw.params) : undefined;
      const query = spec.query ? parse(spec.query, raw.query) : undefined;
      const body = spec.raw ? raw.body : spec.body ? parse(spec.body, raw.body) : undefined;
      return handle({
        tenantId: raw.tenantId,
        headers: values,
        requestHeaders: raw.headers,
        body: body as Out<B>,
        query: query as Out<Q>,
        params: params as Out<P>,
      });
    },
  };
}

type AmountJson = z.output<typeof Amount>;

/** Renders minor units as the API's amount: `{ value: "119.00", currency: "EUR", minor: 11900 }`. */
export function amountJson(minor: number, currency: string): AmountJson {
  return { value: formatMinor(minor, currency), currency, minor };
}

/** A page's cursor as the API hands it out: the last key of the page, opaque to the client (base64url). */
export const encodeCursor = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');
/**
 * The key a cursor from {@link encodeCursor} stands for. Any other text is a 400 naming `cursor`: it decodes to bytes
 * that are no key of ours (a NUL, which PostgreSQL cannot compare, or not UTF-8).
 */
export function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (key.includes('\0') || encodeCursor(key) !== cursor) {
    throw problems.validation([{ path: 'cursor', message: 'expected a cursor from a previous page' }]);
  }
  return key;
}

/** An allocation of a payment to an item, as the API answers it (the amount in the payment's currency). */
export function allocationJson(
  a: AllocationLine,
  currency: string,
): { itemId: string; documentNumber: string; amount: AmountJson; cleared: boolean } {
  return {
    itemId: a.itemId,
    documentNumber: a.documentNumber,
    amount: amountJson(a.amountMinor, currency),
    cleared: a.cleared,
  };
}

/** Keyset paging: rows were fetched with `limit + 1`; the extra row only says whether there is a next page. */
export function pageOf<R>(rows: R[], limit: number, key: (r: R) => string): { page: R[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { page, nextCursor: rows.length > limit && last ? encodeCursor(key(last)) : null };
}

export interface RouteDeps {
  store: Store;
  services: ApiServices;
  metricsRegistry: Registry;
  readiness: () => Promise<{ ok: boolean; checks: Record<string, string> }>;
  openapi: () => unknown;
}

/** Every route of the API, in the order the OpenAPI document lists them. */
export function buildRoutes(deps: RouteDeps): Route[] {
  return [
    ...coreRoutes(deps),
    ...gatewayRoutes(deps),
    ...cashRoutes(deps),
    ...dunningRoutes(deps),
    ...channelRoutes(deps),
  ];
}

function coreRoutes(deps: RouteDeps): Route[] {
  const db: Kysely<Database> = deps.store.db;
  return [
    defineRoute({
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      summary: 'Liveness: the process is up',
      tag: 'operations',
      auth: false,
      responses: { 200: { description: 'Alive', schema: Health } },
      handle: async () => ({ status: 200, json: { status: 'ok' } }),
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      operationId: 'readiness',
      summary: 'Readiness: the store answers and every dependency check passes',
      tag: 'operations',
      auth: false,
      responses: {
        200: { description: 'Ready', schema: Readiness },
        503: { description: 'Not ready; the failing checks are listed' },
      },
      handle: async () => {
        const { ok, checks } = await deps.readiness();
        if (ok) return { status: 200, json: { status: 'ready', checks } };
        const failing = Object.entries(checks).filter(([, v]) => v !== 'ok');
        const names = failing.length ? failing.map(([k]) => k) : ['readiness'];
        throw problems.unavailable(`not ready: ${names.join(', ')}`, checks);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      tag: 'operations',
      auth: false,
      responses: { 200: { description: 'Prometheus text exposition format', contentType: 'text/plain' } },
      handle: async () => ({
        status: 200,
        text: await deps.metricsRegistry.metrics(),
        contentType: deps.metricsRegistry.contentType,
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This OpenAPI 3.1 document',
      tag: 'operations',
      auth: false,
      responses: { 200: { description: 'OpenAPI 3.1 document' } },
      handle: async () => ({ status: 200, json: deps.openapi() }),
    }),

    defineRoute({
      method: 'post',
      path: '/v1/payments',
      operationId: 'recordPayment',
      summary: 'Record a payment received outside the gateway (shop counter, cash desk) and allocate it to open items',
      tag: 'payments',
      auth: true,
      body: PaymentRequest,
      headers: [{ name: 'Idempotency-Key', required: true, schema: IdempotencyKey }],
      responses: {
        201: { description: 'Recorded and allocated', schema: PaymentResponse },
        200: {
          description: 'Replay: this Idempotency-Key was used before with the same payment; the first result',
          schema: PaymentResponse,
        },
        409: { description: 'This Idempotency-Key was used for a different payment' },
        422: {
          description:
            'The payment cannot be recorded (unknown debtor or item, amount not allowed for the currency, …)',
        },
      },
      handle: async ({ tenantId, body, headers }): Promise<Reply> => {
        const { amount, ...rest } = body;
        if (!isKnownCurrency(amount.currency)) {
          throw new IntegrationError(
            `unknown currency "${amount.currency}"; expected an ISO 4217 code such as EUR`,
            'amount.currency',
          );
        }
        const result = await deps.services.recordPayment({
          ...rest,
          tenantId,
          idempotencyKey: headers['Idempotency-Key']!,
          amountMinor: parseAmountInput(amount.value, amount.currency, 'amount.value'),
          currency: amount.currency,
        });
        const p = result.payment;
        return {
          status: result.replayed ? 200 : 201,
          headers: result.replayed ? { 'Idempotent-Replayed': 'true' } : undefined,
          json: {
            payment: {
              paymentId: p.paymentId,
              state: p.state,
              amount: amountJson(p.amountMinor, p.currency),
              allocated: amountJson(p.allocatedMinor, p.currency),
            },
            allocations: result.allocations.map((a) => allocationJson(a, p.currency)),
            replayed: result.replayed,
          } satisfies z.output<typeof PaymentResponse>,
        };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/items',
      operationId: 'pushItems',
      summary: "Send open items (a push source): mapped by the source's mapping and upserted; bad records quarantined",
      tag: 'items',
      auth: true,
      body: PushItemsRequest,
      responses: {
        200: { description: 'Upserted; rejected records listed by position', schema: PushItemsResponse },
        422: { description: 'No push source of that name in the tenant' },
      },
      handle: async ({ tenantId, body }): Promise<Reply> => {
        if (!deps.services.pushItems) throw problems.notImplemented('this server has no push sources');
        const records = body.records.map((r) =>
          Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? '' : String(v)])),
        );
        const result = await deps.services.pushItems({ tenantId, source: body.source, records });
        return { status: 200, json: result satisfies z.output<typeof PushItemsResponse> };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/items',
      operationId: 'listItems',
      summary: "List the tenant's items, paged by item id",
      tag: 'items',
      auth: true,
      query: ItemsQuery,
      responses: { 200: { description: 'One page of items', schema: ItemPage } },
      handle: async ({ tenantId, query }) => {
        let q = db
          .selectFrom('items')
          .select([
            'item_id',
            'source',
            'source_key',
            'debtor_id',
            'external_id',
            'document_number',
            'contract_ref',
            'currency',
            'amount_minor',
            'open_minor',
            'document_date',
            'due_date',
            sql<number>`${sql.raw(itemLevelSql())}`.as('dunning_level'),
            'dunning_block',
            'status',
            'version',
          ])
          .where('tenant_id', '=', tenantId);
        if (query.status) q = q.where('status', '=', query.status);
        if (query.debtorId) q = q.where('debtor_id', '=', query.debtorId);
        if (query.cursor) q = q.where('item_id', '>', decodeCursor(query.cursor));
        const rows = await q
          .orderBy('item_id')
          .limit(query.limit + 1)
          .execute();
        const { page, nextCursor } = pageOf(rows, query.limit, (r) => r.item_id);
        return {
          status: 200,
          json: {
            items: page.map((r) => ({
              itemId: r.item_id,
              source: r.source,
              sourceKey: r.source_key,
              debtorId: r.debtor_id,
              externalId: r.external_id,
              documentNumber: r.document_number,
              contractRef: r.contract_ref,
              amount: amountJson(r.amount_minor, r.currency),
              open: amountJson(r.open_minor, r.currency),
              documentDate: r.document_date,
              dueDate: r.due_date,
              dunningLevel: r.dunning_level,
              dunningBlock: r.dunning_block,
              status: r.status,
              version: r.version,
            })),
            nextCursor,
          } satisfies z.output<typeof ItemPage>,
        };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/debtors/:id',
      operationId: 'getDebtor',
      summary: 'A debtor with its customer numbers and a summary of its open items',
      tag: 'debtors',
      auth: true,
      params: DebtorParams,
      responses: {
        200: { description: 'The debtor', schema: DebtorSchema },
        404: { description: 'The tenant has no such debtor' },
      },
      handle: async ({ tenantId, params }) => {
        const d = await db
          .selectFrom('debtors')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('debtor_id', '=', params.id)
          .executeTakeFirst();
        if (!d) throw problems.notFound(`no debtor "${params.id}"`);
        const [links, open] = await Promise.all([
          db
            .selectFrom('debtor_links')
            .select(['source', 'external_id'])
            .where('tenant_id', '=', tenantId)
            .where('debtor_id', '=', d.debtor_id)
            .orderBy('source')
            .orderBy('external_id')
            .execute(),
          db
            .selectFrom('items')
            .select([
              'currency',
              sql<number>`count(*)::bigint`.as('n'),
              sql<number>`sum(open_minor)::bigint`.as('open_minor'),
              sql<string>`min(due_date)`.as('oldest'),
              sql<number>`max(${sql.raw(itemLevelSql())})`.as('max_level'),
            ])
            .where('tenant_id', '=', tenantId)
            .where('debtor_id', '=', d.debtor_id)
            .where('status', '=', 'open')
            .groupBy('currency')
            .orderBy('currency')
            .execute(),
        ]);
        const oldest = open.map((o) => o.oldest).sort()[0] ?? null;
        return {
          status: 200,
          json: {
            debtorId: d.debtor_id,
            name: d.name,
            type: d.type,
            email: d.email,
            phone: d.phone,
            language: d.language,
            country: d.country,
            tags: d.tags,
            version: d.version,
            links: links.map((l) => ({ source: l.source, externalId: l.external_id })),
            openItems: {
              count: open.reduce((n, o) => n + Number(o.n), 0),
              totals: open.map((o) => amountJson(Number(o.open_minor), o.currency)),
              oldestDueDate: oldest,
              maxDunningLevel: open.reduce((m, o) => Math.max(m, Number(o.max_level)), 0),
            },
          } satisfies z.output<typeof DebtorSchema>,
        };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/outbox',
      operationId: 'listOutbox',
      summary: "List the tenant's write-backs, e.g. the dead letters (?status=dead)",
      tag: 'write-back',
      auth: true,
      query: OutboxQuery,
      responses: { 200: { description: 'One page of outbox entries', schema: OutboxPage } },
      handle: async ({ tenantId, query }) => {
        let q = db
          .selectFrom('outbox')
          .select(['outbox_id', 'source', 'kind', 'item_id', 'status', 'attempts', 'last_error', 'created_at'])
          .where('tenant_id', '=', tenantId);
        if (query.status) q = q.where('status', '=', query.status);
        if (query.cursor) q = q.where('outbox_id', '>', decodeCursor(query.cursor));
        const rows = await q
          .orderBy('outbox_id')
          .limit(query.limit + 1)
          .execute();
        const { page, nextCursor } = pageOf(rows, query.limit, (r) => r.outbox_id);
        return {
          status: 200,
          json: {
            entries: page.map((r) => ({
              outboxId: r.outbox_id,
              source: r.source,
              kind: r.kind,
              itemId: r.item_id,
              status: r.status,
              attempts: r.attempts,
              // Errors come from connectors and may quote URLs or payloads: never hand a secret to a client.
              lastError: r.last_error === null ? null : scrubText(r.last_error),
              createdAt: r.created_at,
            })),
            nextCursor,
          } satisfies z.output<typeof OutboxPage>,
        };
      },
    }),
  ];
}
