import type { z } from 'zod';
import { type ImportSummary, importStatements } from '../cash/import';
import { readStatements } from '../cash/read';
import type { EntryRecord } from '../cash/returns';
import { loadCashSettings, saveCashSettings } from '../cash/settings';
import { allocateEntry, EntryNotFoundError, listWorklist } from '../cash/worklist';
import { IntegrationError } from '../domain/errors';
import { problems } from './problems';
import {
  allocationJson,
  amountJson,
  decodeCursor,
  defineRoute,
  encodeCursor,
  type Route,
  type RouteDeps,
} from './routes';
import {
  AllocateEntryRequest,
  AllocateEntryResponse,
  CashSettingsRequest,
  CashSettingsSchema,
  EntryParams,
  ImportSummarySchema,
  type StatementEntrySchema,
  StatementUploadQuery,
  WorklistPage,
  WorklistQuery,
} from './schemas-cash';

/** The largest statement file the upload takes (a year of a busy account in MT940 is a few MB). */
const UPLOAD_LIMIT = '64mb';

export function summaryJson(s: ImportSummary): z.output<typeof ImportSummarySchema> {
  const { totals, ...counts } = s;
  return {
    ...counts,
    totals: totals.map((t) => ({
      received: amountJson(t.receivedMinor, t.currency),
      allocated: amountJson(t.allocatedMinor, t.currency),
      worklist: amountJson(t.worklistMinor, t.currency),
    })),
  };
}

export function entryJson(e: EntryRecord): z.output<typeof StatementEntrySchema> {
  return {
    entryId: e.entry_id,
    statementId: e.statement_id,
    account: e.account,
    bookingDate: e.booking_date,
    valueDate: e.value_date,
    amount: amountJson(e.amount_minor, e.currency),
    kind: e.kind,
    status: e.status,
    confidence: e.confidence,
    matchedBy: e.matched_by,
    debtorId: e.debtor_id,
    paymentId: e.payment_id,
    bankReference: e.bank_reference,
    endToEndId: e.end_to_end_id,
    mandateId: e.mandate_id,
    creditorReference: e.creditor_reference,
    remittance: e.remittance,
    counterparty: { name: e.counterparty_name, iban: e.counterparty_iban, bic: e.counterparty_bic },
    returnReason: e.return_reason,
    note: e.note,
    suggestions: e.suggestions.map((s) => ({
      debtorId: s.debtorId,
      debtorName: s.debtorName,
      itemIds: s.itemIds,
      documentNumbers: s.documentNumbers,
      amount: amountJson(s.amountMinor, e.currency),
      confidence: s.confidence,
      reasons: s.reasons,
    })),
  };
}

/** Cash application: statement upload and import, the matching worklist, manual allocation, the tenant's settings. */
export function cashRoutes(deps: RouteDeps): Route[] {
  const { store } = deps;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/statements',
      operationId: 'importStatement',
      summary:
        'Upload a bank statement (camt.052/053/054 XML or MT940/942 text) as the raw body: imported, matched, allocated',
      tag: 'cash',
      auth: true,
      query: StatementUploadQuery,
      raw: {
        limit: UPLOAD_LIMIT,
        contentTypes: ['application/xml', 'text/xml', 'text/plain', 'application/octet-stream'],
      },
      responses: {
        200: { description: 'Imported; what was allocated, what waits in the worklist', schema: ImportSummarySchema },
        413: { description: `The file is larger than ${UPLOAD_LIMIT}` },
        422: { description: 'The file cannot be read: the detail names the file, statement and line or entry' },
      },
      handle: async ({ tenantId, body, query }) => {
        const file = query.file ?? 'upload';
        // A raw route hands the body over untouched, as a Buffer.
        const raw: unknown = body;
        if (!Buffer.isBuffer(raw) || raw.length === 0) {
          throw new IntegrationError(`${file}: the request body is empty; send the statement file as the body`, 'body');
        }
        const { format, statements } = readStatements(raw, file);
        const summary = await importStatements(store, { tenantId, statements, format, fileName: file });
        return { status: 200, json: summaryJson(summary) };
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/statements/worklist',
      operationId: 'statementWorklist',
      summary: 'Statement entries waiting for a person, with ranked suggestions',
      tag: 'cash',
      auth: true,
      query: WorklistQuery,
      responses: { 200: { description: 'One page of the worklist, oldest first', schema: WorklistPage } },
      handle: async ({ tenantId, query }) => {
        const page = await listWorklist(store, tenantId, {
          limit: query.limit,
          ...(query.cursor ? { after: decodeCursor(query.cursor) } : {}),
          ...(query.status ? { status: query.status } : {}),
        });
        return {
          status: 200,
          json: {
            entries: page.entries.map(entryJson),
            nextCursor: page.nextCursor ? encodeCursor(page.nextCursor) : null,
          } satisfies z.output<typeof WorklistPage>,
        };
      },
    }),

    defineRoute({
      method: 'post',
      path: '/v1/statements/entries/:id/allocate',
      operationId: 'allocateStatementEntry',
      summary: "Allocate a worklist entry by hand: a suggestion, chosen items or a debtor's open items",
      tag: 'cash',
      auth: true,
      params: EntryParams,
      body: AllocateEntryRequest,
      responses: {
        200: { description: 'Allocated (or allocated before the same way: replayed)', schema: AllocateEntryResponse },
        404: { description: 'The tenant has no such entry' },
        409: { description: 'The entry is allocated to another debtor already' },
        422: { description: 'The entry cannot be allocated (not a credit waiting in the worklist, unknown items, …)' },
      },
      handle: async ({ tenantId, params, body }) => {
        try {
          const r = await allocateEntry(store, {
            tenantId,
            entryId: params.id,
            ...(body.suggestion !== undefined ? { suggestion: body.suggestion } : {}),
            ...(body.itemIds ? { itemIds: body.itemIds } : {}),
            ...(body.debtorId ? { debtorId: body.debtorId } : {}),
            ...(body.note ? { note: body.note } : {}),
          });
          const ccy = r.payment.currency;
          return {
            status: 200,
            json: {
              entry: entryJson(r.entry),
              payment: {
                paymentId: r.payment.paymentId,
                amount: amountJson(r.payment.amountMinor, ccy),
                allocated: amountJson(r.payment.allocatedMinor, ccy),
              },
              allocations: r.allocations.map((a) => allocationJson(a, ccy)),
              replayed: r.replayed,
            } satisfies z.output<typeof AllocateEntryResponse>,
          };
        } catch (err) {
          if (err instanceof EntryNotFoundError) throw problems.notFound(err.message);
          throw err;
        }
      },
    }),

    defineRoute({
      method: 'get',
      path: '/v1/statements/settings',
      operationId: 'cashSettings',
      summary: "The tenant's cash application settings (threshold, allocation order, over-payments, return fees)",
      tag: 'cash',
      auth: true,
      responses: { 200: { description: 'The settings in force', schema: CashSettingsSchema } },
      handle: async ({ tenantId }) => ({ status: 200, json: await loadCashSettings(store.db, tenantId) }),
    }),

    defineRoute({
      method: 'post',
      path: '/v1/statements/settings',
      operationId: 'changeCashSettings',
      summary: "Change the tenant's cash application settings; fields left out stay as they are",
      tag: 'cash',
      auth: true,
      body: CashSettingsRequest,
      responses: {
        200: { description: 'The settings now in force', schema: CashSettingsSchema },
        422: { description: 'A value is not allowed (e.g. a fee pattern that is not a regular expression)' },
      },
      handle: async ({ tenantId, body }) => {
        const change = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
        return { status: 200, json: await saveCashSettings(store.db, tenantId, change) };
      },
    }),
  ];
}
