/**
 * The sap-soap connector: payment and reversal postings to SAP S/4HANA through the synchronous service
 * `JournalEntryCreateRequestConfirmation_In` (DESIGN §5). Write-only: items are read by sap-odata or sap-rfc.
 *
 * - `writeBack` builds one journal entry per command (bank clearing G/L line and customer line carrying the
 *   invoice's assignment and reference), posts it with message ids and document reference derived from the
 *   idempotency key, and reads SAP's confirmation Log.
 * - `check` loads the WSDL and calls the endpoint's `?wsdl` with the configured credentials; it posts nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { TaskCancelledError } from 'cockatiel';
import { type Client, createClientAsync } from 'soap';
import { ConnectorError, IntegrationError, IntegrityError } from '../../src/domain/errors';
import type { WriteBackCommand, WriteBackResult } from '../../src/domain/write-back';
import type {
  HealthCheck,
  HealthReport,
  PullOptions,
  RawBatch,
  SourceConnector,
  WriteBackContext,
} from '../../src/sync/connector';
import { createSourcePolicy, type SourcePolicy } from '../../src/sync/resilience';
import { parseSapSoapConnectorConfig, type SapSoapConnectorConfig } from './config';
import { classifyErrorLog, httpError, transportError } from './errors';
import {
  type ConfirmationWire,
  documentKey,
  envelope,
  fromWire,
  hasDocument,
  type JournalEntryWire,
  type LogItemWire,
  OPERATION,
  SOAP_ACTION,
  scrub,
  toJournalEntry,
  toWire,
} from './transformers';

const WSDL_FILE = 'journal-entry-create.wsdl';

/** The bundled reduced WSDL: beside this file when run from source, in the source tree when run from dist/. */
export function bundledWsdlPath(): string {
  const candidates = [
    join(__dirname, 'wsdl', WSDL_FILE),
    join(__dirname, '..', '..', '..', 'connectors', 'sap-soap', 'wsdl', WSDL_FILE),
  ];
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

/** A document SAP already holds for a reference (what the optional pre-check lookup returns). */
export interface PostedDocument {
  companyCode: string;
  fiscalYear: string;
  accountingDocument: string;
}

/** Wiring from code (the registry), not from YAML. */
export interface SapSoapHooks {
  /**
   * Looks up a journal entry by `DocumentReferenceID` in a company code, e.g. through sap-odata
   * (`A_OperationalAcctgDocItemCube?$filter=CompanyCode eq '…' and DocumentReferenceID eq '…'`). Required when
   * `precheckReference` is on.
   */
  findPosted?: (ref: { companyCode: string; documentReferenceId: string }) => Promise<PostedDocument | undefined>;
  /** Clock, for tests. @defaultValue () => new Date() */
  now?: () => Date;
}

/** {@link WriteBackResult} plus what the outbox keeps for the audit trail (it stores the whole result as JSON). */
export interface SapSoapWriteBackResult extends WriteBackResult {
  /** `companyCode|fiscalYear|accountingDocument` of the posted (or earlier posted) document, when SAP named it. */
  sourceReference?: string;
  /** The XBLNR we sent: the same on every retry of one outbox entry. */
  documentReferenceId: string;
  /** MessageHeader UUID we sent. */
  messageUuid: string;
  /** Notes of warnings (severity 2) SAP posted with. */
  warnings: string[];
  /** SAP's Log items as received. */
  log: LogItemWire[];
}

export class SapSoapConnector implements SourceConnector {
  readonly kind = 'sap-soap';
  private readonly policy: SourcePolicy;
  private readonly wsdlPath: string;
  private readonly now: () => Date;
  private client?: Promise<Client>;
  private http?: AxiosInstance;

  /** Use {@link createSapSoapConnector} for options from config; this takes them validated, paths absolute. */
  constructor(
    readonly config: SapSoapConnectorConfig,
    private readonly hooks: SapSoapHooks = {},
  ) {
    if (config.precheckReference && !hooks.findPosted) {
      throw new IntegrationError(
        'precheckReference needs a reference lookup (compose sap-soap with sap-odata in the registry)',
        'options.precheckReference',
      );
    }
    this.policy = createSourcePolicy('sap-soap', config.resilience);
    this.wsdlPath = config.wsdl ?? bundledWsdlPath();
    this.now = hooks.now ?? (() => new Date());
  }

  /** Always throws: this connector only posts. Read open items with sap-odata or sap-rfc. */
  // biome-ignore lint/correctness/useYield: a write-only connector refuses to be pulled, loudly
  async *pull(_opts: PullOptions): AsyncGenerator<RawBatch> {
    throw new IntegrationError('sap-soap only posts; read items with sap-odata or sap-rfc', 'sources.kind');
  }

  async writeBack(command: WriteBackCommand, ctx: WriteBackContext): Promise<SapSoapWriteBackResult> {
    const now = this.now();
    const je = toJournalEntry(command, ctx.idempotencyKey, {
      clearingAccount: this.config.clearingAccount,
      documentType: this.config.documentType,
      reversalDocumentType: this.config.reversalDocumentType,
      createdByUser: this.config.createdByUser!,
      referencePrefix: this.config.referencePrefix,
      ...(this.config.companyCode ? { companyCode: this.config.companyCode } : {}),
      today: calendarDate(now, this.config.timeZone),
      now,
    });
    const base = { documentReferenceId: je.ids.documentReferenceId, messageUuid: je.ids.uuid };

    if (this.config.precheckReference) {
      const found = await this.hooks.findPosted!({
        companyCode: je.companyCode,
        documentReferenceId: je.ids.documentReferenceId,
      });
      if (found) {
        return {
          status: 'duplicate',
          sourceReference: documentKey(found.companyCode, found.fiscalYear, found.accountingDocument),
          ...base,
          warnings: [],
          log: [],
        };
      }
    }

    const client = await this.wsdl();
    const xml = envelope(toWire(je));
    // Parsed inside the policy, so 5xx and garbled answers count towards the circuit breaker.
    const conf = await this.policy
      .write(async (signal) => this.confirmation(client, await this.post(xml, signal)))
      .catch((err: unknown) => {
        throw this.timedOut(err, true);
      });
    return this.outcome(conf, je, base);
  }

  private outcome(
    conf: ConfirmationWire,
    je: JournalEntryWire,
    base: { documentReferenceId: string; messageUuid: string },
  ): SapSoapWriteBackResult {
    const ref = hasDocument(conf)
      ? { sourceReference: documentKey(conf.companyCode ?? je.companyCode, conf.fiscalYear!, conf.accountingDocument!) }
      : {};
    if (conf.maxSeverity >= 3) {
      const c = classifyErrorLog(
        conf.log,
        { duplicate: this.config.duplicateMessages, transient: this.config.transientMessages },
        { documentReferenceId: je.ids.documentReferenceId, companyCode: je.companyCode },
      );
      if ('duplicate' in c) return { status: 'duplicate', ...ref, ...base, warnings: [], log: conf.log };
      throw c.error;
    }
    if (!hasDocument(conf)) {
      throw new ConnectorError(
        `SAP confirmed journal entry ${je.ids.documentReferenceId} without a document number (Log: ${
          conf.log.map((i) => i.note).join('; ') || 'empty'
        }); the posting may have happened`,
        { code: 'NO_DOCUMENT', indeterminate: true },
      );
    }
    if (conf.companyCode && conf.companyCode !== je.companyCode) {
      throw new IntegrityError(
        `SAP posted journal entry ${je.ids.documentReferenceId} in company code ${conf.companyCode}, we sent ${je.companyCode}`,
      );
    }
    return {
      status: 'delivered',
      ...ref,
      ...base,
      warnings: conf.log.filter((i) => i.severity === 2).map((i) => i.note),
      log: conf.log,
    };
  }

  /**
   * cockatiel 3.2's `isTaskCancelledError` tests the wrong marker, so the policy lets its timeout through untranslated;
   * translate it here until src/sync/resilience.ts does.
   */
  private timedOut(err: unknown, indeterminate: boolean): unknown {
    if (err instanceof TaskCancelledError) {
      return new ConnectorError(`sap-soap: no answer within ${this.config.resilience.timeoutMs ?? 30_000} ms`, {
        code: 'TIMEOUT',
        indeterminate,
        cause: err,
      });
    }
    return err;
  }

  /** The WSDL, loaded once; it parses SAP's answers. */
  private wsdl(): Promise<Client> {
    this.client ??= createClientAsync(this.wsdlPath).catch((err: unknown) => {
      this.client = undefined;
      throw new IntegrationError(
        `cannot load the WSDL ${this.wsdlPath}: ${err instanceof Error ? err.message : String(err)}`,
        'options.wsdl',
      );
    });
    return this.client;
  }

  private endpointUrl(extra?: string): string {
    const u = new URL(this.config.endpoint);
    if (this.config.sapClient) u.searchParams.set('sap-client', this.config.sapClient);
    const url = u.toString();
    return extra ? `${url}${u.search ? '&' : '?'}${extra}` : url;
  }

  /** Who we are, for messages: never the password. */
  private who(): string {
    const a = this.config.auth;
    return a.type === 'basic' ? `user "${a.user}"` : `certificate ${a.cert}${a.user ? ` (user "${a.user}")` : ''}`;
  }

  private transport(): AxiosInstance {
    if (this.http) return this.http;
    const a = this.config.auth;
    const headers: Record<string, string> = {};
    let httpsAgent: HttpsAgent | undefined;
    if (a.type === 'basic') {
      headers.Authorization = `Basic ${Buffer.from(`${a.user}:${a.password}`, 'utf8').toString('base64')}`;
    } else {
      const read = (path: string, what: string) => {
        try {
          return readFileSync(path);
        } catch (err) {
          throw new IntegrationError(
            `cannot read the ${what} ${path}: ${(err as { code?: string }).code ?? String(err)}`,
            `options.auth.${what}`,
          );
        }
      };
      httpsAgent = new HttpsAgent({
        keepAlive: true,
        cert: read(a.cert, 'cert'),
        key: read(a.key, 'key'),
        ...(a.ca ? { ca: read(a.ca, 'ca') } : {}),
        ...(a.password ? { passphrase: a.password } : {}),
      });
    }
    this.http = axios.create({
      headers,
      ...(httpsAgent ? { httpsAgent } : {}),
      maxRedirects: 0,
      responseType: 'text',
      transformResponse: (d: unknown) => d,
      validateStatus: () => true,
    });
    return this.http;
  }

  private async post(xml: string, signal: AbortSignal): Promise<AxiosResponse<string>> {
    const endpoint = this.config.endpoint;
    try {
      return await this.transport().post<string>(this.endpointUrl(), xml, {
        signal,
        headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${SOAP_ACTION}"` },
      });
    } catch (err) {
      if (err instanceof IntegrationError) throw err;
      if (signal.aborted) throw signal.reason ?? err; // the policy reports the timeout as indeterminate
      throw transportError(err, endpoint);
    }
  }

  /** HTTP answer → confirmation, or the error it means. */
  private confirmation(client: Client, res: AxiosResponse<string>): ConfirmationWire {
    const body = typeof res.data === 'string' ? res.data : '';
    let parsed: { Body?: Record<string, unknown> } | undefined;
    let fault: string | undefined;
    try {
      parsed = client.wsdl.xmlToObject(body) as { Body?: Record<string, unknown> };
    } catch (err) {
      fault = faultText(err);
    }
    if (res.status === 200 && parsed?.Body?.JournalEntryBulkCreateConfirmation !== undefined) {
      return fromWire(parsed.Body.JournalEntryBulkCreateConfirmation);
    }
    const detail = scrub(fault ?? body.replace(/\s+/g, ' ').slice(0, 300));
    if (res.status >= 400) throw httpError(res.status, detail, this.who(), this.config.endpoint);
    throw new ConnectorError(
      `SAP answered HTTP ${res.status} without a JournalEntryBulkCreateConfirmation: ${detail}; the posting may have happened`,
      { code: 'BAD_RESPONSE', indeterminate: true },
    );
  }

  async check(): Promise<HealthReport> {
    const checks: HealthCheck[] = [];
    try {
      const client = await this.wsdl();
      const found = JSON.stringify(client.describe()).includes(`"${OPERATION}"`);
      checks.push({
        name: 'wsdl',
        ok: found,
        detail: found ? `${this.wsdlPath}: ${OPERATION}` : `${this.wsdlPath} has no operation ${OPERATION}`,
      });
    } catch (err) {
      checks.push({ name: 'wsdl', ok: false, detail: err instanceof Error ? err.message : String(err) });
    }
    try {
      const res = await this.policy
        .read((signal) =>
          this.transport()
            .get<string>(this.endpointUrl('wsdl'), { signal })
            .catch((err: unknown) => {
              throw signal.aborted ? err : transportError(err, this.config.endpoint);
            }),
        )
        .catch((err: unknown) => {
          throw this.timedOut(err, false);
        });
      checks.push({ name: 'endpoint', ok: true, detail: `${this.config.endpoint}: reachable (HTTP ${res.status})` });
      if (res.status === 401 || res.status === 403) {
        checks.push({
          name: 'auth',
          ok: false,
          detail: httpError(res.status, '', this.who(), this.config.endpoint).message,
        });
      } else {
        checks.push({ name: 'auth', ok: true, detail: `${this.who()} accepted` });
      }
    } catch (err) {
      checks.push({ name: 'endpoint', ok: false, detail: scrub(err instanceof Error ? err.message : String(err)) });
    }
    return { ok: checks.every((c) => c.ok), checks };
  }
}

function faultText(err: unknown): string {
  const root = (err as { root?: { Envelope?: { Body?: { Fault?: Record<string, unknown> } } } }).root;
  const f = root?.Envelope?.Body?.Fault;
  if (f) {
    const s = f.faultstring ?? (f.Reason as { Text?: unknown } | undefined)?.Text;
    if (typeof s === 'string') return `SOAP fault: ${s}`;
    if (s && typeof s === 'object' && typeof (s as { $value?: unknown }).$value === 'string') {
      return `SOAP fault: ${(s as { $value: string }).$value}`;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

/** The calendar date (YYYY-MM-DD) of `d` in `timeZone`. */
export function calendarDate(d: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

/**
 * Creates a sap-soap connector from options as a tenant config holds them; relative paths (WSDL, certificate files)
 * resolve against `baseDir`. `hooks` wire the optional reference pre-check (see {@link SapSoapHooks}).
 * @throws IntegrationError when an option is wrong.
 */
export function createSapSoapConnector(
  options: unknown,
  baseDir = process.cwd(),
  hooks?: SapSoapHooks,
): SapSoapConnector {
  return new SapSoapConnector(parseSapSoapConnectorConfig(options, baseDir), hooks);
}
