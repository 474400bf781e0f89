/**
 * A simulated SAP Gateway for the sap-odata connector: SAP's own OData mock server (`@sap-ux/fe-mockserver-core`,
 * in-process, serving our reduced EDMX files in test/fixtures/sap-odata) behind a thin HTTP layer that adds what a
 * real Gateway does and the mock does not (NOTES.md §5): Basic auth and OAuth client-credential bearer tokens,
 * session cookies with CSRF tokens (403 `x-csrf-token: Required`), 405 on writes to read-only sets, server-driven
 * paging (`d.__next` with `$skiptoken`), `__count` as a string and only on `$inlinecount=allpages`, 204 on PATCH —
 * plus fault injection and data helpers for tests. No Jest here: the benchmark uses it too.
 *
 * For the benchmark, `generated` makes this layer answer item and partner reads itself from computed rows: the mock
 * server deep-clones its whole data set on every request, which at 200,000 rows would measure the mock, not us.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import FEMockserver from '@sap-ux/fe-mockserver-core';
import {
  addDays,
  dunningRow,
  generatedItem,
  generatedPartner,
  ITEMS_SERVICE,
  itemRow,
  PARTNERS_SERVICE,
  partnerRows,
  READ_ONLY_SETS,
  type Row,
  type SimItem,
  type SimPartner,
  v2,
} from './data';

export * from './data';

/** test/fixtures/sap-odata of the repository, also when running compiled from dist/. */
const FIXTURES = (() => {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'test/fixtures/sap-odata');
  }
  return resolve(__dirname, '../../fixtures/sap-odata');
})();
const ITEM_SETS = ['A_OperationalAcctgDocItemCube'];
const PARTNER_SETS = [
  'A_BusinessPartner',
  'A_BusinessPartnerAddress',
  'A_AddressEmailAddress',
  'A_AddressPhoneNumber',
  'A_CustomerDunning',
];

export interface SapGatewayOptions {
  /** Basic-auth users. @defaultValue [{ user: 'CLEARHUB', password: 'initial-Pw1' }] */
  users?: { user: string; password: string }[];
  /** OAuth client accepted by `/oauth/token`. @defaultValue { clientId: 'clearhub', clientSecret: 'oauth-Secret1' } */
  oauthClient?: { clientId: string; clientSecret: string };
  /** Server-driven page size: longer answers are cut and get a `d.__next` link. Unset: no server paging. */
  pageSize?: number;
  /** How `__next` links are written. @defaultValue 'absolute' */
  nextLinks?: 'absolute' | 'relative';
  /** Entity sets the users may not read (403). */
  forbidden?: string[];
  /** The simulated system date. @defaultValue '2026-11-02' */
  today?: string;
  /** Bench mode: answer item and partner reads from computed rows. */
  generated?: { items: number; customers: number; companyCode: string };
}

export interface AppliedWrite {
  method: string;
  set: string;
  /** The key predicate as sent, e.g. `Customer='10100001',CompanyCode='1010',DunningArea=''`. */
  key: string;
  body: Record<string, unknown>;
}

interface LiveSet {
  getAllEntries(req: unknown, dontClone: boolean): Promise<Row[]>;
  createKeyIndex(): void;
}

/** Starts the simulated Gateway on 127.0.0.1, port 0. */
export async function startSapGateway(opts: SapGatewayOptions = {}): Promise<SapGateway> {
  const g = new SapGateway(opts);
  await g.start();
  return g;
}

export class SapGateway {
  url = '';
  private readonly dir = mkdtempSync(join(tmpdir(), 'clearhub-sapgw-'));
  private mock!: FEMockserver;
  private inner!: Server;
  private outer!: Server;
  private innerPort = 0;
  private readonly sessions = new Map<string, { csrf?: string }>();
  private readonly tokens = new Set<string>();
  private day: string;
  private dataRequests = 0;
  private faults = new Map<number, '503' | 'drop'>();
  private hangNextWrite = false;
  private readonly hanging = new Set<ServerResponse>();
  /** Writes the system applied, in order. */
  readonly writes: AppliedWrite[] = [];
  /** Every request as it arrived (method, path and query), for assertions on what the connector sent. */
  readonly requests: { method: string; path: string; query: URLSearchParams; headers: IncomingMessage['headers'] }[] =
    [];

  constructor(private readonly opts: SapGatewayOptions) {
    this.day = opts.today ?? '2026-11-02';
  }

  get tokenUrl(): string {
    return `${this.url}/oauth/token`;
  }

  async start(): Promise<void> {
    const data = join(this.dir, 'data');
    mkdirSync(data);
    for (const s of [...ITEM_SETS, ...PARTNER_SETS]) writeFileSync(join(data, `${s}.json`), '[]');
    this.mock = new FEMockserver({
      services: [
        {
          urlPath: ITEMS_SERVICE,
          metadataPath: join(FIXTURES, 'API_OPLACCTGDOCITEMCUBE_SRV.edmx'),
          mockdataPath: data,
          generateMockData: false,
          forceNullableValuesToNull: true,
          noETag: true,
        },
        {
          urlPath: PARTNERS_SERVICE,
          metadataPath: join(FIXTURES, 'API_BUSINESS_PARTNER.edmx'),
          mockdataPath: data,
          generateMockData: false,
          forceNullableValuesToNull: true,
          noETag: true,
        },
      ],
    } as ConstructorParameters<typeof FEMockserver>[0]);
    await this.mock.isReady;
    const router = this.mock.getRouter();
    this.inner = createServer((q, s) =>
      router(q as never, s as never, () => {
        s.statusCode = 404;
        s.end();
      }),
    );
    this.innerPort = await listen(this.inner);
    this.outer = createServer((q, s) => {
      this.handle(q, s).catch((err) => {
        if (!s.headersSent) sendJson(s, 500, sapError('SIM/500', String(err)));
        else s.destroy();
      });
    });
    this.outer.keepAliveTimeout = 5000;
    this.url = `http://127.0.0.1:${await listen(this.outer)}`;
  }

  async close(): Promise<void> {
    for (const r of this.hanging) r.destroy();
    await new Promise<void>((r) => this.outer.close(() => r()));
    this.outer.closeAllConnections();
    await new Promise<void>((r) => this.inner.close(() => r()));
    this.inner.closeAllConnections();
    await this.mock.dispose();
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- data helpers -----------------------------------------------------------------------------------------------

  today(): string {
    return this.day;
  }

  /** Moves the system date on (LastChangeDate of later touches follows it). */
  advanceDays(n: number): string {
    this.day = addDays(this.day, n);
    return this.day;
  }

  private async live(service: string, set: string): Promise<LiveSet> {
    const da = this.mock.getServiceRegistry().getService(service);
    const ei = await da?.getCrossServiceEntityInterface(service, set);
    if (!ei) throw new Error(`simulator: no entity set ${set}`);
    return ei as unknown as LiveSet;
  }

  private async rowsOf(service: string, set: string): Promise<Row[]> {
    return (await this.live(service, set)).getAllEntries(undefined, true);
  }

  private async add(service: string, set: string, rows: Row[]): Promise<void> {
    const s = await this.live(service, set);
    (await s.getAllEntries(undefined, true)).push(...rows);
    s.createKeyIndex();
  }

  async seedItems(items: SimItem[]): Promise<void> {
    await this.add(
      ITEMS_SERVICE,
      'A_OperationalAcctgDocItemCube',
      items.map((i) => itemRow(i, this.day)),
    );
  }

  /** Customers with their address, e-mail, phone and an A_CustomerDunning record per company code. */
  async seedPartners(partners: SimPartner[], companyCodes = ['1010']): Promise<void> {
    const rows = partners.map(partnerRows);
    await this.add(
      PARTNERS_SERVICE,
      'A_BusinessPartner',
      rows.map((r) => r.bp),
    );
    await this.add(
      PARTNERS_SERVICE,
      'A_BusinessPartnerAddress',
      rows.map((r) => r.address),
    );
    await this.add(
      PARTNERS_SERVICE,
      'A_AddressEmailAddress',
      rows.flatMap((r) => (r.email ? [r.email] : [])),
    );
    await this.add(
      PARTNERS_SERVICE,
      'A_AddressPhoneNumber',
      rows.flatMap((r) => (r.phone ? [r.phone] : [])),
    );
    await this.add(
      PARTNERS_SERVICE,
      'A_CustomerDunning',
      partners.flatMap((p) => companyCodes.map((cc) => dunningRow(p.id, cc))),
    );
  }

  async items(): Promise<Row[]> {
    return this.rowsOf(ITEMS_SERVICE, 'A_OperationalAcctgDocItemCube');
  }

  async dunning(): Promise<Row[]> {
    return this.rowsOf(PARTNERS_SERVICE, 'A_CustomerDunning');
  }

  private async item(document: string, item = '001'): Promise<Row> {
    const row = (await this.items()).find(
      (r) => r.AccountingDocument === document && r.AccountingDocumentItem === item,
    );
    if (!row) throw new Error(`simulator: no item ${document}/${item}`);
    return row;
  }

  /** Changes an item as a user in SAP would: the fields given, and LastChangeDate = today. */
  async touchItem(document: string, changes: Partial<Row> = {}): Promise<void> {
    Object.assign(await this.item(document), changes, { LastChangeDate: v2(this.day) });
  }

  /** Clears an item (a payment was applied in SAP): IsCleared, clearing document, clearing dates = today. */
  async clearItem(document: string, clearingDocument = `14${document.slice(2)}`): Promise<void> {
    Object.assign(await this.item(document), {
      IsCleared: true,
      ClearingAccountingDocument: clearingDocument,
      ClearingDocFiscalYear: this.day.slice(0, 4),
      ClearingDate: v2(this.day),
      ClearingCreationDate: v2(this.day),
    });
  }

  // ---- faults -----------------------------------------------------------------------------------------------------

  /** The `nth` data request from now on (1 = the next) fails once: HTTP 503 or a dropped connection. */
  failOnRequest(nth: number, how: '503' | 'drop' = '503'): void {
    this.faults.set(this.dataRequests + nth, how);
  }

  /** The next write is applied, but its answer never comes (the connection is held until the client gives up). */
  timeoutAfterApplyingNextWrite(): void {
    this.hangNextWrite = true;
  }

  /** Invalidates every CSRF token (as a Gateway does when its security session ends). */
  expireCsrfTokens(): void {
    for (const s of this.sessions.values()) s.csrf = undefined;
  }

  // ---- the Gateway layer ------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://sim');
    const method = (req.method ?? 'GET').toUpperCase();
    const body = await readBody(req);
    this.requests.push({ method, path: u.pathname, query: u.searchParams, headers: req.headers });

    if (u.pathname === '/oauth/token') return this.token(req, res, body);

    if (!this.authenticated(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="SAP NetWeaver Application Server [S4H/100]"');
      return sendText(res, 401, 'Logon failed');
    }

    // Session: SAP sets SAP_SESSIONID_<SID>_<client> and a sap-XSRF cookie; the CSRF token is bound to them.
    const cookies = parseCookies(req.headers.cookie);
    let sid = cookies.SAP_SESSIONID_S4H_100;
    if (!sid || !this.sessions.has(sid)) {
      sid = randomBytes(12).toString('hex');
      this.sessions.set(sid, {});
      res.setHeader('Set-Cookie', [
        `SAP_SESSIONID_S4H_100=${sid}; path=/; HttpOnly`,
        `sap-usercontext=sap-client=100; path=/`,
      ]);
    }
    const session = this.sessions.get(sid)!;

    const service = u.pathname.startsWith(`${ITEMS_SERVICE}/`)
      ? ITEMS_SERVICE
      : u.pathname.startsWith(`${PARTNERS_SERVICE}/`)
        ? PARTNERS_SERVICE
        : u.pathname === ITEMS_SERVICE || u.pathname === PARTNERS_SERVICE
          ? u.pathname
          : undefined;
    if (!service)
      return sendJson(res, 404, sapError('/IWFND/MED/170', `No service found for namespace '', name '${u.pathname}'`));
    const rest = decodeURIComponent(u.pathname.slice(service.length + 1));
    const set = rest.replace(/\(.*$/, '').replace(/\/.*$/, '');

    if (String(req.headers['x-csrf-token'] ?? '').toLowerCase() === 'fetch') {
      session.csrf = randomBytes(16).toString('base64');
      res.setHeader('x-csrf-token', session.csrf);
    }

    const write = method !== 'GET' && method !== 'HEAD';
    if (write) {
      if (READ_ONLY_SETS.has(set)) {
        return sendJson(
          res,
          405,
          sapError('/IWBEP/CM_MGW_RT/021', `Method '${method}' not allowed for entity set '${set}'`),
        );
      }
      const sent = req.headers['x-csrf-token'];
      if (!session.csrf || sent !== session.csrf) {
        res.setHeader('x-csrf-token', 'Required');
        return sendText(res, 403, 'CSRF token validation failed');
      }
    }

    const isData = set !== '' && set !== '$metadata';
    if (isData && method === 'GET' && this.opts.forbidden?.includes(set)) {
      return sendJson(res, 403, sapError('/IWBEP/CM_MGW_RT/022', `No authorization to access entity set ${set}`));
    }
    if (isData) {
      const n = ++this.dataRequests;
      const fault = this.faults.get(n);
      if (fault) {
        this.faults.delete(n);
        if (fault === 'drop') {
          req.socket.destroy();
          return;
        }
        return sendJson(res, 503, sapError('/IWFND/CM_BEC/026', 'Service temporarily unavailable'));
      }
    }

    if (
      method === 'GET' &&
      this.opts.generated &&
      (set === 'A_OperationalAcctgDocItemCube' || set === 'A_BusinessPartner')
    ) {
      return this.generatedRead(u, set, res);
    }

    // Server-driven paging: translate our skiptoken into the mock's $skip/$top and cut long answers.
    const q = new URLSearchParams(u.search);
    q.delete('sap-client');
    const collection = method === 'GET' && isData && !rest.includes('(');
    let page: Paging | undefined;
    if (collection) {
      page = paging(u.searchParams, this.opts.pageSize);
      q.delete('$skiptoken');
      q.set('$skip', String(page.offset));
      if (page.ask !== undefined) q.set('$top', String(page.ask));
      q.delete('$inlinecount');
    }
    const upstream = await this.forward(method, `${u.pathname}?${q.toString()}`, req.headers, body);

    if (write && upstream.status < 300) {
      this.writes.push({
        method,
        set,
        key: /\((.*)\)/.exec(rest)?.[1] ?? '',
        body: body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {},
      });
      if (this.hangNextWrite) {
        this.hangNextWrite = false;
        this.hanging.add(res);
        res.on('close', () => this.hanging.delete(res));
        return; // applied, never answered
      }
    }
    if (write && (method === 'PATCH' || method === 'MERGE' || method === 'PUT') && upstream.status < 300) {
      res.writeHead(204, { dataserviceversion: '2.0' });
      return void res.end();
    }
    if (collection && upstream.status === 200 && page) {
      const json = JSON.parse(upstream.body) as {
        d: { results: unknown[]; __count?: number | string; __next?: string };
      };
      const total = Number(json.d.__count ?? 0);
      this.finishPage(json.d, u, page, total, json.d.results.length);
      return sendJson(res, 200, json);
    }
    res.writeHead(upstream.status, upstream.headers);
    res.end(upstream.body);
  }

  /** `__count` as a string, only when asked for; `__next` when the server cut the answer. */
  private finishPage(
    d: { results: unknown[]; __count?: number | string; __next?: string },
    u: URL,
    page: Paging,
    total: number,
    got: number,
  ): void {
    if (u.searchParams.get('$inlinecount') === 'allpages') d.__count = String(total);
    else delete d.__count;
    const remaining = page.want === undefined ? undefined : page.want - got;
    if (page.cut && got === page.ask && page.offset + got < total && (remaining === undefined || remaining > 0)) {
      const next = new URLSearchParams(u.search);
      next.delete('$skip');
      next.delete('$top');
      next.delete('$skiptoken');
      next.set('$skiptoken', encodeToken(page.offset + got, remaining));
      const link = `${u.pathname}?${next.toString()}`;
      d.__next =
        this.opts.nextLinks === 'relative'
          ? `${u.pathname.slice(u.pathname.lastIndexOf('/') + 1)}?${next.toString()}`
          : `${this.url}${link}`;
    }
  }

  private generatedRead(u: URL, set: string, res: ServerResponse): void {
    const gen = this.opts.generated!;
    if (set === 'A_BusinessPartner') {
      const ids = [...(u.searchParams.get('$filter') ?? '').matchAll(/BusinessPartner eq '([^']*)'/g)].map(
        (m) => m[1]!,
      );
      const results = ids
        .filter((id) => Number(id) - 10_000_000 < gen.customers)
        .map((id) => ({
          ...generatedPartner(id),
          __metadata: meta(
            this.url,
            PARTNERS_SERVICE,
            'A_BusinessPartner',
            `'${id}'`,
            'API_BUSINESS_PARTNER.A_BusinessPartnerType',
          ),
        }));
      const d: { results: unknown[]; __count?: string } = { results };
      if (u.searchParams.get('$inlinecount') === 'allpages') d.__count = String(results.length);
      sendJson(res, 200, { d });
      return;
    }
    const page = paging(u.searchParams, this.opts.pageSize);
    // A client paging by key asks for the rows after the last document it read (item i is document 9000000000 + i).
    const after = /AccountingDocument gt '(\d+)'/.exec(u.searchParams.get('$filter') ?? '');
    const first = after ? Math.min(gen.items, Number(after[1]) - 9_000_000_000 + 1) : 0;
    const end = Math.min(gen.items, first + page.offset + (page.ask ?? gen.items));
    const results: unknown[] = [];
    for (let i = first + page.offset; i < end; i++) {
      // The computed row is fresh: add its metadata in place rather than copying 23 fields per row.
      const r: Record<string, unknown> = generatedItem(i, gen.customers, gen.companyCode);
      r.__metadata = meta(
        this.url,
        ITEMS_SERVICE,
        'A_OperationalAcctgDocItemCube',
        `CompanyCode='${r.CompanyCode}',FiscalYear='2026',AccountingDocument='${r.AccountingDocument}',AccountingDocumentItem='001'`,
        'API_OPLACCTGDOCITEMCUBE_SRV.A_OperationalAcctgDocItemCubeType',
      );
      results.push(r);
    }
    const d: { results: unknown[]; __count?: string | number; __next?: string } = { results };
    this.finishPage(d, u, page, gen.items - first, results.length);
    sendJson(res, 200, { d });
  }

  private token(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const client = this.opts.oauthClient ?? { clientId: 'clearhub', clientSecret: 'oauth-Secret1' };
    const form = new URLSearchParams(body.toString('utf8'));
    const basic = basicCredentials(req.headers.authorization, true);
    const id = basic?.[0] ?? form.get('client_id');
    const secret = basic?.[1] ?? form.get('client_secret');
    if (req.method !== 'POST' || form.get('grant_type') !== 'client_credentials') {
      sendJson(res, 400, { error: 'unsupported_grant_type' });
      return;
    }
    if (id !== client.clientId || secret !== client.clientSecret) {
      sendJson(res, 401, { error: 'invalid_client', error_description: 'Bad client credentials' });
      return;
    }
    const token = randomBytes(24).toString('base64url');
    this.tokens.add(token);
    sendJson(res, 200, {
      access_token: token,
      token_type: 'bearer',
      expires_in: 43199,
      scope: form.get('scope') ?? '',
    });
  }

  /** Revokes every issued OAuth token (the next data call gets 401 and must fetch a new one). */
  revokeTokens(): void {
    this.tokens.clear();
  }

  private authenticated(header: string | undefined): boolean {
    if (!header) return false;
    if (header.startsWith('Bearer ')) return this.tokens.has(header.slice(7));
    const c = basicCredentials(header);
    const users = this.opts.users ?? [{ user: 'CLEARHUB', password: 'initial-Pw1' }];
    return !!c && users.some((u) => u.user === c[0] && u.password === c[1]);
  }

  private forward(
    method: string,
    path: string,
    headers: IncomingMessage['headers'],
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    return new Promise((resolveP, reject) => {
      const h: Record<string, string> = { accept: 'application/json' };
      if (headers['content-type']) h['content-type'] = String(headers['content-type']);
      if (body.length) h['content-length'] = String(body.length);
      const r = request({ host: '127.0.0.1', port: this.innerPort, method, path, headers: h }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const out: Record<string, string> = {};
          for (const k of ['content-type', 'dataserviceversion']) {
            const v = up.headers[k];
            if (typeof v === 'string') out[k] = v;
          }
          resolveP({ status: up.statusCode ?? 500, headers: out, body: Buffer.concat(chunks).toString('utf8') });
        });
        up.on('error', reject);
      });
      r.on('error', reject);
      r.end(body);
    });
  }
}

interface Paging {
  /** Absolute offset of this answer. */
  offset: number;
  /** Rows the client still wants (its $top), undefined = all. */
  want?: number;
  /** Rows asked of the mock for this answer. */
  ask?: number;
  /** Whether the server cut the answer below what the client wanted. */
  cut: boolean;
}

function paging(q: URLSearchParams, pageSize: number | undefined): Paging {
  const token = q.get('$skiptoken');
  let offset = Number(q.get('$skip') ?? 0);
  let want = q.has('$top') ? Number(q.get('$top')) : undefined;
  if (token) {
    const t = decodeToken(token);
    offset = t.offset;
    want = t.remaining;
  }
  if (pageSize === undefined) return { offset, want, ask: want, cut: false };
  const ask = want === undefined ? pageSize : Math.min(want, pageSize);
  return { offset, want, ask, cut: want === undefined || want > pageSize };
}

function encodeToken(offset: number, remaining: number | undefined): string {
  return Buffer.from(JSON.stringify([offset, remaining ?? null])).toString('base64url');
}

function decodeToken(t: string): { offset: number; remaining?: number } {
  const [offset, remaining] = JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) as [number, number | null];
  return remaining === null ? { offset } : { offset, remaining };
}

function meta(origin: string, service: string, set: string, key: string, type: string) {
  const uri = `${origin}${service}/${set}(${key})`;
  return { id: uri, uri, type };
}

function sapError(code: string, message: string) {
  return {
    error: { code, message: { lang: 'en', value: message }, innererror: { application: {}, errordetails: [] } },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', dataserviceversion: '2.0' });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

/** user:password of a Basic header; OAuth clients form-encode both parts (RFC 6749 §2.3.1), Basic users do not. */
function basicCredentials(header: string | undefined, formEncoded = false): [string, string] | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const s = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const i = s.indexOf(':');
  const dec = formEncoded ? decodeURIComponent : (x: string) => x;
  return i < 0 ? undefined : [dec(s.slice(0, i)), dec(s.slice(i + 1))];
}

function parseCookies(h: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (h ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveP, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolveP(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(s: Server): Promise<number> {
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
}
