/**
 * The sap-rfc connector: SAP FI-AR and FI-CA over RFC/BAPI (DESIGN §5).
 *
 * - `pull` reads open items per unit of work, one RFC call each: FI-AR `BAPI_AR_ACC_GETOPENITEMS` per company code
 *   and customer, FI-CA `BAPI_CTRACCONTRACTACCOUNT_GOI1` per contract account. RFC has no delta, so every pull is a
 *   full snapshot on one key date; the checkpoint lets an interrupted pull resume at the first unit not stored.
 * - `writeBack` of a payment: FI-AR `BAPI_ACC_DOCUMENT_POST` + `BAPI_TRANSACTION_COMMIT` on one stateful connection,
 *   FI-CA `BAPI_CTRACCONTRACTACCOUNT_CLOI` + commit; first a look-up of our reference, so a retried delivery is a
 *   `duplicate`; `BAPI_TRANSACTION_ROLLBACK` when RETURN has TYPE E/A. Dunning level and reversal: not supported.
 * - `check` loads the transport, pings (RFC_PING), and makes a trial read for the authorizations.
 */
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { parseDecimalToMinor } from '../../src/domain/money';
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
import {
  connectionParameters,
  parseSapRfcConnectorConfig,
  type SapRfcConnectorConfig,
  type SapRfcFiArConfig,
} from './config';
import { failures, returnError, returnMessages, toRfcError } from './errors';
import {
  addDays,
  alphaIn,
  type Bapi3007_2,
  type Bapidfkkcl,
  decodeCheckpoint,
  encodeCheckpoint,
  fromWireArItem,
  fromWireCaItem,
  type PaymentCommand,
  parseArSourceKey,
  parseCaSourceKey,
  type RfcCheckpoint,
  referenceFor,
  toDats,
  todayDats,
  toWireClearing,
  toWirePayment,
  unitsFingerprint,
} from './transformers';
import { NodeRfcTransport, type RfcParams, type RfcResult, type RfcSession, type RfcTransport } from './transport';

/** Function modules the connector calls. */
export const FM = {
  ping: 'RFC_PING',
  arOpenItems: 'BAPI_AR_ACC_GETOPENITEMS',
  arBalancedItems: 'BAPI_AR_ACC_GETBALANCEDITEMS',
  post: 'BAPI_ACC_DOCUMENT_POST',
  commit: 'BAPI_TRANSACTION_COMMIT',
  rollback: 'BAPI_TRANSACTION_ROLLBACK',
  caOpenItems: 'BAPI_CTRACCONTRACTACCOUNT_GOI1',
  caClear: 'BAPI_CTRACCONTRACTACCOUNT_CLOI',
  readTable: 'RFC_READ_TABLE',
} as const;

/** One unit of a pull: one RFC call. */
interface Unit {
  /** Shown as the record's `file` in the quarantine, e.g. `BAPI_AR_ACC_GETOPENITEMS 1010/0010100001`. */
  label: string;
  read(session: RfcSession | RfcTransport, keyDate: string): Promise<Record<string, unknown>[]>;
  toRecord(row: Record<string, unknown>): Record<string, string>;
}

export class SapRfcConnector implements SourceConnector {
  readonly kind = 'sap-rfc';
  private readonly policy: SourcePolicy;

  /** Use {@link createSapRfcConnector} for options from config; this takes them validated. */
  constructor(
    readonly config: SapRfcConnectorConfig,
    readonly transport: RfcTransport,
    private readonly today: () => string = () => todayDats(),
  ) {
    this.policy = createSourcePolicy(`sap-rfc ${transport.name}`, {
      ...config.resilience,
      timeoutMs: config.resilience.timeoutMs ?? (config.timeoutSeconds + 5) * 1000,
    });
  }

  private keyDate(): string {
    return this.config.keyDate ?? this.today();
  }

  private units(): Unit[] {
    const c = this.config;
    if (c.variant === 'fi-ar') {
      const units: Unit[] = [];
      for (const cc of c.companyCodes) {
        for (const raw of c.customers) {
          const customer = alphaIn(raw, 10);
          units.push({
            label: `${FM.arOpenItems} ${cc}/${customer}`,
            read: (t, keyDate) => this.arOpenItems(t, cc, customer, keyDate),
            toRecord: fromWireArItem,
          });
        }
      }
      return units;
    }
    return c.contractAccounts.map((raw) => {
      const account = alphaIn(raw, 12);
      return {
        label: `${FM.caOpenItems} ${account}`,
        read: (t: RfcSession | RfcTransport, keyDate: string) => this.caOpenItems(t, { CONT_ACCT: account }, keyDate),
        toRecord: fromWireCaItem,
      };
    });
  }

  async *pull({ since, signal }: PullOptions): AsyncGenerator<RawBatch> {
    signal.throwIfAborted();
    await this.open();
    const units = this.units();
    const fp = unitsFingerprint(units.map((u) => u.label));
    const previous = decodeCheckpoint(since);
    const resume = previous && previous.next !== 'done' && previous.units === fp ? previous : undefined;
    // An interrupted run is finished on its own key date, so the snapshot stays consistent (unless it is configured).
    const keyDate = resume && !this.config.keyDate ? resume.keyDate : this.keyDate();
    const start = resume && resume.keyDate === keyDate ? (resume.next as number) : 0;
    const cp = (next: RfcCheckpoint['next']) => encodeCheckpoint({ v: 1, keyDate, units: fp, next });

    let batch: RawRecord[] = [];
    for (let i = start; i < units.length; i++) {
      signal.throwIfAborted();
      const unit = units[i]!;
      const rows = await this.policy.read(() => unit.read(this.transport, keyDate));
      for (let n = 0; n < rows.length; n++) {
        if (batch.length >= this.config.batchSize) {
          // Unit i is not complete in what is stored so far: a resume reads it again (re-import is a no-op).
          yield { records: batch, checkpoint: cp(i) };
          signal.throwIfAborted();
          batch = [];
        }
        batch.push({ record: unit.toRecord(rows[n]!), file: unit.label, line: n + 1 });
      }
    }
    yield { records: batch, checkpoint: cp('done') };
  }

  /** `BAPI_AR_ACC_GETOPENITEMS` for one company code and customer (any date: `GETBALANCEDITEMS` for cleared ones). */
  private async arOpenItems(
    t: RfcSession | RfcTransport,
    companyCode: string,
    customer: string,
    keyDate: string,
  ): Promise<Bapi3007_2[]> {
    const r = await call(t, FM.arOpenItems, { COMPANYCODE: companyCode, CUSTOMER: customer, KEYDATE: keyDate });
    return lineItems(r, FM.arOpenItems, 'LINEITEMS') as Bapi3007_2[];
  }

  private async caOpenItems(
    t: RfcSession | RfcTransport,
    selection: { CONT_ACCT?: string; BUSPARTNER?: string },
    keyDate: string,
  ): Promise<Bapidfkkcl[]> {
    const r = await call(t, FM.caOpenItems, { CLEARINGDATE: keyDate, MAINSELECTIONS: [selection] });
    return lineItems(r, FM.caOpenItems, 'OPENITEMS') as Bapidfkkcl[];
  }

  async writeBack(command: WriteBackCommand, ctx: WriteBackContext): Promise<WriteBackResult> {
    switch (command.kind) {
      case 'payment':
        await this.open();
        return this.config.variant === 'fi-ar'
          ? this.postArPayment(this.config, command, ctx)
          : this.clearCaItem(command, ctx);
      case 'reversal':
        throw new IntegrationError(
          'reversals are not written back over RFC in this version (FI-AR would need BAPI_ACC_DOCUMENT_REV_POST with ' +
            "the posting's OBJ_KEY; FI-CA a reset of the clearing); reverse the payment in SAP by hand",
          'kind',
        );
      case 'dunning_level':
        throw new IntegrationError(
          'writing the dunning level is not supported over RFC: SAP has no released BAPI that changes the dunning ' +
            'level of an item (MANST). Set writeBackDunningLevel: false for this source, or write it through the ' +
            'sap-odata connector (A_CustomerDunning)',
          'writeBackDunningLevel',
        );
      default: {
        const never: never = command;
        throw new IntegrationError(`unknown write-back command ${JSON.stringify(never)}`, 'kind');
      }
    }
  }

  /**
   * FI-AR payment: look up our reference, post, commit, all on one stateful connection. A failure before the commit
   * leaves nothing in SAP (the open LUW dies with the call or is rolled back); a failure during the commit is
   * indeterminate, and the next delivery's look-up tells.
   */
  private async postArPayment(
    c: SapRfcFiArConfig,
    cmd: PaymentCommand,
    ctx: WriteBackContext,
  ): Promise<WriteBackResult> {
    const { companyCode } = parseArSourceKey(cmd.sourceKey);
    const customer = alphaIn(cmd.externalId, 10);
    const reference = referenceFor(ctx.idempotencyKey);
    const today = this.today();
    const params = toWirePayment(cmd, {
      companyCode,
      customer,
      reference,
      postingDate: today,
      glAccount: c.posting.bankClearingAccount,
      docType: c.posting.docType,
      username: c.posting.username,
    });
    return this.transport.withSession(async (s) => {
      const found = await this.findArPosting(s, companyCode, customer, reference, cmd.valueDate, today);
      if (found) return { status: 'duplicate', sourceReference: found };
      return this.postAndCommit(s, FM.post, params, (r) => String(r.OBJ_KEY ?? '').trim());
    });
  }

  /**
   * Our posting, if SAP has it: its customer line carries our reference in REF_DOC_NO. It is open until SAP clears
   * it (GETOPENITEMS), then balanced (GETBALANCEDITEMS, searched from the value date on).
   * @returns the OBJ_KEY (document, company code, year) of the posting found.
   */
  private async findArPosting(
    s: RfcSession,
    companyCode: string,
    customer: string,
    reference: string,
    valueDate: string,
    today: string,
  ): Promise<string | undefined> {
    const match = (rows: Bapi3007_2[]) => rows.find((r) => (r.REF_DOC_NO ?? '').trim() === reference);
    const open = match(await this.arOpenItems(s, companyCode, customer, today));
    const hit =
      open ??
      match(
        lineItems(
          await call(s, FM.arBalancedItems, {
            COMPANYCODE: companyCode,
            CUSTOMER: customer,
            DATE_FROM: addDays(toDats(valueDate, 'valueDate'), -(this.config as SapRfcFiArConfig).posting.lookbackDays),
            DATE_TO: today > toDats(valueDate, 'valueDate') ? today : toDats(valueDate, 'valueDate'),
          }),
          FM.arBalancedItems,
          'LINEITEMS',
        ) as Bapi3007_2[],
      );
    return hit ? `${hit.DOC_NO}${hit.COMP_CODE}${hit.FISC_YEAR}` : undefined;
  }

  /**
   * FI-CA payment: find the item among the business partner's open items (that gives its contract account and open
   * amount), look up our reference, clear, commit, on one connection.
   */
  private async clearCaItem(cmd: PaymentCommand, ctx: WriteBackContext): Promise<WriteBackResult> {
    const key = parseCaSourceKey(cmd.sourceKey);
    const reference = referenceFor(ctx.idempotencyKey);
    const today = this.today();
    return this.transport.withSession(async (s) => {
      const found = await this.findCaClearing(s, reference);
      if (found) return { status: 'duplicate', sourceReference: found };
      const items = await this.caOpenItems(s, { BUSPARTNER: alphaIn(cmd.externalId, 10) }, today);
      const item = items.find(
        (i) =>
          i.DOC_NO.trim() === key.docNo &&
          i.REP_ITEM.trim() === key.repItem &&
          i.ITEM.trim() === key.item &&
          i.SUB_ITEM.trim() === key.subItem,
      );
      if (!item) {
        throw new IntegrationError(
          `item ${cmd.sourceKey} of business partner ${cmd.externalId} is not open in SAP (cleared there, or another partner)`,
          'sourceKey',
        );
      }
      if (item.CURRENCY.trim() !== cmd.currency) {
        throw new IntegrationError(`item is in ${item.CURRENCY}, the payment in ${cmd.currency}`, 'currency');
      }
      const open = parseDecimalToMinor(item.AMOUNT, cmd.currency, 'AMOUNT');
      if (cmd.amountMinor > open) {
        throw new IntegrationError(
          `payment of ${cmd.amountMinor} exceeds the amount open in SAP (${open}, minor units)`,
          'amountMinor',
        );
      }
      const params = toWireClearing(cmd, { item, reference, clearingDate: toDats(cmd.valueDate, 'valueDate') });
      return this.postAndCommit(s, FM.caClear, params, (r) => String(r.DOCUMENTNUMBER ?? '').trim());
    });
  }

  /** Our clearing document, if SAP has it: FI-CA document headers (DFKKKO) carry our reference in XBLNR. */
  private async findCaClearing(s: RfcSession, reference: string): Promise<string | undefined> {
    const r = await call(s, FM.readTable, {
      QUERY_TABLE: 'DFKKKO',
      DELIMITER: '|',
      ROWCOUNT: 1,
      OPTIONS: [{ TEXT: `XBLNR EQ '${reference}'` }],
      FIELDS: [{ FIELDNAME: 'OPBEL' }],
    });
    const data = Array.isArray(r.DATA) ? (r.DATA as { WA?: string }[]) : [];
    const first = data[0]?.WA?.trim();
    return first ? first : undefined;
  }

  /** Runs a posting BAPI, then commits, or rolls back on TYPE E/A; one session. */
  private async postAndCommit(
    s: RfcSession,
    fm: string,
    params: RfcParams,
    reference: (r: RfcResult) => string,
  ): Promise<WriteBackResult> {
    const r = await call(s, fm, params);
    const msgs = returnMessages(r.RETURN);
    if (failures(msgs).length > 0) {
      await call(s, FM.rollback, {}).catch(() => undefined); // the LUW dies with the session anyway
      throw returnError(fm, msgs);
    }
    let committed: RfcResult;
    try {
      committed = await s.call(FM.commit, { WAIT: 'X' });
    } catch (err) {
      throw toRfcError(err, FM.commit, true);
    }
    const commitMsgs = returnMessages(committed.RETURN);
    if (failures(commitMsgs).length > 0) {
      // The update task failed or its outcome is unclear: never "failed"; the next delivery looks the reference up.
      const e = returnError(FM.commit, commitMsgs, true);
      throw e instanceof ConnectorError ? e : new ConnectorError(e.message, { indeterminate: true, cause: e });
    }
    return { status: 'delivered', sourceReference: reference(r) };
  }

  async check(): Promise<HealthReport> {
    const checks: HealthCheck[] = [];
    try {
      await this.transport.open();
      checks.push({ name: 'transport', ok: true, detail: `${this.transport.name} loaded` });
    } catch (err) {
      checks.push({ name: 'transport', ok: false, detail: errorText(err) });
      return { ok: false, checks };
    }
    try {
      await call(this.transport, FM.ping, {});
      checks.push({ name: 'connection', ok: true, detail: 'RFC_PING answered' });
    } catch (err) {
      checks.push({ name: 'connection', ok: false, detail: errorText(err) });
      return { ok: false, checks };
    }
    const unit = this.units()[0]!;
    try {
      const rows = await unit.read(this.transport, this.keyDate());
      checks.push({ name: 'authorization', ok: true, detail: `${unit.label}: ${rows.length} open item(s)` });
    } catch (err) {
      checks.push({ name: 'authorization', ok: false, detail: `${unit.label}: ${errorText(err)}` });
    }
    return { ok: checks.every((c) => c.ok), checks };
  }

  private async open(): Promise<void> {
    try {
      await this.transport.open();
    } catch (err) {
      throw toRfcError(err, 'open');
    }
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** One call with the error mapped to its tier. */
async function call(t: RfcSession | RfcTransport, fm: string, params: RfcParams): Promise<RfcResult> {
  try {
    return await t.call(fm, params);
  } catch (err) {
    throw toRfcError(err, fm);
  }
}

/** The rows of a table parameter; a RETURN with TYPE E/A is thrown in its tier. */
function lineItems(r: RfcResult, fm: string, table: string): Record<string, unknown>[] {
  const msgs = returnMessages(r.RETURN);
  if (failures(msgs).length > 0) throw returnError(fm, msgs);
  const rows = r[table];
  if (rows === undefined) return [];
  if (!Array.isArray(rows)) throw new ConnectorError(`${fm}: ${table} is not a table`, { code: 'BAD_RESPONSE' });
  return rows as Record<string, unknown>[];
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Creates an sap-rfc connector from options as a tenant config holds them. Without `transport`, node-rfc is used
 * (loaded on first use; its absence is an IntegrationError that says what to install).
 * @param baseDir - the installation directory (unused: no paths in the options; kept for the registry's signature).
 * @throws IntegrationError when an option is wrong.
 */
export function createSapRfcConnector(
  options: unknown,
  _baseDir = process.cwd(),
  transport?: RfcTransport,
): SapRfcConnector {
  const config = parseSapRfcConnectorConfig(options);
  return new SapRfcConnector(
    config,
    transport ??
      new NodeRfcTransport({
        connection: connectionParameters(config.connection),
        poolSize: config.poolSize,
        timeoutSeconds: config.timeoutSeconds,
      }),
  );
}
