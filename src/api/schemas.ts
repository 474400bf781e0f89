import { z } from 'zod';
import { isCalendarDate } from '../domain/dates';
import { PAYMENT_METHODS } from './services';

/**
 * The zod schemas of the API: the same objects validate requests and generate the OpenAPI document. Schemas
 * registered here become `components.schemas` entries under their id (requests as input, responses as output).
 */
export const requestSchemas = z.registry<{ id: string }>();
export const responseSchemas = z.registry<{ id: string }>();

export function named<T extends z.ZodType>(registry: z.core.$ZodRegistry<{ id: string }>, id: string, schema: T): T {
  registry.add(schema, { id });
  return schema;
}

export const id = (what: string) => z.string().min(1).max(200).describe(what);

// ---- requests ----

export const AmountInput = named(
  requestSchemas,
  'AmountInput',
  z.strictObject({
    value: z
      .string()
      .regex(/^\d{1,15}(\.\d{1,6})?$/, 'expected a decimal string such as "119.00"')
      .describe(
        'Decimal string in major units with a dot, e.g. "119.00"; at most as many decimals as the currency has',
      ),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as EUR')
      .describe('ISO 4217 code'),
  }),
);

export const PaymentRequest = named(
  requestSchemas,
  'PaymentRequest',
  z
    .strictObject({
      debtorId: id('Our debtor id. Give this, or externalId with source.').optional(),
      externalId: id("The source's customer number (with source).").optional(),
      source: id('The source the externalId belongs to (with externalId).').optional(),
      itemIds: z
        .array(id('Item id'))
        .min(1)
        .max(1000)
        .describe('Allocate to these items only; otherwise oldest first')
        .optional(),
      amount: AmountInput,
      method: z.enum(PAYMENT_METHODS).describe('How the money was received'),
      reference: z.string().min(1).max(140).describe('Receipt or merchant reference').optional(),
      receivedAt: z.iso
        .datetime({ offset: true })
        .refine((t) => isCalendarDate(t.slice(0, 10)), 'no such day')
        .describe('When the money was received (ISO 8601)')
        .optional(),
    })
    .superRefine((v, ctx) => {
      const byExternal = v.externalId !== undefined || v.source !== undefined;
      if (v.debtorId !== undefined && byExternal) {
        ctx.addIssue({
          code: 'custom',
          path: ['debtorId'],
          message: 'give either debtorId or externalId with source, not both',
        });
      } else if (v.debtorId === undefined && !byExternal) {
        ctx.addIssue({ code: 'custom', path: ['debtorId'], message: 'give debtorId, or externalId with source' });
      } else if (byExternal && v.externalId === undefined) {
        ctx.addIssue({ code: 'custom', path: ['externalId'], message: 'required with source' });
      } else if (byExternal && v.source === undefined) {
        ctx.addIssue({ code: 'custom', path: ['source'], message: 'required with externalId' });
      }
    })
    .describe('A payment received outside the gateway. Exactly one of debtorId or externalId with source.'),
);

export const PushItemsRequest = named(
  requestSchemas,
  'PushItemsRequest',
  z
    .strictObject({
      source: id('A source of kind `push` in the tenant file; its mapping turns each record into a debtor and an item'),
      records: z
        .array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])))
        .min(1)
        .max(10_000)
        .describe("Flat records in the source's own field names, as its mapping expects (values as text or numbers)"),
    })
    .describe('Items a shop or platform sends instead of being pulled: upserted, unchanged ones change nothing'),
);

const cursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,400}$/, 'expected a cursor from a previous page')
  .describe('nextCursor of the previous page');
/** A page size from the query string: digits only (a number parser would take "1e2" as 100 and "0x10" as 16), 1–500. */
export const PageLimit = z
  .string()
  .regex(/^[0-9]{1,3}$/, 'expected a whole number from 1 to 500')
  .transform(Number)
  .pipe(
    z.number().int().min(1, 'expected a whole number from 1 to 500').max(500, 'expected a whole number from 1 to 500'),
  )
  .default(50)
  .describe('Page size');
const limit = PageLimit;

export const ItemsQuery = z.strictObject({
  status: z.enum(['open', 'closed']).optional(),
  debtorId: id('Only items of this debtor').optional(),
  limit,
  cursor: cursor.optional(),
});

export const OutboxQuery = z.strictObject({
  status: z.enum(['pending', 'enqueued', 'delivered', 'dead']).optional(),
  limit,
  cursor: cursor.optional(),
});

export const DebtorParams = z.strictObject({ id: id('Debtor id') });

export const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
  .describe('A business id of this request, e.g. "till-7:receipt-4711"; a repeat returns the first result');

// ---- responses ----

export const Amount = named(
  responseSchemas,
  'Amount',
  z.object({
    value: z.string().describe('Decimal string in major units, e.g. "119.00"'),
    currency: z.string().describe('ISO 4217 code'),
    minor: z.int().describe('Integer minor units, e.g. 11900'),
  }),
);

export const PushItemsResponse = named(
  responseSchemas,
  'PushItemsResponse',
  z.object({
    inserted: z.int(),
    updated: z.int(),
    unchanged: z.int(),
    quarantined: z.int(),
    rejected: z
      .array(z.object({ index: z.int().describe('Position in records, 0-based'), reason: z.string() }))
      .describe('Records the mapping rejected; they wait in the quarantine with this reason'),
  }),
);

export const PaymentResponse = named(
  responseSchemas,
  'PaymentResponse',
  z.object({
    payment: z.object({
      paymentId: z.string(),
      state: z.string(),
      amount: Amount,
      allocated: Amount,
    }),
    allocations: z.array(
      z.object({ itemId: z.string(), documentNumber: z.string(), amount: Amount, cleared: z.boolean() }),
    ),
    replayed: z.boolean().describe('True when this Idempotency-Key was seen before (status 200)'),
  }),
);

export const Item = named(
  responseSchemas,
  'Item',
  z.object({
    itemId: z.string(),
    source: z.string(),
    sourceKey: z.string().describe("The source's own key of the item"),
    debtorId: z.string(),
    externalId: z.string(),
    documentNumber: z.string(),
    contractRef: z.string().nullable(),
    amount: Amount,
    open: Amount,
    documentDate: z.string().nullable(),
    dueDate: z.string(),
    dunningLevel: z.int(),
    dunningBlock: z.string().nullable(),
    status: z.enum(['open', 'closed']),
    version: z.int(),
  }),
);

export const ItemPage = named(
  responseSchemas,
  'ItemPage',
  z.object({
    items: z.array(Item),
    nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last'),
  }),
);

export const Debtor = named(
  responseSchemas,
  'Debtor',
  z.object({
    debtorId: z.string(),
    name: z.string(),
    type: z.enum(['B2B', 'B2C']),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    language: z.string(),
    country: z.string().nullable(),
    tags: z.array(z.string()),
    version: z.int(),
    links: z
      .array(z.object({ source: z.string(), externalId: z.string() }))
      .describe('Customer numbers in the sources'),
    openItems: z.object({
      count: z.int(),
      totals: z.array(Amount).describe('Open amount per currency'),
      oldestDueDate: z.string().nullable(),
      maxDunningLevel: z.int(),
    }),
  }),
);

export const OutboxPage = named(
  responseSchemas,
  'OutboxPage',
  z.object({
    entries: z.array(
      z.object({
        outboxId: z.string(),
        source: z.string(),
        kind: z.string(),
        itemId: z.string().nullable(),
        status: z.enum(['pending', 'enqueued', 'delivered', 'dead']),
        attempts: z.int(),
        lastError: z.string().nullable(),
        createdAt: z.string(),
      }),
    ),
    nextCursor: z.string().nullable(),
  }),
);

export const Health = named(responseSchemas, 'Health', z.object({ status: z.literal('ok') }));

export const Readiness = named(
  responseSchemas,
  'Readiness',
  z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.string()) }),
);

export const ProblemSchema = named(
  responseSchemas,
  'Problem',
  z
    .looseObject({
      type: z.string().describe('URI naming the kind of problem, e.g. urn:clearhub:problem:validation'),
      title: z.string(),
      status: z.int(),
      detail: z.string(),
      instance: z.string().optional(),
      errors: z
        .array(z.object({ path: z.string().describe('Dotted field path, e.g. amount.value'), message: z.string() }))
        .optional(),
      checks: z.record(z.string(), z.string()).optional(),
    })
    .describe('RFC 9457 problem details (application/problem+json)'),
);
