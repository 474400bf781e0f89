import { existsSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { createApiKey } from '../api/api-keys';
import { createLogger } from '../api/logger';
import { parseCamt } from '../cash/camt';
import { parseMt940Buffer } from '../cash/mt940';
import { xmlText } from '../cash/read';
import { initTenant } from '../config/init';
import { loadTenantConfig } from '../config/load';
import { lenientEnv } from '../config/secrets';
import { IntegrationError } from '../domain/errors';
import { formatMinor, parseAmountInput } from '../domain/money';
import {
  BUSINESS_LUMP_SUM_MINOR,
  defaultInterest,
  loadBaseRates,
  SURCHARGE_BASIS_POINTS,
} from '../dunning/legal/interest';
import { offerableMethods, unservedTenantMethods } from '../gateway/catalogue';
import { capabilityMatrix } from '../gateway/matrix';
import { compileMapping } from '../mapping/compile';
import { loadMappingFile } from '../mapping/load';
import { readSample, testMapping } from '../mapping/sample';
import { countOutbox, listOutbox, replayDeadLetters } from '../routing/outbox';
import { relayAll, startWriteBackWorker, sweepStale } from '../routing/relay';
import { packageRoot, type Runtime } from '../runtime';
import { listQuarantine } from '../sync/sync';
import { homeOf, withRuntime } from './context';
import { runDemo } from './demo';
import { registerDunningCommands } from './dunning';
import { registerEpcQr } from './epc-qr';
import { registerGatewayCommands } from './gateway';
import { registerReconcile } from './reconcile';
import { serve } from './serve';
import { registerStatementImport } from './statement-import';
import { printTable } from './table';
import { registerTemplatePreview } from './template-preview';

export function buildProgram(): Command {
  const program = new Command('clearhub')
    .description('Open-source order-to-cash middleware: subledgers in, dunning out, payments in, write-backs back.')
    .option(
      '--home <dir>',
      'installation directory holding config/tenants and data (default: $CLEARHUB_HOME or the current directory)',
    )
    .showHelpAfterError()
    // Commander exits 1 on a usage mistake, which scripts would take for a failed check: main() makes it 2.
    .exitOverride();

  program
    .command('migrate')
    .description('create or update the database schema (DATABASE_URL, or embedded PGlite under <home>/.clearhub/db)')
    .action(async (_o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        console.log(`schema is current on ${rt.store.dialect}`);
      });
    });

  program
    .command('init')
    .description('create a tenant from a golden-client profile')
    .requiredOption('--profile <name>', 'profile in config/profiles (telco-de, ecommerce-de)')
    .requiredOption('--tenant <id>', 'tenant id, [a-z0-9-]')
    .requiredOption('--name <name>', "the customer's display name")
    .option('--country <cc>', 'ISO 3166 country', 'DE')
    .option('--currency <code>', 'ISO 4217 currency', 'EUR')
    .option('--force', 'overwrite an existing tenant file')
    .action(async (o, cmd: Command) => {
      const home = homeOf(cmd);
      const file = initTenant({
        profile: o.profile,
        tenant: o.tenant,
        name: o.name,
        country: o.country,
        currency: o.currency,
        home,
        force: Boolean(o.force),
      });
      await withRuntime(cmd, async (rt) => rt.registerTenant(rt.tenant(o.tenant), o.profile));
      console.log(`tenant ${o.tenant} written to ${file}`);
    });

  program
    .command('sync')
    .description('pull open items and customers from the tenant’s sources')
    .option('--tenant <id>')
    .option('--source <name>', 'only this source')
    .option('--full', 're-read everything, ignoring the checkpoints (unchanged records still change nothing)')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const res = await rt.sync(o.tenant, o.source, undefined, { full: Boolean(o.full) });
        if (o.json) return console.log(JSON.stringify(res));
        printTable(
          Object.entries(res).map(([source, r]) => ({ source, ...r })),
          ['source', 'records', 'inserted', 'updated', 'unchanged', 'quarantined', 'debtorsCreated'],
        );
      });
    });

  registerDunningCommands(program, withRuntime);

  program
    .command('worker')
    .description('relay the outbox to the queue and deliver write-backs (run as many as you like)')
    .option('--concurrency <n>', 'write-backs delivered at once', '4')
    .option('--once', 'deliver what is pending, then exit')
    .option('--poll-ms <ms>', 'how often the relay looks for new outbox rows', '500')
    .action(async (o, cmd: Command) => {
      const concurrency = wholeNumber(o.concurrency, '--concurrency', 1);
      const pollMs = wholeNumber(o.pollMs, '--poll-ms', 1);
      await withRuntime(cmd, async (rt) => {
        const retry = rt.retryPolicy(rt.tenantIds().length ? rt.tenant(rt.tenantIds()[0]) : undefined);
        let delivered = 0;
        let dead = 0;
        const logger = createLogger({ level: process.env.LOG_LEVEL ?? (o.once ? 'warn' : 'info'), json: true });
        const consumer = await startWriteBackWorker(rt.store, rt.queue, rt.resolveTarget, {
          logger,
          concurrency,
          onDelivered: () => delivered++,
          onDeadLetter: () => dead++,
        });
        // Webhook events and status syncs of the payment gateway, for tenants that have one.
        const gateway = rt.gatewayTenantIds().length ? await rt.startGatewayWorker() : undefined;
        if (o.once) {
          // Rows a stopped worker left enqueued may have lost their jobs with it (the in-process queue, a flushed
          // Redis), and waiting for them would never end. Re-adding is a no-op for a job the queue still holds.
          await sweepStale(rt.store, rt.queue, 0, retry);
          await relayAll(rt.store, rt.queue, retry);
          await waitForOutbox(rt);
          await consumer.close();
          await gateway?.close();
          const maintained = await rt.maintainEmbeddedStore();
          console.log(
            `delivered ${delivered}, dead letters ${dead}${maintained ? '; embedded store vacuumed and analysed' : ''}`,
          );
          return;
        }
        const stop = new AbortController();
        for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
        console.log(`worker ${process.pid} consuming write-backs on ${rt.queue.kind}`);
        let sweepAt = Date.now() + 60_000;
        while (!stop.signal.aborted) {
          await relayAll(rt.store, rt.queue, retry);
          if (Date.now() > sweepAt) {
            await sweepStale(rt.store, rt.queue, 10 * 60_000, retry);
            sweepAt = Date.now() + 60_000;
            // The embedded store has no autovacuum: the worker does it, at most hourly.
            if (await rt.maintainEmbeddedStore()) logger.info('embedded store vacuumed and analysed', {});
          }
          await new Promise((r) => setTimeout(r, pollMs));
        }
        await consumer.close();
        await gateway?.close();
      });
    });

  const outbox = program.command('outbox').description('write-backs waiting, delivered or dead');
  outbox
    .command('list')
    .option('--tenant <id>')
    .addOption(new Option('--status <status>', 'filter').choices(['pending', 'enqueued', 'delivered', 'dead']))
    .option('--json')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const rows = await listOutbox(rt.store.db, { tenantId: o.tenant, status: o.status });
        if (o.json) return console.log(JSON.stringify(rows));
        printTable(rows, ['outboxId', 'source', 'kind', 'status', 'attempts', 'lastError']);
        console.log(JSON.stringify(await countOutbox(rt.store.db, o.tenant)));
      });
    });
  outbox
    .command('replay')
    .argument('[ids...]', 'outbox ids of dead letters')
    .option('--all', 'every dead letter')
    .option('--tenant <id>')
    .action(async (ids: string[], o, cmd: Command) => {
      if (!o.all && ids.length === 0) throw new IntegrationError('give outbox ids or --all', 'ids');
      await withRuntime(cmd, async (rt) => {
        const replayed = await replayDeadLetters(rt.store.db, { outboxIds: ids, all: o.all, tenantId: o.tenant });
        console.log(
          `replayed ${replayed.length}: ${replayed.join(', ') || '(none were dead)'}; a worker delivers them`,
        );
      });
    });

  const mapping = program.command('mapping').description('mapping files');
  mapping
    .command('test')
    .description('show what a sample of source records becomes, and why each rejected record was rejected')
    .argument('<mapping>', 'mapping file, e.g. mappings/csv-generic.v1.yaml')
    .argument('<file>', 'sample records: CSV with a header, or JSON (array, OData {"d":{"results":[…]}})')
    .option('--json', 'print JSON')
    .action(async (mappingFile: string, file: string, o) => {
      // A mapping path is looked up from the current directory, then from the package (mappings/ ships with it).
      const local = resolve(mappingFile);
      const compiled = compileMapping(loadMappingFile(existsSync(local) ? local : resolve(packageRoot(), mappingFile)));
      const outcomes = testMapping(compiled, readSample(resolve(file)));
      if (o.json) return console.log(JSON.stringify(outcomes));
      const where = extname(file).toLowerCase() === '.csv' ? 'line' : 'record';
      printTable(
        outcomes.map(({ position, result: r }) =>
          r.ok
            ? {
                [where]: position,
                result: 'ok',
                sourceKey: r.item.sourceKey,
                customer: `${r.debtor.externalId} ${r.debtor.name}`,
                amount: `${formatMinor(r.item.amountMinor, r.item.currency)} ${r.item.currency}`,
                open: formatMinor(r.item.openMinor, r.item.currency),
                due: r.item.dueDate,
                level: r.item.dunningLevel,
                reason: '',
              }
            : {
                [where]: position,
                result: r.skipped ? 'skipped' : 'rejected',
                sourceKey: '',
                customer: '',
                amount: '',
                open: '',
                due: '',
                level: '',
                reason: r.reason,
              },
        ),
        [where, 'result', 'sourceKey', 'customer', 'amount', 'open', 'due', 'level', 'reason'],
      );
      const ok = outcomes.filter((x) => x.result.ok).length;
      console.log(`${ok} of ${outcomes.length} records map (${compiled.mappingName} v${compiled.mappingVersion})`);
      if (ok < outcomes.length) process.exitCode = 1;
    });

  program
    .command('doctor')
    .description(
      'check the database, every configured source (mapping valid, reachable, authenticated, permitted), provider and channel',
    )
    .option('--tenant <id>')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const rows = await rt.doctor(o.tenant);
        if (rows.some((r) => r.ok === 'FAIL')) process.exitCode = 1;
        if (o.json) return console.log(JSON.stringify(rows));
        printTable(rows, ['source', 'kind', 'check', 'ok', 'detail']);
      });
    });

  program
    .command('interest')
    .description('German default interest (§288 BGB) per day across base-rate periods')
    .requiredOption('--amount <amount>', 'the amount in default, e.g. 10000.00')
    .option('--currency <code>', 'currency', 'EUR')
    .requiredOption('--from <date>', 'first day of default (YYYY-MM-DD), inclusive')
    .requiredOption('--to <date>', 'last day (YYYY-MM-DD), inclusive')
    .option('--consumer', 'a consumer is party: base rate + 5 points')
    .option('--business', 'no consumer is party: base rate + 9 points (and the €40 lump sum, §288 (5))')
    .addOption(
      new Option('--day-count <convention>', 'days per year').choices(['act/365', 'act/act']).default('act/365'),
    )
    .option('--json', 'print JSON')
    .action(async (o) => {
      if (Boolean(o.consumer) === Boolean(o.business))
        throw new IntegrationError('say --consumer or --business', '--consumer');
      const currency = String(o.currency).toUpperCase();
      const table = loadBaseRates(resolve(packageRoot(), 'config/legal/de-base-rate.yaml'));
      const r = defaultInterest({
        amountMinor: parseAmountInput(o.amount, currency, '--amount'),
        from: o.from,
        to: o.to,
        surchargeBasisPoints: o.consumer ? SURCHARGE_BASIS_POINTS.consumer : SURCHARGE_BASIS_POINTS.business,
        table,
        dayCount: o.dayCount,
      });
      const pct = (bp: number) => (bp / 100).toFixed(2);
      if (o.json) {
        return console.log(
          JSON.stringify({
            interest: { value: formatMinor(r.interestMinor, currency), currency, minor: r.interestMinor },
            days: r.days,
            dayCount: o.dayCount,
            ...(o.business
              ? {
                  lumpSum: {
                    value: formatMinor(BUSINESS_LUMP_SUM_MINOR, 'EUR'),
                    currency: 'EUR',
                    minor: BUSINESS_LUMP_SUM_MINOR,
                  },
                }
              : {}),
            periods: r.periods.map((p) => ({
              ...p,
              baseRate: pct(p.baseRateBasisPoints),
              rate: pct(p.rateBasisPoints),
            })),
          }),
        );
      }
      printTable(
        r.periods.map((p) => ({
          from: p.from,
          to: p.to,
          days: p.days,
          baseRate: `${pct(p.baseRateBasisPoints)} %`,
          rate: `${pct(p.rateBasisPoints)} %`,
          interest: formatMinor(p.interestMinor, currency),
        })),
        ['from', 'to', 'days', 'baseRate', 'rate', 'interest'],
      );
      console.log(
        `interest: ${formatMinor(r.interestMinor, currency)} ${currency} for ${r.days} days (${o.dayCount}, rounded half up once at the end)`,
      );
      if (o.business) console.log(`plus the lump sum of 40.00 EUR a business creditor may claim (§288 (5) BGB)`);
    });

  const quarantine = program.command('quarantine').description('records a source sent that could not be mapped');
  quarantine
    .command('list')
    .option('--tenant <id>')
    .option('--source <name>')
    .option('--json')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const rows = await listQuarantine(rt.store, rt.tenant(o.tenant).tenant.id, o.source);
        if (o.json) return console.log(JSON.stringify(rows));
        printTable(rows, ['source', 'file', 'line', 'field', 'reason']);
      });
    });

  const apikey = program.command('apikey').description('tenant API keys');
  apikey
    .command('create')
    .option('--tenant <id>')
    .option('--label <label>', 'what the key is for', '')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        await rt.registerTenant(cfg);
        const key = await createApiKey(rt.store, cfg.tenant.id, o.label);
        console.log(`key ${key.keyId} for ${cfg.tenant.id} (shown once):\n${key.token}`);
      });
    });

  // --- clearhub methods: the payment-method catalogue (src/gateway/catalogue); reads config only, no database ---
  program
    .command('methods')
    .description('payment methods that can be offered for a country, currency and amount, and the provider of each')
    .option('--country <cc>', 'ISO 3166 country (default: the tenant’s with --tenant, else any)')
    .option('--currency <code>', 'ISO 4217 currency (default: the tenant’s with --tenant, else any)')
    .option('--amount <decimal>', 'amount in major units, e.g. 19.99 (needs a currency)')
    .option('--tenant <id>', 'only the tenant’s configured paymentMethods, in their order')
    .option('--json', 'print JSON')
    .option('--matrix', 'print the method × provider capability matrix (Markdown, as in the README)')
    .action((o, cmd: Command) => {
      if (o.matrix) return console.log(capabilityMatrix());
      const tenant = o.tenant ? loadTenantForMethods(homeOf(cmd), String(o.tenant)) : undefined;
      const country = o.country ? String(o.country).toUpperCase() : tenant?.tenant.country;
      const currency = o.currency ? String(o.currency).toUpperCase() : tenant?.tenant.currency;
      if (o.amount !== undefined && !currency) throw new IntegrationError('an amount needs --currency', '--amount');
      const amountMinor =
        o.amount !== undefined && currency ? parseAmountInput(String(o.amount), currency, '--amount') : undefined;
      const offers = offerableMethods({
        country,
        currency,
        amountMinor,
        tenantMethods: tenant?.paymentMethods,
      });
      for (const u of tenant ? unservedTenantMethods(tenant.paymentMethods) : []) {
        console.error(`note: ${u.method} via ${u.provider} is not offered: ${u.reason}`);
      }
      const rows = offers.map((x) => ({
        method: x.method.id,
        name: x.method.name,
        flow: x.method.flow,
        provider: x.provider,
        providerType: x.providerType,
        fallback: x.providers.slice(1).join(', '),
        refund: x.method.refund,
        recurring: x.method.recurring,
      }));
      if (o.json) {
        return console.log(
          JSON.stringify(
            offers.map((x) => ({
              method: x.method.id,
              name: x.method.name,
              flow: x.method.flow,
              provider: x.provider,
              providerType: x.providerType,
              providers: x.providers,
              refund: x.method.refund,
              recurring: x.method.recurring,
            })),
          ),
        );
      }
      printTable(rows, ['method', 'name', 'flow', 'provider', 'providerType', 'fallback', 'refund', 'recurring']);
    });
  // --- end clearhub methods ---

  // --- clearhub statement: bank statements (src/cash); parse reads the file only, import is in statement-import.ts ---
  const statement = program.command('statement').description('bank statements: camt.052/053/054 and MT940');
  statement
    .command('parse <file>')
    .description('read a camt.052/053/054 or MT940 file and print its statements (amounts signed, credits positive)')
    .option('--json', 'print one JSON object {"statements":[…]}')
    .action((file: string, o: { json?: boolean }) => {
      const statements = parseStatementFile(file);
      if (o.json) {
        console.log(JSON.stringify({ statements }));
        return;
      }
      for (const s of statements) {
        const bal = (b: typeof s.openingBalance) => (b ? `${formatMinor(b.amountMinor, s.currency)} (${b.date})` : '-');
        console.log(`${s.id ?? ''} ${s.account} ${s.currency}: ${bal(s.openingBalance)} → ${bal(s.closingBalance)}`);
        printTable(
          s.entries.map((e) => ({
            booked: e.bookingDate,
            amount: formatMinor(e.amountMinor, s.currency),
            counterparty: e.counterparty?.name ?? '',
            reference: e.creditorReference ?? e.endToEndId ?? '',
            remittance: e.remittance ?? '',
            returnReason: e.returnReason ?? '',
          })),
          ['booked', 'amount', 'counterparty', 'reference', 'remittance', 'returnReason'],
        );
      }
    });
  registerStatementImport(statement);
  // --- end clearhub statement ---

  program
    .command('serve')
    .description('run the HTTP API')
    .option('--port <port>', 'port', process.env.PORT ?? '8080')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .action(async (o, cmd: Command) => {
      const port = wholeNumber(o.port, '--port', 0);
      if (port > 65_535) throw new IntegrationError(`"${o.port}" is not a port (0–65535)`, '--port');
      await serve({ home: homeOf(cmd), port, host: o.host });
    });

  program
    .command('demo')
    .description('the whole loop on the embedded defaults: tenant, CSV subledger, sync, dunning, payments, write-backs')
    .option('--items <n>', 'open items to generate', '10000')
    .option('--debtors <n>', 'debtors to generate', '2000')
    .option('--dir <dir>', 'where the demo keeps its files (default: a new directory under ./.clearhub/)')
    .option('--seed <n>', 'random seed', '42')
    .option('--json', 'print one JSON object')
    .option(
      '--profile <name>',
      'telco-de: every subledger of the golden profile on built-in simulators (CSV export, SAP FI-CA over RFC, legacy SOAP billing), one notice per debtor across them',
    )
    .action(async (o) => {
      await runDemo({
        items: wholeNumber(o.items, '--items', 1),
        debtors: wholeNumber(o.debtors, '--debtors', 1),
        dir: o.dir,
        seed: wholeNumber(o.seed, '--seed', 0),
        json: Boolean(o.json),
        ...(o.profile ? { profile: String(o.profile) } : {}),
      });
    });

  registerEpcQr(program);
  registerGatewayCommands(program);
  registerTemplatePreview(program);
  registerReconcile(program);
  return program;
}

/** A count typed on the command line: `Number()` would take "abc" as NaN and "1e3" or "" as numbers. */
function wholeNumber(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new IntegrationError(`"${text}" is not a whole number of at least ${min}`, flag);
  }
  return n;
}

/** The tenant file alone: `methods` needs the configuration, not the store that `Runtime.open` starts. */
function loadTenantForMethods(home: string, id: string) {
  const file = join(resolve(home), 'config', 'tenants', `${id}.yaml`);
  if (!existsSync(file)) throw new IntegrationError(`no tenant "${id}" (looked for ${file})`, 'tenant');
  return loadTenantConfig(file, { env: lenientEnv(), tenantId: id });
}

async function waitForOutbox(rt: Runtime): Promise<void> {
  for (;;) {
    const c = await countOutbox(rt.store.db);
    if (c.pending === 0 && c.enqueued === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** camt when the file is XML, MT940 otherwise. Unreadable files raise an IntegrationError naming the file. */
function parseStatementFile(file: string) {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new IntegrationError(`cannot read ${file}: ${(err as Error).message}`, 'file');
  }
  const head = buf
    .subarray(0, 64)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (head.startsWith('<?xml') || head.startsWith('<Document') || /^<\w+:Document/.test(head)) {
    return parseCamt(xmlText(buf, file), file);
  }
  return parseMt940Buffer(buf, file);
}

export async function main(argv = process.argv): Promise<void> {
  // Node exits 0 when nothing is left to wait for, even in the middle of an await: a command that waits for itself
  // (a lock held on the only connection it needs) would end silently "successfully". Say so, and fail.
  let finished = false;
  const unfinished = (code: number) => {
    if (finished || code !== 0) return;
    process.stderr.write(
      'clearhub: the command stopped before it finished (it waited for something that never came)\n',
    );
    process.exitCode = 70;
  };
  process.once('exit', unfinished);
  try {
    await buildProgram().parseAsync(argv);
    finished = true;
  } catch (err) {
    finished = true;
    if (err instanceof CommanderError) {
      // Commander has printed the mistake and the usage (or the help that was asked for).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof IntegrationError || (err instanceof Error && err.name === 'ConfigError')) {
      console.error(`clearhub: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    console.error(`clearhub: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
