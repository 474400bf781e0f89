/**
 * The generic SOAP connector: a legacy subledger over any WSDL (DESIGN §5), with the operations and field paths in
 * config.
 *
 * - `pull` pages through the open-items operation (`{{changedSince}}`, `{{pageToken}}`, `{{pageSize}}`), one batch per
 *   page, joins customers when a customer operation is configured, and hands over flat records.
 * - `writeBack` fills the payment, reversal or dunning-level template from the command and posts it once; the
 *   source's "already posted" fault is a `duplicate`.
 * - `check` loads the WSDL, looks for the configured operations and calls the open-items operation for one item.
 *
 * Every call goes through the source's resilience policy: reads are retried, writes are not.
 */
import * as soap from 'soap';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { assertEcho, parseDecimalToMinor } from '../../src/domain/money';
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
import { isUrl, parseSoapConnectorConfig, type SoapConnectorConfig, type WriteOperationConfig } from './config';
import { type CallContext, toSoapError } from './errors';
import {
  asList,
  decodeCheckpoint,
  type ElementShape,
  encodeCheckpoint,
  envVariableOf,
  faultMatches,
  faultOf,
  fillTemplate,
  flatten,
  getPath,
  KEEP_TEXT,
  laterOf,
  orderLike,
  resolveSecret,
  scrub,
  type TemplateValues,
  textOf,
  unknownElements,
  writeBackValues,
} from './transformers';

/** One line per external call (STYLE "Logs"); the connector never logs by itself. */
export interface SoapCallLog {
  connector: 'soap';
  source: string;
  flow: string;
  idempotencyKey?: string;
  status: 'ok' | 'duplicate' | 'error';
  ms: number;
  code?: string;
}

/** Runtime context of a connector: the source's name (for the breaker and logs) and a log sink. */
export interface SoapConnectorContext {
  /** @defaultValue `soap:<host of the endpoint or WSDL>` */
  source?: string;
  log?: (line: SoapCallLog) => void;
  /** Where `${env:NAME}` secrets are looked up. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
}

/** A `soap` client method in callback form: (args, callback, options, extraHeaders). */
type SoapMethod = (
  args: unknown,
  cb: (err: unknown, result: unknown, rawResponse: unknown, soapHeader: unknown, rawRequest: string) => void,
  options: Record<string, unknown>,
) => void;

interface Bound {
  client: soap.Client;
  methods: Record<string, SoapMethod>;
  inputs: Record<string, ElementShape | undefined>;
}

const WRITE_ROLE = { payment: 'payment', reversal: 'reversal', dunning_level: 'dunningLevel' } as const;

export class SoapConnector implements SourceConnector {
  readonly kind = 'soap';
  readonly source: string;
  private readonly policy: SourcePolicy;
  private bound: Promise<Bound> | undefined;

  /** Use {@link createSoapConnector} for options from config; this takes them validated. */
  constructor(
    readonly config: SoapConnectorConfig,
    private readonly context: SoapConnectorContext = {},
  ) {
    this.source = context.source ?? `soap:${hostOf(config.endpoint ?? config.wsdl)}`;
    this.policy = createSourcePolicy(this.source, { ...config.resilience, timeoutMs: config.timeoutMs });
  }

  /** Breaker state of this source (`closed`, `open`, …) for `clearhub doctor`. */
  get state(): string {
    return this.policy.state;
  }

  async *pull({ since, signal }: PullOptions): AsyncGenerator<RawBatch> {
    signal.throwIfAborted();
    const op = this.config.operations.openItems;
    const previous = decodeCheckpoint(since);
    const resuming = previous?.pageToken !== undefined;
    const changedSince = previous?.changedSince;
    let token = resuming ? previous.pageToken : undefined;
    let highWater = resuming ? previous.highWater : undefined;
    let n = resuming ? (previous.n ?? 0) : 0;
    const customers = new Map<string, Record<string, string> | null>();
    const seenTokens = new Set<string>();

    for (;;) {
      const args = fillTemplate(op.request, { pageSize: String(op.pageSize), pageToken: token, changedSince });
      const result = await this.read((s) => this.call(op.operation, args, AbortSignal.any([s, signal]), false));
      const items = asList(getPath(result, op.items)).map((item) => flatten(item));
      if (this.config.operations.customers) await this.joinCustomers(items, customers, signal);
      const records: RawRecord[] = [];
      for (const record of items) {
        n++;
        if (op.changedAt) highWater = laterOf(highWater, record[op.changedAt]);
        records.push({ record, file: op.operation, line: n });
      }
      const next = textOf(getPath(result, op.nextPageToken));
      signal.throwIfAborted();
      if (next) {
        if (seenTokens.has(next) || next === token) {
          throw new ConnectorError(`${op.operation}: the server sent page token ${JSON.stringify(next)} again`, {
            code: 'PAGE_LOOP',
          });
        }
        seenTokens.add(next);
        yield { records, checkpoint: encodeCheckpoint({ v: 1, changedSince, pageToken: next, highWater, n }) };
        token = next;
        continue;
      }
      const done = highWater ?? changedSince;
      yield { records, checkpoint: encodeCheckpoint(done === undefined ? { v: 1 } : { v: 1, changedSince: done }) };
      return;
    }
  }

  /** Adds the customers' fields (with the configured prefix) to each item, fetching unknown numbers in chunks. */
  private async joinCustomers(
    items: Record<string, string>[],
    cache: Map<string, Record<string, string> | null>,
    signal: AbortSignal,
  ): Promise<void> {
    const cfg = this.config.operations.customers!;
    const missing = [...new Set(items.map((i) => i[cfg.joinOn]).filter((id): id is string => !!id && !cache.has(id)))];
    for (let start = 0; start < missing.length; start += cfg.batchSize) {
      const ids = missing.slice(start, start + cfg.batchSize);
      const args = fillTemplate(cfg.request, { customerIds: ids });
      const result = await this.read((s) => this.call(cfg.operation, args, AbortSignal.any([s, signal]), false));
      for (const c of asList(getPath(result, cfg.items))) {
        const flat = flatten(c);
        const id = flat[cfg.id];
        if (id) cache.set(id, flat);
      }
      for (const id of ids) if (!cache.has(id)) cache.set(id, null); // unknown to the source: the mapping decides
    }
    for (const item of items) {
      const c = cache.get(item[cfg.joinOn] ?? '');
      if (c) for (const [k, v] of Object.entries(c)) item[`${cfg.prefix}${k}`] = v;
    }
  }

  async writeBack(command: WriteBackCommand, ctx: WriteBackContext): Promise<WriteBackResult> {
    const role = WRITE_ROLE[command.kind];
    const op: WriteOperationConfig | undefined = this.config.operations[role];
    if (!op) {
      throw new IntegrationError(
        `not configured: this source cannot take ${command.kind} write-backs (add operations.${role})`,
        `operations.${role}`,
      );
    }
    const values = writeBackValues(command, ctx.idempotencyKey);
    const args = fillTemplate(op.request, values);
    const faults = this.config.faults;
    const outcome = await this.write(async (signal) => {
      try {
        return { result: await this.call(op.operation, args, signal, true, ctx.idempotencyKey) };
      } catch (err) {
        const fault = faultOf((err as { cause?: unknown }).cause ?? err);
        if (fault && faultMatches(fault.code, faults.duplicate)) {
          return { duplicateOf: textOf(getPath(fault.detail, faults.duplicateReference)) };
        }
        throw err;
      }
    });
    if ('duplicateOf' in outcome) {
      return outcome.duplicateOf
        ? { status: 'duplicate', sourceReference: outcome.duplicateOf }
        : { status: 'duplicate' };
    }
    if (op.echo && (command.kind === 'payment' || command.kind === 'reversal')) {
      const currency = textOf(getPath(outcome.result, op.echo.currency)) ?? '';
      const amount = textOf(getPath(outcome.result, op.echo.amount)) ?? '';
      const echoed = {
        amountMinor: parseDecimalToMinor(amount, currency || command.currency, 'echo.amount'),
        currency,
      };
      assertEcho({ amountMinor: command.amountMinor, currency: command.currency }, echoed, `${op.operation} echo`);
    }
    const reference = textOf(getPath(outcome.result, op.reference));
    return reference ? { status: 'delivered', sourceReference: reference } : { status: 'delivered' };
  }

  async check(): Promise<HealthReport> {
    const checks: HealthCheck[] = [];
    let bound: Bound;
    try {
      bound = await this.bind(AbortSignal.timeout(this.config.timeoutMs));
      const ops = Object.keys(bound.methods);
      checks.push({ name: 'wsdl', ok: true, detail: `${this.config.wsdl}: ${ops.length} operation(s)` });
    } catch (err) {
      checks.push({ name: 'wsdl', ok: false, detail: scrub(messageOf(err)) });
      return { ok: false, checks };
    }
    const problems: string[] = [];
    for (const [role, op] of Object.entries(this.config.operations)) {
      if (!op) continue;
      if (!bound.methods[op.operation]) {
        problems.push(`operations.${role}: ${op.operation} is not in the WSDL`);
        continue;
      }
      const shape = bound.inputs[op.operation];
      const unknown = shape ? unknownElements(fillTemplate(op.request, SAMPLE), shape) : [];
      if (unknown.length > 0) {
        problems.push(`operations.${role}.request: ${op.operation} has no element ${unknown.join(', ')}`);
      }
    }
    const configured = Object.values(this.config.operations).filter(Boolean).length;
    checks.push(
      problems.length === 0
        ? { name: 'operations', ok: true, detail: `${configured} configured operation(s) found in the WSDL` }
        : { name: 'operations', ok: false, detail: problems.join('; ') },
    );
    const op = this.config.operations.openItems;
    if (!bound.methods[op.operation]) return { ok: false, checks };
    const started = Date.now();
    try {
      const args = fillTemplate(op.request, { pageSize: '1' });
      await this.call(op.operation, args, AbortSignal.timeout(this.config.timeoutMs), false);
      checks.push({ name: 'endpoint', ok: true, detail: `${op.operation} answered in ${Date.now() - started} ms` });
      checks.push({ name: 'auth', ok: true, detail: this.credentialText() || 'no authentication configured' });
    } catch (err) {
      const authProblem = err instanceof IntegrationError && err.field === 'auth';
      const reached = err instanceof IntegrationError;
      checks.push({
        name: 'endpoint',
        ok: reached,
        detail: reached ? `${op.operation} reachable` : scrub(messageOf(err)),
      });
      checks.push({
        name: 'auth',
        ok: reached && !authProblem,
        detail: reached ? scrub(messageOf(err)) : 'not checked: the endpoint did not answer',
      });
    }
    return { ok: checks.every((c) => c.ok), checks };
  }

  /** A read through the source policy (timeout, retries, breaker). */
  private read<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.policy.read(fn).catch((err: unknown) => {
      throw this.timeoutError(err, false);
    });
  }

  /** A write through the source policy (timeout, breaker, no retry). */
  private write<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.policy.write(fn).catch((err: unknown) => {
      throw this.timeoutError(err, true);
    });
  }

  /**
   * cockatiel 3.2.1's `isTaskCancelledError` tests the wrong property (`isBulkheadRejectedError`), so the policy lets
   * its own timeout through untranslated; it is translated here (a write's outcome is then unknown).
   */
  private timeoutError(err: unknown, write: boolean): unknown {
    if (err && typeof err === 'object' && 'isTaskCancelledError' in err) {
      return new ConnectorError(`${this.source}: no answer within ${this.config.timeoutMs} ms`, {
        code: 'TIMEOUT',
        indeterminate: write,
        cause: err,
      });
    }
    return err;
  }

  /** One SOAP call: the error wrapped in our tiers, one log line. */
  private async call(
    operation: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
    write: boolean,
    idempotencyKey?: string,
  ): Promise<unknown> {
    const started = Date.now();
    const ctx: CallContext = {
      operation,
      write,
      credential: this.credentialText() || 'the endpoint: it asks for credentials, but auth is not configured',
      retryable: this.config.faults.retryable,
    };
    const log = (status: SoapCallLog['status'], code?: string) =>
      this.context.log?.({
        connector: 'soap',
        source: this.source,
        flow: operation,
        ...(idempotencyKey ? { idempotencyKey } : {}),
        status,
        ms: Date.now() - started,
        ...(code ? { code } : {}),
      });
    try {
      const bound = await this.bind(signal);
      const method = bound.methods[operation];
      if (!method) throw new IntegrationError(`operation ${operation} is not in the WSDL`, 'operations');
      const ordered = orderLike(args, bound.inputs[operation]);
      const result = await new Promise<unknown>((resolve, reject) => {
        method(ordered, (err, res) => (err ? reject(err) : resolve(res)), {
          timeout: this.config.timeoutMs,
          signal,
        });
      });
      log('ok');
      return result;
    } catch (err) {
      const fault = faultOf(err);
      if (write && fault && faultMatches(fault.code, this.config.faults.duplicate)) {
        log('duplicate', fault.code);
        throw err; // writeBack turns it into a result
      }
      const wrapped =
        signal.aborted && !(err instanceof IntegrationError)
          ? abortError(operation, write, err)
          : toSoapError(err, ctx);
      log('error', (wrapped as ConnectorError).options?.code ?? wrapped.name);
      throw wrapped;
    }
  }

  /** Loads the WSDL once (again after a failure) and binds the configured service and port. */
  private bind(signal: AbortSignal): Promise<Bound> {
    if (!this.bound) {
      this.bound = this.load(signal);
      this.bound.catch(() => {
        this.bound = undefined;
      });
    }
    return this.bound;
  }

  private async load(signal: AbortSignal): Promise<Bound> {
    const { wsdl, endpoint, auth, soap12, timeoutMs } = this.config;
    const basic = auth.basic
      ? { user: auth.basic.user, password: resolveSecret(auth.basic.password, 'auth.basic.password', this.env) }
      : undefined;
    const wss = auth.wsSecurity
      ? {
          ...auth.wsSecurity,
          password: resolveSecret(auth.wsSecurity.password, 'auth.wsSecurity.password', this.env),
        }
      : undefined;
    const authHeader = basic
      ? `Basic ${Buffer.from(`${basic.user}:${basic.password.value}`, 'utf8').toString('base64')}`
      : undefined;
    let client: soap.Client;
    try {
      client = await soap.createClientAsync(
        wsdl,
        {
          disableCache: true,
          customDeserializer: KEEP_TEXT,
          forceSoap12Headers: soap12,
          wsdl_headers: authHeader && isUrl(wsdl) ? { Authorization: authHeader } : {},
          wsdl_options: { timeout: timeoutMs, signal },
          ...(endpoint ? { endpoint } : {}),
        },
        endpoint,
      );
    } catch (err) {
      throw wsdlError(err, wsdl, this.credentialText());
    }
    if (authHeader) client.addHttpHeader('Authorization', authHeader);
    if (wss) {
      client.setSecurity(new soap.WSSecurity(wss.user, wss.password.value, { passwordType: wss.passwordType }));
    }
    const description = client.describe() as Record<string, Record<string, Record<string, { input?: ElementShape }>>>;
    const serviceName = this.config.service ?? Object.keys(description)[0];
    const service = serviceName ? description[serviceName] : undefined;
    if (!serviceName || !service) {
      throw new IntegrationError(
        `the WSDL has no service ${this.config.service ?? ''} (it has ${Object.keys(description).join(', ') || 'none'})`,
        'service',
      );
    }
    const portName = this.config.port ?? Object.keys(service)[0];
    const port = portName ? service[portName] : undefined;
    if (!portName || !port) {
      throw new IntegrationError(
        `service ${serviceName} has no port ${this.config.port ?? ''} (it has ${Object.keys(service).join(', ')})`,
        'port',
      );
    }
    const portMethods = (client as unknown as Record<string, Record<string, Record<string, SoapMethod>>>)[serviceName]![
      portName
    ]!;
    const methods: Record<string, SoapMethod> = {};
    const inputs: Record<string, ElementShape | undefined> = {};
    for (const [name, d] of Object.entries(port)) {
      methods[name] = portMethods[name]!;
      inputs[name] = d.input;
    }
    return { client, methods, inputs };
  }

  private get env(): NodeJS.ProcessEnv {
    return this.context.env ?? process.env;
  }

  /** Names the configured credentials for error messages: users and where passwords come from, never a secret. */
  private credentialText(): string {
    const parts: string[] = [];
    const from = (p: string) => {
      const variable = envVariableOf(p);
      return variable ? ` from environment variable ${variable}` : '';
    };
    const { basic, wsSecurity } = this.config.auth;
    if (basic) parts.push(`auth.basic.user "${basic.user}" and auth.basic.password${from(basic.password)}`);
    if (wsSecurity) {
      parts.push(`auth.wsSecurity.user "${wsSecurity.user}" and auth.wsSecurity.password${from(wsSecurity.password)}`);
    }
    return parts.join('; ');
  }
}

/** Sample values for checking a template against the WSDL (every element present). */
const SAMPLE: TemplateValues = new Proxy({}, { get: () => 'x' });

function abortError(operation: string, write: boolean, err: unknown): ConnectorError {
  return new ConnectorError(`${operation}: aborted (timeout or shutdown)`, {
    code: 'ABORTED',
    indeterminate: write,
    cause: err,
  });
}

function wsdlError(err: unknown, wsdl: string, credential: string): Error {
  if (err instanceof IntegrationError || err instanceof ConnectorError) return err;
  const code = (err as { code?: unknown })?.code;
  const status = (err as { response?: { status?: unknown } })?.response?.status;
  const msg = messageOf(err);
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    return new IntegrationError(`cannot read ${wsdl} (${code})`, 'wsdl');
  }
  if (status === 401 || status === 403) {
    return new IntegrationError(
      `${wsdl}: the server rejected the credentials (HTTP ${status}); check ${credential || 'auth (none configured)'}`,
      'auth',
    );
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new IntegrationError(`${wsdl}: HTTP ${status}`, 'wsdl');
  }
  if (isUrl(wsdl) && (typeof status === 'number' || typeof code === 'string')) {
    return new ConnectorError(`WSDL ${wsdl}: ${msg}`, { code: typeof code === 'string' ? code : `HTTP_${status}` });
  }
  return new IntegrationError(`${wsdl} is not a usable WSDL: ${msg}`, 'wsdl');
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function hostOf(s: string): string {
  try {
    return isUrl(s) ? new URL(s).host : s.replace(/^.*[\\/]/, '');
  } catch {
    return s;
  }
}

/**
 * Creates a SOAP connector from options as a tenant config holds them; a relative WSDL path is resolved against
 * `baseDir`.
 * @throws IntegrationError when an option is wrong.
 */
export function createSoapConnector(
  options: unknown,
  baseDir = process.cwd(),
  context: SoapConnectorContext = {},
): SoapConnector {
  return new SoapConnector(parseSoapConnectorConfig(options, baseDir), context);
}
