/**
 * A simulated SAP S/4HANA "Journal Entry - Post" SOAP endpoint, served by the `soap` package from Clearhub's reduced
 * WSDL (connectors/sap-soap/wsdl). It behaves as far as the sap-soap connector can tell like SAP:
 *
 * - records postings in memory and confirms each with an AccountingDocument number and FiscalYear;
 * - answers a message whose MessageHeader UUID it has already posted with the original confirmation (exactly once
 *   by message id, as SAP's idempotent-service runtime does; failed messages are not remembered, like a rolled-back
 *   LUW);
 * - answers error Logs (severity 3) for configured bad G/L accounts or customers, closed posting periods, an
 *   unbalanced entry, a locked customer (transient), and, when enabled, a reference already posted (F5 117);
 * - checks Basic authentication (401 with SAP's realm otherwise);
 * - injects faults: HTTP 500 on the nth call, or apply-then-timeout (posts, then answers too late).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { listen } from 'soap';

export const WSDL_PATH = join(
  __dirname,
  '..',
  '..',
  '..',
  'connectors',
  'sap-soap',
  'wsdl',
  'journal-entry-create.wsdl',
);
export const SERVICE_PATH = '/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi';

export interface SapSoapSimulatorOptions {
  /** Accepted Basic-auth users and passwords. @defaultValue { CLEARHUB: 'secret' } */
  users?: Record<string, string>;
  /** G/L accounts that do not exist (error Log). */
  badAccounts?: string[];
  /** Customers that do not exist in the company code (error Log). */
  badCustomers?: string[];
  /** Closed posting periods as `YYYY-MM` (error Log). */
  closedPeriods?: string[];
  /** Reject a DocumentReferenceID already posted in the company code with F5 117 (as a document type with a reference check). */
  rejectDuplicateReference?: boolean;
  /** Accept wrong credentials (for tests of everything else). @defaultValue false */
  noAuth?: boolean;
  /**
   * Answer a repeated MessageHeader UUID with the original confirmation (SAP's idempotent-service runtime). Off: every
   * message is processed, as on a system where the service is not idempotent. @defaultValue true
   */
  exactlyOnce?: boolean;
}

/** One posting as the simulated SAP holds it. */
export interface SimulatedPosting {
  accountingDocument: string;
  companyCode: string;
  fiscalYear: string;
  documentReferenceId: string;
  messageUuid: string;
  documentType: string;
  postingDate: string;
  debtor: string;
  /** Customer line amount as sent (signed decimal string) and its currency. */
  debtorAmount: string;
  currency: string;
  assignment: string;
  reference1: string;
  /** The request XML exactly as received. */
  xml: string;
}

export interface SapSoapSimulator {
  /** Endpoint URL of the service. */
  endpoint: string;
  postings: SimulatedPosting[];
  /** Every request body received (POST), in order, including replays and failures. */
  received: string[];
  /** Every SOAP answer sent by the service (not the injected faults), in order. */
  replies: string[];
  /** The next `n`-th POST from now (1 = the next) is answered with HTTP `status` before anything is posted. */
  failOnCall(nth: number, status?: number): void;
  /** The next POST is posted, then answered only after `delayMs` (callers with a shorter timeout see a timeout). */
  timeoutAfterApplyingNext(delayMs?: number): void;
  /** The customer is locked for the next `times` postings (SAP message MC 601). */
  lockCustomer(customer: string, times?: number): void;
  close(): Promise<void>;
}

type Obj = Record<string, unknown>;
const asArray = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const o = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const s = (v: unknown): string => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  const x = o(v).$value;
  return typeof x === 'string' || typeof x === 'number' ? String(x) : '';
};

interface LogItem {
  TypeID: string;
  SeverityCode: string;
  Note: string;
}

export async function startSapSoapSimulator(opts: SapSoapSimulatorOptions = {}): Promise<SapSoapSimulator> {
  const users = opts.users ?? { CLEARHUB: 'secret' };
  const postings: SimulatedPosting[] = [];
  const received: string[] = [];
  const replies: string[] = [];
  const byUuid = new Map<string, Obj>();
  const locks = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let failAt: { n: number; status: number } | undefined;
  let lateBy: number | undefined;
  let nextDoc = 1400000000;

  const http: HttpServer = createServer();
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}${SERVICE_PATH}`;

  const now = () => new Date().toISOString();
  const header = (reqHeader: Obj) => ({
    ID: Math.random().toString(16).slice(2).toUpperCase().padEnd(32, '0'),
    ReferenceID: s(reqHeader.ID) || undefined,
    ReferenceUUID: s(reqHeader.UUID) || undefined,
    CreationDateTime: now(),
  });

  const post = (args: Obj, xml: string): Obj => {
    const bulkHeader = o(args.MessageHeader);
    const uuid = s(bulkHeader.UUID);
    const replay = uuid && opts.exactlyOnce !== false ? byUuid.get(uuid) : undefined;
    if (replay) return replay;

    const confirmations: Obj[] = [];
    const bulkItems: LogItem[] = [];
    let maxSeverity = 1;
    let allPosted = true;
    for (const reqMsg of asArray(args.JournalEntryCreateRequest)) {
      const m = o(reqMsg);
      const je = o(m.JournalEntry);
      const companyCode = s(je.CompanyCode);
      const postingDate = s(je.PostingDate);
      const ref = s(je.DocumentReferenceID);
      const items = asArray(je.Item).map(o);
      const debtors = asArray(je.DebtorItem).map(o);
      const errors: LogItem[] = [];
      const err = (TypeID: string, Note: string) => errors.push({ TypeID, SeverityCode: '3', Note });
      for (const i of items) {
        const acct = s(i.GLAccount);
        if (opts.badAccounts?.includes(acct))
          err('026(FH)', `G/L account ${acct} is not defined in company code ${companyCode}`);
      }
      for (const d of debtors) {
        const c = s(d.Debtor);
        if (opts.badCustomers?.includes(c))
          err('152(F5)', `Account ${c} does not exist in company code ${companyCode}`);
        const left = locks.get(c) ?? 0;
        if (left > 0) {
          locks.set(c, left - 1);
          err('601(MC)', `Object requested is currently locked by user BATCH_CLR`);
        }
      }
      if (opts.closedPeriods?.includes(postingDate.slice(0, 7))) {
        err('201(F5)', `Posting period ${postingDate.slice(5, 7)} ${postingDate.slice(0, 4)} is not open`);
      }
      let balance = 0n;
      for (const line of [...items, ...debtors]) {
        const a = s(line.AmountInTransactionCurrency).replace('.', '');
        balance += BigInt(a || '0');
      }
      if (balance !== 0n) err('702(F5)', 'Balance in transaction currency');
      if (
        opts.rejectDuplicateReference &&
        postings.some((p) => p.companyCode === companyCode && p.documentReferenceId === ref)
      ) {
        const first = postings.find((p) => p.companyCode === companyCode && p.documentReferenceId === ref)!;
        err(
          '117(F5)',
          `Check whether document has already been entered under number ${companyCode} ${first.accountingDocument} ${first.fiscalYear}`,
        );
      }
      if (errors.length > 0) {
        allPosted = false;
        maxSeverity = 3;
        confirmations.push({
          MessageHeader: header(o(m.MessageHeader)),
          JournalEntryCreateConfirmation: {
            AccountingDocument: '0000000000',
            CompanyCode: companyCode,
            FiscalYear: '0000',
          },
          Log: {
            MaximumLogItemSeverityCode: '3',
            Item: [...errors, { TypeID: '609(RW)', SeverityCode: '3', Note: `Error in document: BKPFF $ SIM100` }],
          },
        });
        continue;
      }
      const accountingDocument = String(nextDoc++);
      const fiscalYear = postingDate.slice(0, 4);
      const d = debtors[0] ?? {};
      postings.push({
        accountingDocument,
        companyCode,
        fiscalYear,
        documentReferenceId: ref,
        messageUuid: uuid,
        documentType: s(je.AccountingDocumentType),
        postingDate,
        debtor: s(d.Debtor),
        debtorAmount: s(d.AmountInTransactionCurrency),
        currency: s(o(o(d.AmountInTransactionCurrency).attributes).currencyCode),
        assignment: s(d.AssignmentReference),
        reference1: s(d.Reference1IDByBusinessPartner),
        xml,
      });
      confirmations.push({
        MessageHeader: header(o(m.MessageHeader)),
        JournalEntryCreateConfirmation: {
          AccountingDocument: accountingDocument,
          CompanyCode: companyCode,
          FiscalYear: fiscalYear,
        },
        Log: {
          MaximumLogItemSeverityCode: '1',
          Item: [
            {
              TypeID: '614(RW)',
              SeverityCode: '1',
              Note: `Document posted successfully: BKPFF ${accountingDocument}${companyCode}${fiscalYear} SIM100`,
            },
          ],
        },
      });
    }
    if (!allPosted) bulkItems.push({ TypeID: '609(RW)', SeverityCode: '3', Note: 'Error in document' });
    const response = {
      MessageHeader: header(bulkHeader),
      JournalEntryCreateConfirmation: confirmations,
      Log: {
        BusinessDocumentProcessingResultCode: allPosted ? '3' : '5',
        MaximumLogItemSeverityCode: String(maxSeverity),
        ...(bulkItems.length > 0 ? { Item: bulkItems } : {}),
      },
    };
    if (allPosted && uuid) byUuid.set(uuid, response);
    return response;
  };

  const rawXml = new WeakMap<IncomingMessage, string>();
  const server = listen(http, {
    path: SERVICE_PATH,
    xml: readFileSync(WSDL_PATH, 'utf8'),
    services: {
      service: {
        binding: {
          JournalEntryCreateRequestConfirmation_In: (
            args: Obj,
            callback?: (result: unknown) => void,
            _headers?: unknown,
            req?: IncomingMessage,
          ) => {
            const xml = (req && rawXml.get(req)) ?? '';
            const result = post(args, xml);
            if (lateBy !== undefined) {
              const delay = lateBy;
              lateBy = undefined;
              const t = setTimeout(() => {
                timers.delete(t);
                callback?.(result);
              }, delay);
              timers.add(t);
              return;
            }
            callback?.(result);
          },
        },
      },
    },
  });
  server.log = (type: string, data: unknown, req: IncomingMessage) => {
    if (type === 'received' && typeof data === 'string') {
      received.push(data);
      rawXml.set(req, data);
    }
    if (type === 'replied' && typeof data === 'string') replies.push(data);
  };
  server.authorizeConnection = (req: IncomingMessage, res?: ServerResponse) => {
    if (!opts.noAuth) {
      const m = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      const [user, ...pw] = m ? Buffer.from(m[1]!, 'base64').toString('utf8').split(':') : [];
      if (!user || users[user] === undefined || users[user] !== pw.join(':')) {
        res?.writeHead(401, {
          'Content-Type': 'text/html; charset=utf-8',
          'WWW-Authenticate': 'Basic realm="SAP NetWeaver Application Server [SIM/100]"',
        });
        res?.write('<html><head><title>Logon failed</title></head><body>Logon failed</body></html>');
        return false;
      }
    }
    if (req.method === 'POST' && failAt) {
      failAt.n -= 1;
      if (failAt.n === 0) {
        const status = failAt.status;
        failAt = undefined;
        res?.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
        res?.write('<html><body>500 Internal Server Error: ICM could not reach the work process</body></html>');
        return false;
      }
    }
    return true;
  };

  return {
    endpoint,
    postings,
    received,
    replies,
    failOnCall(nth, status = 500) {
      failAt = { n: nth, status };
    },
    timeoutAfterApplyingNext(delayMs = 2000) {
      lateBy = delayMs;
    },
    lockCustomer(customer, times = 1) {
      locks.set(customer, times);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}
