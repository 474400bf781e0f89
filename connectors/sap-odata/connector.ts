/**
 * The sap-odata connector: S/4HANA OData V2 (DESIGN §5).
 *
 * - `pull` reads open customer items from API_OPLACCTGDOCITEMCUBE_SRV per company code, pages with `$top` and the
 *   key of the last row read (`$inlinecount=allpages`) and follows `d.__next` whenever the server sends it, joins
 *   each item with its customer from API_BUSINESS_PARTNER, and checkpoints by change date and key (see
 *   `OdataCheckpoint`).
 * - `clearedSince` lists items SAP has cleared since a checkpoint, so sync can close them.
 * - `writeBack` writes dunning levels to A_CustomerDunning (CSRF token + session cookies); postings are the
 *   sap-soap connector's job.
 * - `check` tests reachability, credentials and read permission on both services.
 */
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import type { WriteBackCommand, WriteBackResult } from '../../src/domain/write-back';
import type {
  HealthCheck,
  HealthReport,
  PullOptions,
  RawBatch,
  RawRecord,
  SourceConnector,
  WriteBackContext,
} from '../../src/sync/connector';
import { createSourcePolicy, type SourcePolicy } from '../../src/sync/resilience';
import { parseSapOdataConnectorConfig, type SapOdataConnectorConfig } from './config';
import { type CredentialKind, toSapError } from './errors';
import {
  afterKeyFilter,
  CLEARED_FIELDS,
  type ClearedItem,
  clearedFromWire,
  clearedItemsFilter,
  DUNNING_SET,
  type DunningKey,
  type DunningPatch,
  decodeCheckpoint,
  dunningPath,
  dunningUpToDate,
  encodeCheckpoint,
  ITEM_FIELDS,
  ITEM_KEY,
  ITEM_SET,
  type ItemRow,
  literal,
  maxDay,
  type OdataCheckpoint,
  openItemsFilter,
  PARTNER_EXPAND,
  PARTNER_SELECT,
  PARTNER_SET,
  type PartnerFields,
  type PartnerRow,
  partnerFields,
  type QueryOptions,
  queryString,
  recordOf,
  scrub,
  text,
  toWire,
  type V2Collection,
  v2DateToDay,
} from './transformers';

/** One structured line per external call (STYLE "Logs and secrets"). */
export interface SapOdataLogLine {
  connector: 'sap-odata';
  flow: string;
  method: string;
  path: string;
  status: number | string;
  ms: number;
  idempotencyKey?: string;
}

export interface SapOdataConnectorOptions {
  /** Shared resilience policy of the source; one is made from `config.resilience` when absent. */
  policy?: SourcePolicy;
  /** Receives one line per HTTP call; paths are scrubbed, no secrets. */
  log?: (line: SapOdataLogLine) => void;
  /** Name of the source for messages. @defaultValue 'sap-odata' */
  source?: string;
}

/** A batch of cleared items with the checkpoint that is valid once they are processed. */
export interface ClearedBatch {
  items: ClearedItem[];
  checkpoint: string;
}

interface SendOptions {
  headers?: Record<string, string>;
  data?: unknown;
  signal?: AbortSignal;
  flow: string;
  idempotencyKey?: string;
}

const JSON_HEADERS = { Accept: 'application/json' };

/** Pages `pull` reads and joins ahead of the one its caller is handling. */
const PREFETCH_PAGES = 2;

/** The customer fields of an item whose customer SAP does not know. */
const NO_PARTNER: PartnerFields = partnerFields(undefined);

export class SapOdataConnector implements SourceConnector {
  readonly kind = 'sap-odata';
  private readonly http: AxiosInstance;
  private readonly policy: SourcePolicy;
  private readonly cookies = new Map<string, string>();
  private csrfToken: string | undefined;
  /** The dunning write in progress per customer record: see {@link SapOdataConnector.oneAtATime}. */
  private readonly dunningWrites = new Map<string, Promise<unknown>>();
  private token: { value: string; expiresAt: number } | undefined;
  private readonly origin: string;

  /** Use {@link createSapOdataConnector} for options from config; this takes them validated. */
  constructor(
    readonly config: SapOdataConnectorConfig,
    private readonly opts: SapOdataConnectorOptions = {},
  ) {
    this.origin = new URL(config.baseUrl).origin;
    this.policy = opts.policy ?? createSourcePolicy(opts.source ?? 'sap-odata', config.resilience);
    this.http = axios.create({
      validateStatus: () => true,
      responseType: 'text',
      transformResponse: [(d) => d],
      maxRedirects: 0,
      timeout: config.resilience.timeoutMs ?? 30_000,
    });
  }

  private get credential(): CredentialKind {
    return this.config.auth.type === 'basic' ? 'basic' : 'oauth2';
  }

  // ---- transport ------------------------------------------------------------------------------------------------

  private async authorization(signal?: AbortSignal): Promise<string> {
    const a = this.config.auth;
    if (a.type === 'basic') return `Basic ${Buffer.from(`${a.user}:${a.password}`).toString('base64')}`;
    if (this.token && this.token.expiresAt > Date.now()) return `Bearer ${this.token.value}`;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (a.scope) form.set('scope', a.scope);
    const t0 = Date.now();
    let res: AxiosResponse<string>;
    try {
      res = await this.http.post(a.tokenUrl, form.toString(), {
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
          Authorization: `Basic ${Buffer.from(`${encodeURIComponent(a.clientId)}:${encodeURIComponent(a.clientSecret)}`).toString('base64')}`,
        },
        signal,
      });
    } catch (err) {
      this.logLine('token', 'POST', a.tokenUrl, errCode(err), t0);
      throw toSapError(failureOf(err), 'POST token', 'oauth2-token');
    }
    this.logLine('token', 'POST', a.tokenUrl, res.status, t0);
    const body = parseJson(res.data);
    if (res.status === 400 || res.status === 401) {
      const kind = body && typeof body === 'object' && 'error' in body ? String(body.error) : '';
      if (res.status === 401 || kind === 'invalid_client' || kind === 'unauthorized_client') {
        throw toSapError({ status: 401 }, 'POST token', 'oauth2-token');
      }
      throw new IntegrationError(`POST token: HTTP 400 ${kind || 'bad request'}`, 'auth.scope');
    }
    if (res.status !== 200 || !body || typeof body !== 'object' || !('access_token' in body)) {
      throw toSapError({ status: res.status === 200 ? 502 : res.status, body }, 'POST token', 'oauth2-token');
    }
    const b = body as { access_token: unknown; expires_in?: unknown };
    const ttl = Number(b.expires_in ?? 3600);
    this.token = { value: String(b.access_token), expiresAt: Date.now() + Math.max(0, ttl - 30) * 1000 };
    return `Bearer ${this.token.value}`;
  }

  /** One HTTP call with auth, session cookies and sap-client; a bearer token SAP rejects is renewed once. */
  private async send(method: string, url: string, o: SendOptions): Promise<AxiosResponse<string>> {
    if (new URL(url).origin !== this.origin) {
      throw new IntegrationError(`the server sent a link to another host (${new URL(url).origin}); not following it`);
    }
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = {
        ...JSON_HEADERS,
        ...o.headers,
        Authorization: await this.authorization(o.signal),
      };
      if (this.cookies.size) headers.Cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      const t0 = Date.now();
      let res: AxiosResponse<string>;
      try {
        res = await this.http.request({ method, url, headers, data: o.data, signal: o.signal });
      } catch (err) {
        this.logLine(o.flow, method, url, errCode(err), t0, o.idempotencyKey);
        if (o.signal?.aborted) throw o.signal.reason;
        throw toSapError(failureOf(err), `${method} ${setName(url)}`, this.credential, method !== 'GET');
      }
      this.logLine(o.flow, method, url, res.status, t0, o.idempotencyKey);
      this.keepCookies(res);
      if (res.status === 401 && this.config.auth.type === 'oauth2' && attempt === 0) {
        this.token = undefined;
        continue;
      }
      return res;
    }
  }

  private keepCookies(res: AxiosResponse): void {
    const set = res.headers['set-cookie'];
    for (const c of Array.isArray(set) ? set : []) {
      const [pair] = c.split(';');
      const i = pair?.indexOf('=') ?? -1;
      if (pair && i > 0) this.cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
  }

  private logLine(flow: string, method: string, url: string, status: number | string, t0: number, key?: string) {
    if (!this.opts.log) return;
    const u = new URL(url);
    const line: SapOdataLogLine = {
      connector: 'sap-odata',
      flow,
      method,
      path: scrub(`${u.pathname}${u.search}`),
      status,
      ms: Date.now() - t0,
    };
    if (key) line.idempotencyKey = key;
    this.opts.log(line);
  }

  /** GET returning JSON; any status but 200 is an error of the right tier. */
  private async getJson<T>(url: string, flow: string, signal?: AbortSignal): Promise<T> {
    const res = await this.send('GET', url, { signal, flow });
    if (res.status !== 200) {
      throw toSapError({ status: res.status, body: res.data }, `GET ${setName(url)}`, this.credential);
    }
    const body = parseJson(res.data);
    if (body === undefined) throw new ConnectorError(`GET ${setName(url)}: the answer is not JSON`, { code: 'PARSE' });
    return body as T;
  }

  private url(service: string, path: string, query?: string): string {
    const q = query ?? (this.config.sapClient ? `sap-client=${this.config.sapClient}` : '');
    return `${this.config.baseUrl}${service}/${path}${q ? `?${q}` : ''}`;
  }

  /**
   * Every row of a query: `$top`/`$skip` pages; within a page, `d.__next` links are followed (opaque, resolved
   * against the current URL) and our own `$skip` continues only after the server's chain ended. With `filterAfter`
   * the next page is not a `$skip` position but the rows after the last one read (keyset): rows cleared in SAP while
   * we page would otherwise shift later rows onto positions already read, and those rows would be missed.
   */
  private async *rows(
    service: string,
    set: string,
    q: QueryOptions,
    signal: AbortSignal,
    filterAfter?: (last: ItemRow) => string,
  ): AsyncGenerator<ItemRow[]> {
    const top = q.top ?? this.config.pageSize;
    let skip = 0;
    let filter = q.filter;
    for (;;) {
      let url: string | undefined = this.url(
        service,
        set,
        queryString({ ...q, filter, top, skip, inlinecount: true }, this.config.sapClient),
      );
      let got = 0;
      let count: number | undefined;
      let last: ItemRow | undefined;
      while (url) {
        signal.throwIfAborted();
        const current: string = url;
        const body = await this.policy.read((s) =>
          this.getJson<V2Collection<ItemRow>>(current, `read ${set}`, AbortSignal.any([s, signal])),
        );
        const results = body?.d?.results;
        if (!Array.isArray(results)) {
          throw new ConnectorError(`GET ${set}: no d.results in the answer`, { code: 'PARSE' });
        }
        if (body.d.__count !== undefined && count === undefined) count = Number(body.d.__count);
        got += results.length;
        if (results.length > 0) {
          last = results[results.length - 1];
          yield results;
        }
        url = body.d.__next ? new URL(body.d.__next, current).toString() : undefined;
      }
      if (got < top || (count !== undefined && Number.isFinite(count) && skip + got >= count)) return;
      if (filterAfter && last) filter = filterAfter(last);
      else skip += got;
    }
  }

  // ---- pull -----------------------------------------------------------------------------------------------------

  /**
   * Open items: a full read (= reconciliation) without `since`, else what changed since the checkpoint.
   *
   * Reads ahead: while the caller handles one batch (maps and stores it), the next {@link PREFETCH_PAGES} pages are
   * read and joined with their customers, one after the other (a page's records are built only after every lookup of
   * the pages before it has finished). Memory stays bounded by that many pages.
   */
  async *pull({ since, signal }: PullOptions): AsyncGenerator<RawBatch> {
    signal.throwIfAborted();
    const partners = new Map<string, PartnerFields | null>();
    const pages = this.scan('open', since, signal);
    let line = 0;
    let stopped = false;
    const step = async (): Promise<IteratorResult<RawBatch, undefined>> => {
      if (stopped) return { done: true, value: undefined };
      const r = await pages.next();
      if (r.done) return { done: true, value: undefined };
      const page = r.value;
      await this.loadPartners(page.rows, partners, signal);
      const records: RawRecord[] = new Array(page.rows.length);
      for (let i = 0; i < page.rows.length; i++) {
        const row = page.rows[i]!;
        const record = recordOf(row, partners.get(text(row.Customer)) ?? NO_PARTNER);
        records[i] = { record, file: ITEM_SET, line: ++line };
      }
      return { done: false, value: { records, checkpoint: page.checkpoint } };
    };
    const ahead: Promise<IteratorResult<RawBatch, undefined>>[] = [];
    let chain: Promise<unknown> = Promise.resolve();
    let ended = false;
    const fill = () => {
      while (!ended && ahead.length <= PREFETCH_PAGES) {
        const p = chain.then(step);
        p.then(
          (r) => {
            if (r.done) ended = true;
          },
          () => {
            ended = true;
          },
        );
        chain = p;
        ahead.push(p);
      }
    };
    try {
      for (;;) {
        fill();
        const r = await ahead.shift()!;
        if (r.done) return;
        yield r.value;
      }
    } finally {
      stopped = true;
      await Promise.allSettled(ahead);
      await pages.return(undefined);
    }
  }

  /** A full read of all open items: what `pull` does without `since`. Sync uses it to reconcile. */
  reconcile(signal: AbortSignal): AsyncGenerator<RawBatch> {
    return this.pull({ signal });
  }

  /**
   * Customer items SAP cleared since the checkpoint (by the clearing's entry date; without one: all cleared items),
   * in batches, each with the checkpoint to pass next time. Its checkpoints are separate from `pull`'s.
   */
  async *clearedSince(checkpoint: string | undefined, signal: AbortSignal): AsyncGenerator<ClearedBatch> {
    for await (const page of this.scan('cleared', checkpoint, signal)) {
      yield { items: page.rows.map(clearedFromWire), checkpoint: page.checkpoint };
    }
  }

  private async *scan(
    kind: OdataCheckpoint['kind'],
    since: string | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<{ rows: ItemRow[]; checkpoint: string }> {
    const codes = this.config.companyCodes;
    const prev = decodeCheckpoint(since, kind);
    const resume = prev?.run && codes[prev.run.cc] === prev.run.code ? prev.run : undefined;
    const from = resume ? resume.from : prev?.hw;
    let hw = resume ? resume.hw : prev?.hw;
    let after = resume?.after;
    // The same few dates repeat on many rows: convert each distinct `/Date(ms)/` once per page.
    const days = new Map<unknown, string | undefined>();
    const day = (v: unknown) => {
      if (v === null || v === undefined) return undefined;
      let d = days.get(v);
      if (d === undefined && !days.has(v)) {
        d = v2DateToDay(v);
        days.set(v, d);
      }
      return d;
    };
    for (let cc = resume?.cc ?? 0; cc < codes.length; cc++) {
      const code = codes[cc]!;
      const base = kind === 'open' ? openItemsFilter(code, from) : clearedItemsFilter(code, from);
      const filterAfter = (k: [string, string, string]) => `${base} and ${afterKeyFilter(k)}`;
      const select = kind === 'open' ? ITEM_FIELDS : CLEARED_FIELDS;
      for await (const rows of this.rows(
        this.config.services.items,
        ITEM_SET,
        { filter: after ? filterAfter(after) : base, select, orderby: ITEM_KEY },
        signal,
        (last) => filterAfter(keyAfter(last)),
      )) {
        days.clear();
        for (const r of rows) {
          hw =
            kind === 'open'
              ? maxDay(hw, maxDay(day(r.LastChangeDate), day(r.AccountingDocumentCreationDate)))
              : maxDay(hw, day(r.ClearingCreationDate));
        }
        after = keyAfter(rows[rows.length - 1]!);
        const run: NonNullable<OdataCheckpoint['run']> = { cc, code, after };
        if (from) run.from = from;
        if (hw) run.hw = hw;
        yield { rows, checkpoint: encodeCheckpoint({ v: 1, kind, run }) };
      }
      after = undefined;
    }
    const done: OdataCheckpoint = { v: 1, kind };
    const end = maxDay(hw, from);
    if (end) done.hw = end;
    yield { rows: [], checkpoint: encodeCheckpoint(done) };
  }

  /** Looks up the customers of `rows` not seen yet in this pull, a few requests in parallel. */
  private async loadPartners(rows: ItemRow[], cache: Map<string, PartnerFields | null>, signal: AbortSignal) {
    const wanted = [...new Set(rows.map((r) => text(r.Customer)).filter((c) => c && !cache.has(c)))];
    const size = this.config.customerBatchSize;
    const chunks: string[][] = [];
    for (let i = 0; i < wanted.length; i += size) chunks.push(wanted.slice(i, i + size));
    const work = async () => {
      for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
        for (const c of chunk) cache.set(c, null);
        const filter = chunk.map((c) => `BusinessPartner eq ${literal(c)}`).join(' or ');
        for await (const found of this.rows(
          this.config.services.partners,
          PARTNER_SET,
          { filter, select: PARTNER_SELECT, expand: PARTNER_EXPAND, top: size },
          signal,
        )) {
          for (const p of found as unknown[] as PartnerRow[]) cache.set(p.BusinessPartner, partnerFields(p));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.customerConcurrency, chunks.length) }, work));
  }

  // ---- write-back -----------------------------------------------------------------------------------------------

  async writeBack(command: WriteBackCommand, ctx: WriteBackContext): Promise<WriteBackResult> {
    switch (command.kind) {
      case 'payment':
      case 'reversal':
        throw new IntegrationError(
          `sap-odata does not post ${command.kind}s: postings go through the sap-soap connector (Journal Entry Post); route ${command.kind} commands of this source there`,
          'kind',
        );
      case 'dunning_level':
        return this.writeDunning(command, ctx);
      default: {
        const never: never = command;
        throw new IntegrationError(`unknown write-back command ${JSON.stringify(never)}`, 'kind');
      }
    }
  }

  /**
   * PATCH A_CustomerDunning. PATCH is idempotent: writing the same level and date again changes nothing. We read
   * the record first and report `duplicate` (without writing) when SAP already holds the values, so a retry after a
   * timeout whose PATCH did arrive writes nothing a second time, or a higher level of the same date, so the items of
   * one notice leave the customer at the highest of their levels in any order.
   */
  private async writeDunning(
    command: Extract<WriteBackCommand, { kind: 'dunning_level' }>,
    ctx: WriteBackContext,
  ): Promise<WriteBackResult> {
    const block =
      'dunningBlock' in command && typeof command.dunningBlock === 'string' ? command.dunningBlock : undefined;
    const { key, body } = toWire(command, this.config.dunningArea, block);
    const ref = `${DUNNING_SET}(${key.Customer},${key.CompanyCode},${key.DunningArea || "''"})`;
    return this.oneAtATime(ref, () => this.patchDunning(key, body, ref, ctx));
  }

  /**
   * Runs the dunning writes of one customer record one after the other in this process. Each reads the record before
   * it decides, and A_CustomerDunning has no ETag: two items of a notice written at once by the write-back worker's
   * parallel jobs would both read the old level, and the lower one could land last. (Worker processes on several
   * machines can still race; one worker process per tenant keeps the highest level.)
   */
  private oneAtATime<T>(record: string, write: () => Promise<T>): Promise<T> {
    const before = this.dunningWrites.get(record) ?? Promise.resolve();
    const run = before.then(write, write);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.dunningWrites.set(record, settled);
    void settled.then(() => {
      if (this.dunningWrites.get(record) === settled) this.dunningWrites.delete(record);
    });
    return run;
  }

  private async patchDunning(
    key: DunningKey,
    body: DunningPatch,
    ref: string,
    ctx: WriteBackContext,
  ): Promise<WriteBackResult> {
    const path = dunningPath(key);
    const url = this.url(this.config.services.partners, path);
    const current = await this.policy.read(async (signal) => {
      const res = await this.send('GET', url, { signal, flow: 'dunning', idempotencyKey: ctx.idempotencyKey });
      if (res.status === 404) {
        throw new IntegrationError(
          `SAP has no dunning data for customer ${key.Customer} in company code ${key.CompanyCode}, dunning area "${key.DunningArea}" (check the customer's company data and options.dunningArea)`,
          'dunningArea',
        );
      }
      if (res.status !== 200)
        throw toSapError({ status: res.status, body: res.data }, `GET ${DUNNING_SET}`, this.credential);
      const b = parseJson(res.data) as { d?: Record<string, unknown> } | undefined;
      return b?.d ?? {};
    });
    if (dunningUpToDate(current, body)) return { status: 'duplicate', sourceReference: ref };

    await this.policy.write(async (signal) => {
      let res = await this.patch(url, body, signal, ctx.idempotencyKey, false);
      if (res.status === 403 && String(res.headers['x-csrf-token'] ?? '').toLowerCase() === 'required') {
        res = await this.patch(url, body, signal, ctx.idempotencyKey, true);
      }
      if (res.status !== 204 && res.status !== 200) {
        throw toSapError({ status: res.status, body: res.data }, `PATCH ${DUNNING_SET}`, this.credential, true);
      }
    });
    return { status: 'delivered', sourceReference: ref };
  }

  private async patch(url: string, body: unknown, signal: AbortSignal, key: string, refetch: boolean) {
    if (refetch || !this.csrfToken) await this.fetchCsrfToken(signal);
    return this.send('PATCH', url, {
      signal,
      flow: 'dunning',
      idempotencyKey: key,
      data: JSON.stringify(body),
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': this.csrfToken ?? '' },
    });
  }

  /** `X-CSRF-Token: Fetch` on the service root; the token is bound to the session cookies kept in the jar. */
  private async fetchCsrfToken(signal: AbortSignal): Promise<void> {
    this.csrfToken = undefined;
    const res = await this.send('GET', this.url(this.config.services.partners, ''), {
      signal,
      flow: 'csrf',
      headers: { 'X-CSRF-Token': 'Fetch' },
    });
    const token = res.headers['x-csrf-token'];
    if (res.status !== 200 || typeof token !== 'string' || token === '' || token.toLowerCase() === 'required') {
      if (res.status !== 200)
        throw toSapError({ status: res.status, body: res.data }, 'GET CSRF token', this.credential);
      throw new ConnectorError('GET CSRF token: SAP sent no x-csrf-token', { code: 'CSRF' });
    }
    this.csrfToken = token;
  }

  // ---- health ---------------------------------------------------------------------------------------------------

  async check(): Promise<HealthReport> {
    const checks: HealthCheck[] = [];
    const timeout = () => AbortSignal.timeout(this.config.resilience.timeoutMs ?? 30_000);
    const metadata = this.url(this.config.services.items, '$metadata');
    let reachable = false;
    try {
      const res = await this.send('GET', metadata, { flow: 'check', signal: timeout() });
      reachable = true;
      checks.push({ name: 'reachable', ok: true, detail: `${this.config.baseUrl}: HTTP ${res.status}` });
      if (res.status === 200) {
        checks.push({
          name: 'auth',
          ok: true,
          detail: `${this.credential === 'basic' ? 'user' : 'OAuth client'} accepted`,
        });
      } else {
        checks.push({
          name: 'auth',
          ok: false,
          detail: toSapError({ status: res.status, body: res.data }, 'GET $metadata', this.credential).message,
        });
      }
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (err instanceof IntegrationError && this.credential === 'oauth2') {
        reachable = true;
        checks.push({ name: 'reachable', ok: true, detail: `${this.config.baseUrl}: token endpoint answered` });
        checks.push({ name: 'auth', ok: false, detail: msg });
      } else {
        checks.push({ name: 'reachable', ok: false, detail: msg });
      }
    }
    if (reachable && checks.every((c) => c.ok)) {
      const probes: [string, string, string][] = [
        [
          this.config.services.items,
          ITEM_SET,
          queryString(
            { filter: openItemsFilter(this.config.companyCodes[0]!), select: ['CompanyCode'], top: 1 },
            this.config.sapClient,
          ),
        ],
        [
          this.config.services.partners,
          PARTNER_SET,
          queryString({ filter: "BusinessPartner ne ''", select: ['BusinessPartner'], top: 1 }, this.config.sapClient),
        ],
      ];
      for (const [service, set, q] of probes) {
        try {
          await this.getJson(this.url(service, set, q), 'check', timeout());
          checks.push({ name: `read ${set}`, ok: true, detail: 'readable' });
        } catch (err) {
          checks.push({ name: `read ${set}`, ok: false, detail: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    return { ok: checks.every((c) => c.ok), checks };
  }
}

/**
 * Creates a sap-odata connector from options as a tenant config holds them (secrets already resolved from
 * `${env:…}`).
 * @throws IntegrationError when an option is wrong.
 */
export function createSapOdataConnector(options: unknown, opts: SapOdataConnectorOptions = {}): SapOdataConnector {
  return new SapOdataConnector(parseSapOdataConnectorConfig(options), opts);
}

function parseJson(s: unknown): unknown {
  if (typeof s !== 'string') return s;
  if (s === '') return undefined;
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

function errCode(err: unknown): string {
  return err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : 'ERROR';
}

function failureOf(err: unknown) {
  return { code: errCode(err), message: err instanceof Error ? err.message : String(err) };
}

/** FiscalYear, AccountingDocument, AccountingDocumentItem of a row: where the next page or a resume starts after. */
function keyAfter(row: ItemRow): [string, string, string] {
  return [text(row.FiscalYear), text(row.AccountingDocument), text(row.AccountingDocumentItem)];
}

/** The entity set (or `$metadata`) a URL addresses, for messages. */
function setName(url: string): string {
  const p = new URL(url).pathname;
  return decodeURIComponent(p.slice(p.lastIndexOf('/') + 1)).replace(/\(.*$/, '') || 'service root';
}
