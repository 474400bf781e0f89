import { z } from 'zod';
import { Amount, id, named, PageLimit, requestSchemas, responseSchemas } from './schemas';

/** Schemas of the cash application routes (routes-cash.ts): statement upload, worklist, manual allocation, settings. */

const cursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,400}$/, 'expected a cursor from a previous page')
  .describe('nextCursor of the previous page');
const limit = PageLimit;

export const StatementUploadQuery = z.strictObject({
  file: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\r\n]+$/, 'one line')
    .describe('Name of the uploaded file, kept with the statements and quoted in errors')
    .optional(),
});

export const ImportSummarySchema = named(
  responseSchemas,
  'StatementImportSummary',
  z.object({
    file: z.string().nullable(),
    format: z.string().describe('camt.052, camt.053, camt.054 or mt940'),
    statements: z.int(),
    entries: z.int().describe('Entries in the file'),
    alreadyImported: z.int().describe('Entries imported before: a re-upload books nothing twice'),
    credits: z.int().describe('New credits (money in)'),
    autoAllocated: z.int().describe('Credits allocated automatically (confidence at or above the threshold)'),
    suggested: z.int().describe('Credits waiting in the worklist with ranked suggestions'),
    unmatched: z.int().describe('Credits waiting in the worklist without a candidate'),
    collections: z.int().describe('SEPA direct-debit collections settled by end-to-end id'),
    returns: z.int().describe('SEPA returns whose payment was reversed and items reopened'),
    returnsUnmatched: z.int().describe('Returns waiting in the worklist: original payment not found'),
    ignored: z.int().describe('Debits and zero entries: recorded, nothing to match'),
    totals: z.array(
      z.object({ received: Amount, allocated: Amount, worklist: Amount }).describe('Money of the import per currency'),
    ),
  }),
);

export const WorklistQuery = z.strictObject({
  status: z.enum(['suggested', 'unmatched']).describe('Only entries with or without suggestions').optional(),
  limit,
  cursor: cursor.optional(),
});

export const EntryParams = z.strictObject({ id: id('Statement entry id') });

const Suggestion = z.object({
  debtorId: z.string(),
  debtorName: z.string().nullable(),
  itemIds: z.array(z.string()),
  documentNumbers: z.array(z.string()),
  amount: Amount.describe('What the items would take of the entry'),
  confidence: z.number().describe('0..1'),
  reasons: z.array(z.string()).describe('Why the matcher proposes it'),
});

export const StatementEntrySchema = named(
  responseSchemas,
  'StatementEntry',
  z.object({
    entryId: z.string(),
    statementId: z.string(),
    account: z.string(),
    bookingDate: z.string(),
    valueDate: z.string().nullable(),
    amount: Amount.describe('Signed: credits positive'),
    kind: z.enum(['credit', 'debit', 'return']),
    status: z.enum(['allocated', 'suggested', 'unmatched', 'returned', 'ignored']),
    confidence: z.number().nullable(),
    matchedBy: z.string().nullable(),
    debtorId: z.string().nullable(),
    paymentId: z.string().nullable(),
    bankReference: z.string().nullable(),
    endToEndId: z.string().nullable(),
    mandateId: z.string().nullable(),
    creditorReference: z.string().nullable(),
    remittance: z.string().nullable(),
    counterparty: z.object({ name: z.string().nullable(), iban: z.string().nullable(), bic: z.string().nullable() }),
    returnReason: z.string().nullable(),
    note: z.string().nullable(),
    suggestions: z.array(Suggestion).describe('Ranked, best first'),
  }),
);

export const WorklistPage = named(
  responseSchemas,
  'StatementWorklistPage',
  z.object({
    entries: z.array(StatementEntrySchema),
    nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last'),
  }),
);

export const AllocateEntryRequest = named(
  requestSchemas,
  'AllocateEntryRequest',
  z
    .strictObject({
      suggestion: z
        .int()
        .min(0)
        .max(9)
        .describe("Accept the worklist's suggestion at this position (0: the best)")
        .optional(),
      itemIds: z.array(id('Item id')).min(1).max(1000).describe('Pay these items (all of one debtor)').optional(),
      debtorId: id("Pay this debtor's open items by the tenant's allocation order").optional(),
      note: z.string().max(500).describe('Why, for the audit trail').optional(),
    })
    .superRefine((v, ctx) => {
      const given = [v.suggestion, v.itemIds, v.debtorId].filter((x) => x !== undefined).length;
      if (given !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['suggestion'],
          message: 'give exactly one of suggestion, itemIds or debtorId',
        });
      }
    })
    .describe('How to allocate a worklist entry: a suggestion, chosen items, or a debtor'),
);

export const AllocateEntryResponse = named(
  responseSchemas,
  'AllocateEntryResponse',
  z.object({
    entry: StatementEntrySchema,
    payment: z.object({ paymentId: z.string(), amount: Amount, allocated: Amount }),
    allocations: z.array(
      z.object({ itemId: z.string(), documentNumber: z.string(), amount: Amount, cleared: z.boolean() }),
    ),
    replayed: z.boolean().describe('The entry was allocated this way before; nothing new was booked'),
  }),
);

export const CashSettingsSchema = named(
  responseSchemas,
  'CashSettings',
  z.object({
    autoThreshold: z.number(),
    allocationOrder: z.enum(['oldest-first', 'fees-last', 'fees-first']),
    feeDocumentPattern: z.string().nullable(),
    overpayment: z.enum(['credit', 'other-items']),
    returnFeeItem: z.boolean(),
    returnFeeMinor: z.int(),
  }),
);

export const CashSettingsRequest = named(
  requestSchemas,
  'CashSettingsRequest',
  z
    .strictObject({
      autoThreshold: z
        .number()
        .gt(0)
        .max(1)
        .describe('Entries matched with at least this confidence are allocated without review (default 0.9)')
        .optional(),
      allocationOrder: z
        .enum(['oldest-first', 'fees-last', 'fees-first'])
        .describe('fees-last (default): invoices oldest first, then fees and interest; fees-first: § 367 BGB')
        .optional(),
      feeDocumentPattern: z
        .string()
        .max(200)
        .nullable()
        .describe('Regular expression on document numbers marking fee and interest items')
        .optional(),
      overpayment: z
        .enum(['credit', 'other-items'])
        .describe("Money beyond the named items: kept as credit (default) or paid on the debtor's other items")
        .optional(),
      returnFeeItem: z.boolean().describe('Add the cost of a SEPA return as an item').optional(),
      returnFeeMinor: z.int().min(0).describe('Return fee in minor units when the statement carries none').optional(),
    })
    .describe('A change of the tenant’s cash application settings; fields left out stay as they are'),
);
