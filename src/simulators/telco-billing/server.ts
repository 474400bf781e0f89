/**
 * A legacy telco billing subledger for tests: a real SOAP server (the `soap` package's server, built from
 * connectors/soap/wsdl/telco-billing-v2.wsdl) on 127.0.0.1, port 0, backed by an in-memory ledger.
 *
 * It behaves like the WSDL says: keyset page tokens, ChangedSince inclusive, idempotent postings per OurReference
 * (a repeated reference is answered with soap:Client.DuplicateReference and the first posting's id), HTTP Basic
 * authentication. Faults can be injected: a 500 or a dropped socket on the nth request, and a write that is applied
 * but never answered.
 *
 * Amounts are kept as integer cents with the simulator's own decimal code (two decimals), independent of ours.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import * as soap from 'soap';

const WSDL = 'connectors/soap/wsdl/telco-billing-v2.wsdl';
/** The WSDL shipped with Clearhub, found from src (tests) or dist/src (the built demo), which has no copy of it. */
export const WSDL_PATH = ((): string => {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, WSDL))) return join(dir, WSDL);
    dir = resolve(dir, '..');
  }
  return join(__dirname, '../../..', WSDL);
})();
const SERVICE_PATH = '/services/v2/OpenItemService';

export interface LedgerItem {
  invoiceNumber: string;
  contractAccount: string;
  customerNumber: string;
  invoiceDate: string;
  dueDate: string;
  /** Cents. */
  amount: number;
  currency: string;
  /** Cents. */
  openAmount: number;
  dunningLevel: number;
  dunningLock: boolean;
  changedAt: string;
  /** Wire values that override the ledger's (to make broken records: a bad date, a bad amount). */
  raw?: Record<string, string>;
}

export interface LedgerCustomer {
  customerNumber: string;
  customerType: 'RES' | 'BUS';
  name: string;
  email?: string;
  msisdn?: string;
  language?: string;
  segment?: string;
  address?: { street?: string; postalCode?: string; city?: string; country?: string };
  iban?: string;
}

export interface Posting {
  postingId: string;
  kind: 'payment' | 'reversal' | 'dunning_level';
  invoiceNumber: string;
  reference: string;
  /** Cents (payments and reversals). */
  amount?: number;
  currency?: string;
  valueDate?: string;
  paymentReference?: string;
  level?: number;
}

export interface SimulatorOptions {
  /** HTTP Basic credentials the server demands; none when unset. */
  basic?: { user: string; password: string };
  /** WS-Security UsernameToken (PasswordText) the server demands; none when unset. */
  wsSecurity?: { user: string; password: string };
  /** How long a write that is "never answered" is held before its socket is dropped. @defaultValue 2000 */
  hangMs?: number;
}

type Args = Record<string, unknown>;
type Failure = { at: number; mode: 'http500' | 'drop' };

const fault = (code: string, message: string, detail?: Record<string, unknown>) => ({
  Fault: { faultcode: `soap:${code}`, faultstring: message, ...(detail ? { detail } : {}), statusCode: 500 },
});

/** Parses "12.5" / "12.50" into cents; undefined when it is not such a decimal. */
export function toCents(text: string): number | undefined {
  const m = /^(-)?(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!m) return undefined;
  const cents = Number(m[2]) * 100 + Number((m[3] ?? '').padEnd(2, '0'));
  return m[1] ? -cents : cents;
}

export function fromCents(cents: number): string {
  const abs = Math.abs(cents);
  return `${cents < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

export class TelcoBillingSimulator {
  readonly items = new Map<string, LedgerItem>();
  readonly customers = new Map<string, LedgerCustomer>();
  readonly postings: Posting[] = [];
  /** Every SOAP request that reached an operation: its name and arguments, as the server parsed them. */
  readonly requests: { operation: string; args: Args }[] = [];
  /** Authorization headers seen, for tests that check what was sent. */
  readonly authHeaders: (string | undefined)[] = [];
  private readonly references = new Map<string, string>();
  private clock = Date.parse('2024-06-01T08:00:00Z');
  private httpRequests = 0;
  private failures: Failure[] = [];
  private hangNextWrite = false;
  private readonly held = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly http: Server,
    readonly options: SimulatorOptions,
  ) {}

  /** Starts the server on 127.0.0.1 with a free port. */
  static async start(options: SimulatorOptions = {}): Promise<TelcoBillingSimulator> {
    const http = createServer((_req, res) => {
      res.statusCode = 404;
      res.end('not found');
    });
    const sim = new TelcoBillingSimulator(http, options);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const server = soap.listen(http, {
      path: SERVICE_PATH,
      services: { OpenItemService: { OpenItemPort: sim.operations() } },
      xml: readFileSync(WSDL_PATH, 'utf8'),
      // Keep amounts and dates as text, like a careful server would (see KEEP_TEXT in the connector).
      ...({ customDeserializer: textTypes() } as object),
    });
    server.authorizeConnection = (req, res) => sim.gate(req as IncomingMessage, res as unknown as ServerResponse);
    if (options.wsSecurity) {
      const { user, password } = options.wsSecurity;
      server.authenticate = (security: unknown) => {
        const token = (security as { UsernameToken?: { Username?: unknown; Password?: unknown } } | undefined)
          ?.UsernameToken;
        const pw = token?.Password;
        const pwText = typeof pw === 'object' && pw !== null ? (pw as { $value?: unknown }).$value : pw;
        if (token?.Username === user && pwText === password) return true;
        throw fault('Client.FailedAuthentication', 'The security token could not be authenticated');
      };
    }
    return sim;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}${SERVICE_PATH}`;
  }

  get wsdlUrl(): string {
    return `${this.endpoint}?wsdl`;
  }

  /** The billing system's clock: one second per change, so every change has its own ChangedAt. */
  private tick(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString().replace('.000Z', 'Z');
  }

  addCustomer(c: LedgerCustomer): void {
    this.customers.set(c.customerNumber, c);
  }

  addItem(item: Omit<LedgerItem, 'changedAt' | 'openAmount' | 'dunningLevel' | 'dunningLock'> & Partial<LedgerItem>) {
    const full: LedgerItem = {
      openAmount: item.amount,
      dunningLevel: 0,
      dunningLock: false,
      ...item,
      changedAt: this.tick(),
    };
    this.items.set(full.invoiceNumber, full);
    return full;
  }

  /** Changes an item's open amount (a payment at the counter, say) and its ChangedAt. */
  touch(invoiceNumber: string, openAmount?: number): void {
    const it = this.items.get(invoiceNumber);
    if (!it) throw new Error(`no item ${invoiceNumber}`);
    it.openAmount = openAmount ?? it.openAmount - 1;
    it.changedAt = this.tick();
  }

  /** Fails the nth HTTP request from now on (1 = the next), once. */
  failOnRequest(nth: number, mode: Failure['mode'] = 'http500'): void {
    this.failures.push({ at: this.httpRequests + nth, mode });
  }

  /** The next write is applied, but its answer never comes (the socket is dropped after `hangMs`). */
  timeoutAfterApplyingNextWrite(): void {
    this.hangNextWrite = true;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const res of this.held) res.socket?.destroy();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** Runs before every HTTP request: fault injection, then Basic authentication. */
  private gate(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method === 'POST') {
      this.httpRequests++;
      const failure = this.failures.find((f) => f.at === this.httpRequests);
      if (failure) {
        this.failures = this.failures.filter((f) => f !== failure);
        if (failure.mode === 'drop') {
          req.socket.destroy();
        } else {
          res.statusCode = 500;
          res.setHeader('Content-Type', 'text/html');
          res.write('<html><body><h1>500 Internal Server Error</h1></body></html>');
        }
        return false;
      }
    }
    const basic = this.options.basic;
    this.authHeaders.push(req.headers.authorization);
    if (basic) {
      const expected = `Basic ${Buffer.from(`${basic.user}:${basic.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.statusCode = 401;
        res.setHeader('WWW-Authenticate', 'Basic realm="billing"');
        res.setHeader('Content-Type', 'text/html');
        res.write('<html><body>401 Unauthorized</body></html>');
        return false;
      }
    }
    return true;
  }

  private wireItem(it: LedgerItem): Record<string, unknown> {
    const c = this.customers.get(it.customerNumber);
    const wire: Record<string, unknown> = {
      InvoiceNumber: it.invoiceNumber,
      ContractAccount: it.contractAccount,
      CustomerNumber: it.customerNumber,
      CustomerName: c?.name ?? '',
      ...(c?.email ? { Email: c.email } : {}),
      ...(c?.msisdn ? { Msisdn: c.msisdn } : {}),
      ...(c?.language ? { Language: c.language } : {}),
      InvoiceDate: it.invoiceDate,
      DueDate: it.dueDate,
      Amount: fromCents(it.amount),
      Currency: it.currency,
      OpenAmount: fromCents(it.openAmount),
      DunningLevel: String(it.dunningLevel),
      DunningLock: it.dunningLock ? 'true' : 'false',
      ChangedAt: it.changedAt,
    };
    return { ...wire, ...it.raw };
  }

  private operations() {
    const writes =
      (operation: string, fn: (args: Args) => Record<string, unknown>) =>
      (args: Args, _cb: unknown, _h: unknown, _req: IncomingMessage, res: ServerResponse) => {
        this.requests.push({ operation, args });
        const answer = this.idempotent(args, fn);
        if (this.hangNextWrite) {
          this.hangNextWrite = false;
          this.held.add(res);
          const t = setTimeout(() => {
            this.timers.delete(t);
            res.socket?.destroy();
          }, this.options.hangMs ?? 2000);
          this.timers.add(t);
          return new Promise(() => undefined); // applied; the answer never comes
        }
        return answer;
      };
    return {
      ListOpenItems: (args: Args) => {
        this.requests.push({ operation: 'ListOpenItems', args });
        const size = Number(args.PageSize);
        if (!Number.isInteger(size) || size < 1 || size > 1000) {
          throw fault('Client.Validation', 'PageSize must be 1..1000', {
            ValidationFault: { Field: 'PageSize', Message: 'out of range' },
          });
        }
        const since = typeof args.ChangedSince === 'string' ? Date.parse(args.ChangedSince) : undefined;
        let after: [string, string] | undefined;
        if (typeof args.PageToken === 'string') {
          const decoded = Buffer.from(args.PageToken, 'base64url').toString('utf8').split('|');
          if (decoded.length !== 2) throw fault('Client.InvalidPageToken', 'PageToken is not valid');
          after = [decoded[0]!, decoded[1]!];
        }
        const all = [...this.items.values()]
          .filter((it) => (since === undefined ? it.openAmount !== 0 : Date.parse(it.changedAt) >= since))
          .sort((a, b) => cmp(a.changedAt, b.changedAt) || cmp(a.invoiceNumber, b.invoiceNumber))
          .filter(
            (it) =>
              !after ||
              cmp(it.changedAt, after[0]) > 0 ||
              (it.changedAt === after[0] && cmp(it.invoiceNumber, after[1]) > 0),
          );
        const page = all.slice(0, size);
        const last = page[page.length - 1];
        return {
          OpenItems: { OpenItem: page.map((it) => this.wireItem(it)) },
          ...(all.length > size && last
            ? { NextPageToken: Buffer.from(`${last.changedAt}|${last.invoiceNumber}`).toString('base64url') }
            : {}),
        };
      },
      GetCustomers: (args: Args) => {
        this.requests.push({ operation: 'GetCustomers', args });
        const ids = ([] as unknown[]).concat(args.CustomerNumber ?? []);
        return {
          Customer: ids
            .map((id) => this.customers.get(String(id)))
            .filter((c): c is LedgerCustomer => c !== undefined)
            .map((c) => ({
              CustomerNumber: c.customerNumber,
              CustomerType: c.customerType,
              Name: c.name,
              ...(c.segment ? { Segment: c.segment } : {}),
              ...(c.address
                ? {
                    Address: {
                      ...(c.address.street ? { Street: c.address.street } : {}),
                      ...(c.address.postalCode ? { PostalCode: c.address.postalCode } : {}),
                      ...(c.address.city ? { City: c.address.city } : {}),
                      ...(c.address.country ? { Country: c.address.country } : {}),
                    },
                  }
                : {}),
              ...(c.iban ? { Iban: c.iban } : {}),
            })),
        };
      },
      PostPayment: writes('PostPayment', (args) => {
        const it = this.item(args);
        const amount = this.amount(args, it);
        if (amount <= 0 || amount > it.openAmount) {
          throw fault(
            'Client.Validation',
            `Amount ${fromCents(amount)} exceeds the open amount ${fromCents(it.openAmount)}`,
            {
              ValidationFault: { Field: 'Amount', Message: 'not between 0 and the open amount' },
            },
          );
        }
        const postingId = this.post({
          kind: 'payment',
          invoiceNumber: it.invoiceNumber,
          reference: String(args.OurReference),
          amount,
          currency: it.currency,
          valueDate: String(args.ValueDate),
          ...(args.PaymentReference ? { paymentReference: String(args.PaymentReference) } : {}),
        });
        it.openAmount -= amount;
        it.changedAt = this.tick();
        return {
          PostingId: postingId,
          PostedAmount: fromCents(amount),
          Currency: it.currency,
          OpenAmount: fromCents(it.openAmount),
        };
      }),
      ReversePayment: writes('ReversePayment', (args) => {
        const it = this.item(args);
        const amount = this.amount(args, it);
        const postingId = this.post({
          kind: 'reversal',
          invoiceNumber: it.invoiceNumber,
          reference: String(args.OurReference),
          amount,
          currency: it.currency,
          paymentReference: String(args.PaymentReference),
        });
        it.openAmount += amount;
        it.changedAt = this.tick();
        return { PostingId: postingId, OpenAmount: fromCents(it.openAmount) };
      }),
      SetDunningLevel: writes('SetDunningLevel', (args) => {
        const it = this.item(args);
        const level = Number(args.DunningLevel);
        if (!Number.isInteger(level) || level < 0 || level > 9) {
          throw fault('Client.Validation', 'DunningLevel must be 0..9');
        }
        const postingId = this.post({
          kind: 'dunning_level',
          invoiceNumber: it.invoiceNumber,
          reference: String(args.OurReference),
          level,
        });
        it.dunningLevel = level;
        it.changedAt = this.tick();
        return { ChangeId: postingId };
      }),
    };
  }

  /** Applies a write once per OurReference; a repeated reference is a DuplicateReference fault. */
  private idempotent(args: Args, fn: (args: Args) => Record<string, unknown>): Record<string, unknown> {
    const reference = typeof args.OurReference === 'string' ? args.OurReference : '';
    if (reference === '') throw fault('Client.Validation', 'OurReference is required');
    const first = this.references.get(reference);
    if (first) {
      throw fault('Client.DuplicateReference', `Reference ${reference} was already posted as ${first}`, {
        DuplicateReferenceFault: { OurReference: reference, OriginalPostingId: first },
      });
    }
    return fn(args);
  }

  private post(p: Omit<Posting, 'postingId'>): string {
    const postingId = `P${String(4_000_000 + this.postings.length + 1)}`;
    this.postings.push({ postingId, ...p });
    this.references.set(p.reference, postingId);
    return postingId;
  }

  private item(args: Args): LedgerItem {
    const it = this.items.get(String(args.InvoiceNumber));
    if (!it) throw fault('Client.InvoiceUnknown', `Invoice ${String(args.InvoiceNumber)} does not exist`);
    return it;
  }

  private amount(args: Args, it: LedgerItem): number {
    if (args.Currency !== it.currency) {
      throw fault('Client.Validation', `Currency ${String(args.Currency)} differs from the invoice's ${it.currency}`);
    }
    const cents = toCents(String(args.Amount));
    if (cents === undefined) throw fault('Client.Validation', `Amount ${String(args.Amount)} is not a decimal`);
    return cents;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function textTypes(): Record<string, (t: string) => string> {
  const keep = (t: string) => t;
  return { int: keep, decimal: keep, boolean: keep, date: keep, dateTime: keep, long: keep, double: keep };
}
