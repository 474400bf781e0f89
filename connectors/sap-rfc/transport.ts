/**
 * The RFC transport of the sap-rfc connector: one small interface ({@link RfcTransport}) and its production
 * implementation on SAP's `node-rfc` ({@link NodeRfcTransport}). Tests use the fake in
 * `src/simulators/sap-rfc/fake-transport.ts`, which answers with the same BAPI structures.
 *
 * node-rfc is an optional dependency: it builds a native addon against SAP's proprietary NW RFC SDK, so on most
 * machines it is absent. It is loaded with `require` on first use, and its absence is one clear `IntegrationError`.
 */
import { IntegrationError } from '../../src/domain/errors';

/** A scalar as node-rfc passes it: CHAR/NUMC/DATS as strings, BCD as strings (`bcd: 'string'`), INT as numbers. */
export type RfcScalar = string | number;
/** A flat ABAP structure: field name → value. */
export type RfcStructure = { [field: string]: RfcScalar };
/** Import, changing and table parameters of one call. */
export type RfcParams = { [param: string]: RfcScalar | RfcStructure | RfcStructure[] };
/** Export and table parameters as node-rfc returns them (typed by the caller in transformers.ts). */
export type RfcResult = { [param: string]: unknown };

/** One stateful connection: calls made through it share one SAP user session (and one LUW until a commit). */
export interface RfcSession {
  call(fm: string, params?: RfcParams): Promise<RfcResult>;
}

/**
 * How the connector talks RFC. Implementations keep a connection pool; every call of one {@link withSession} runs
 * on the same connection, which BAPIs need: `BAPI_ACC_DOCUMENT_POST` only buffers the document, and the
 * `BAPI_TRANSACTION_COMMIT` that writes it must come on the same user session.
 *
 * Errors are thrown as node-rfc throws them (`{ name: 'RfcLibError' | 'ABAPError', codeString, key, message }`);
 * the connector maps them with `errors.ts`.
 */
export interface RfcTransport {
  /** `node-rfc` or `fake`: shown in health reports. */
  readonly name: string;
  /** Loads the library and creates the pool; idempotent. Throws `IntegrationError` when the library is missing. */
  open(): Promise<void>;
  /** One stateless call on a pooled connection (acquired and released around it). */
  call(fm: string, params?: RfcParams): Promise<RfcResult>;
  /** Acquires one connection, runs `fn` with it, releases it (also on error). */
  withSession<T>(fn: (session: RfcSession) => Promise<T>): Promise<T>;
  /** Closes every pooled connection; idempotent. */
  close(): Promise<void>;
}

/** node-rfc's connection parameters (a `dest` from sapnwrfc.ini, or host, system number, client, user …). */
export type RfcConnectionParameters = Record<string, string>;

/** The part of node-rfc's API this transport uses (node-rfc 3.x). */
interface NodeRfcClient {
  call(fm: string, params: RfcParams): Promise<RfcResult>;
}
interface NodeRfcPool {
  acquire(): Promise<NodeRfcClient>;
  release(client: NodeRfcClient): Promise<void>;
  closeAll?(): Promise<void>;
}
export interface NodeRfcModule {
  Pool: new (options: {
    connectionParameters: RfcConnectionParameters;
    clientOptions?: Record<string, unknown>;
    poolOptions?: { low: number; high: number };
  }) => NodeRfcPool;
}

/** The one message a missing node-rfc or NW RFC SDK gives (no links: the SDK is only on SAP's portal). */
export function nodeRfcMissingMessage(reason: string): string {
  return (
    `the sap-rfc connector needs the node-rfc package, which could not be loaded (${reason}). ` +
    'node-rfc is a native addon built against the SAP NW RFC SDK, a proprietary library SAP gives to its customers ' +
    'through its support portal (search for "SAP NW RFC SDK 7.50"). To enable RFC: ' +
    '1) install the SAP NW RFC SDK on this machine (e.g. unpack it to /usr/local/sap/nwrfcsdk); ' +
    '2) set the environment variable SAPNWRFC_HOME to that directory (on Linux also add $SAPNWRFC_HOME/lib to ' +
    'LD_LIBRARY_PATH, or register it with ldconfig); ' +
    '3) run `npm install node-rfc` in the Clearhub installation directory, which compiles the addon against the SDK. ' +
    'Without RFC, use the sap-odata or sap-soap connector, or mark this source disabled'
  );
}

let loaded: { module?: NodeRfcModule; error?: IntegrationError } | undefined;

/**
 * Loads node-rfc once per process. A missing package and a package whose native part cannot find the SDK give the
 * same `IntegrationError` (with the underlying reason in parentheses).
 */
export function loadNodeRfc(moduleName = 'node-rfc'): NodeRfcModule {
  if (moduleName === 'node-rfc' && loaded) {
    if (loaded.error) throw loaded.error;
    return loaded.module!;
  }
  let result: { module?: NodeRfcModule; error?: IntegrationError };
  try {
    result = { module: require(moduleName) as NodeRfcModule };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const reason =
      e.code === 'MODULE_NOT_FOUND' && e.message?.includes(`'${moduleName}'`)
        ? `package ${moduleName} is not installed`
        : `loading it failed: ${e.message ?? String(err)}`;
    result = { error: new IntegrationError(nodeRfcMissingMessage(reason), undefined, { code: 'NODE_RFC_MISSING' }) };
  }
  if (moduleName === 'node-rfc') loaded = result;
  if (result.error) throw result.error;
  return result.module!;
}

export interface NodeRfcTransportOptions {
  connection: RfcConnectionParameters;
  /** Most connections the pool keeps open. */
  poolSize: number;
  /** node-rfc's client timeout in seconds: a call running longer is cancelled on the server. */
  timeoutSeconds: number;
}

/** The production transport: node-rfc's `Pool` of stateful clients, BCD numbers as strings. */
export class NodeRfcTransport implements RfcTransport {
  readonly name = 'node-rfc';
  private pool: NodeRfcPool | undefined;

  constructor(
    private readonly options: NodeRfcTransportOptions,
    private readonly load: () => NodeRfcModule = loadNodeRfc,
  ) {}

  async open(): Promise<void> {
    if (this.pool) return;
    const { Pool } = this.load();
    this.pool = new Pool({
      connectionParameters: this.options.connection,
      // bcd 'string': amounts stay exact decimal strings (never floats); stateless false: post + commit share a session.
      clientOptions: { bcd: 'string', stateless: false, timeout: this.options.timeoutSeconds },
      poolOptions: { low: 0, high: this.options.poolSize },
    });
  }

  async call(fm: string, params: RfcParams = {}): Promise<RfcResult> {
    return this.withSession((s) => s.call(fm, params));
  }

  async withSession<T>(fn: (session: RfcSession) => Promise<T>): Promise<T> {
    await this.open();
    const pool = this.pool!;
    const client = await pool.acquire();
    try {
      return await fn({ call: (fm, params = {}) => client.call(fm, params) });
    } finally {
      await pool.release(client).catch(() => undefined); // a broken connection is dropped by the pool
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.closeAll?.();
  }
}
