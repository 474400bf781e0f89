import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { IntegrationError } from '../domain/errors';
import { formatMinor } from '../domain/money';
import { payLinkUrl } from '../gateway/paylink';
import type { SepaDirectDebitProvider } from '../gateway/providers/sepa-direct-debit/provider';
import { reconcileProviders } from '../gateway/reconcile';
import { type SyncSummary, syncDuePayments } from '../gateway/status-sync';
import { processWebhookEvent } from '../gateway/webhooks';
import type { Runtime } from '../runtime';
import { withRuntime } from './context';
import { printTable } from './table';

const tenantsOf = (rt: Runtime, tenant?: string) => (tenant ? [tenant] : rt.gatewayTenantIds());

/** `clearhub payments …`, `clearhub webhooks …`, `clearhub sepa collect`, `clearhub paylink`. */
export function registerGatewayCommands(program: Command): void {
  const payments = program.command('payments').description('online payments: status sync and reconciliation');
  payments
    .command('sync')
    .description('ask the providers now about payments whose outcome is unknown (workers do this every 15 s)')
    .option('--tenant <id>', 'only this tenant')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const out: Record<string, SyncSummary> = {};
        for (const id of tenantsOf(rt, o.tenant)) out[id] = await syncDuePayments(rt.gateway(), id);
        if (o.json) console.log(JSON.stringify(out));
        else {
          printTable(
            Object.entries(out).map(([tenant, s]) => ({ tenant, ...s })),
            ['tenant', 'checked', 'resolved', 'stillUnknown', 'waitingForWebhook'],
          );
        }
      });
    });
  payments
    .command('reconcile')
    .description("compare our payments with what the providers say; --fix applies the provider's word")
    .option('--tenant <id>', 'only this tenant')
    .option('--since <date>', 'payments created on or after this day', daysAgo(30))
    .option('--fix', 'apply what the providers report where the state machine allows it')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        let differences = 0;
        const out: Record<string, unknown> = {};
        for (const id of tenantsOf(rt, o.tenant)) {
          const r = await reconcileProviders(rt.gateway(), id, { since: o.since, fix: Boolean(o.fix) });
          differences += r.differences.filter((d) => !d.fixed).length;
          out[id] = r;
          if (!o.json) {
            console.log(`${id}: ${r.checked} checked, ${r.agreed} agree, ${r.differences.length} differences`);
            if (r.differences.length) {
              printTable(
                r.differences.map((d) => ({
                  kind: d.kind,
                  payment: d.paymentId ?? '',
                  provider: d.provider,
                  ours: d.ours ? `${d.ours.state} ${d.ours.capturedMinor}` : '',
                  theirs: d.theirs ? `${d.theirs.state} ${d.theirs.capturedMinor}` : '',
                  fixed: d.fixed ? 'yes' : '',
                  note: d.note,
                })),
                ['kind', 'payment', 'provider', 'ours', 'theirs', 'fixed', 'note'],
              );
            }
          }
        }
        if (o.json) console.log(JSON.stringify(out));
        if (differences > 0) process.exitCode = 1;
      });
    });

  const webhooks = program.command('webhooks').description('provider webhook events: list and replay');
  webhooks
    .command('list')
    .description('stored webhook events (failed ones are the dead letters of the gateway)')
    .option('--tenant <id>', 'only this tenant')
    .option('--status <status>', 'received, processed, ignored or failed', 'failed')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        let q = rt.store.db
          .selectFrom('webhook_events')
          .select(['tenant_id', 'provider', 'event_id', 'type', 'status', 'note', 'deliveries', 'received_at'])
          .where('status', '=', o.status)
          .orderBy('received_at', 'desc')
          .limit(Number(o.limit));
        if (o.tenant) q = q.where('tenant_id', '=', o.tenant);
        const rows = await q.execute();
        if (o.json) console.log(JSON.stringify(rows));
        else if (rows.length === 0) console.log(`no ${o.status} webhook events`);
        else
          printTable(rows, [
            'tenant_id',
            'provider',
            'event_id',
            'type',
            'status',
            'deliveries',
            'received_at',
            'note',
          ]);
      });
    });
  webhooks
    .command('replay')
    .description('process failed (or stuck) webhook events again, now, in this process')
    .argument('[eventIds...]', 'event ids; omitted with --all-failed')
    .option('--tenant <id>', 'only this tenant')
    .option('--all-failed', 'every failed event')
    .action(async (ids: string[], o, cmd: Command) => {
      if (!ids.length && !o.allFailed) throw new IntegrationError('give event ids or --all-failed', 'eventIds');
      await withRuntime(cmd, async (rt) => {
        let q = rt.store.db
          .selectFrom('webhook_events')
          .select(['tenant_id', 'provider', 'event_id'])
          .where('status', 'in', ['failed', 'received']);
        if (o.tenant) q = q.where('tenant_id', '=', o.tenant);
        if (ids.length) q = q.where('event_id', 'in', ids);
        const rows = await q.execute();
        const results: string[] = [];
        for (const r of rows) {
          await rt.store.db
            .updateTable('webhook_events')
            .set({ status: 'received', note: 'replayed' })
            .where('tenant_id', '=', r.tenant_id)
            .where('provider', '=', r.provider)
            .where('event_id', '=', r.event_id)
            .execute();
          try {
            const outcome = await processWebhookEvent(rt.gateway(), {
              tenantId: r.tenant_id,
              provider: r.provider,
              eventId: r.event_id,
            });
            results.push(`${r.event_id}: ${outcome}`);
          } catch (err) {
            await rt.store.db
              .updateTable('webhook_events')
              .set({ status: 'failed', note: (err as Error).message.slice(0, 500) })
              .where('tenant_id', '=', r.tenant_id)
              .where('provider', '=', r.provider)
              .where('event_id', '=', r.event_id)
              .execute();
            results.push(`${r.event_id}: failed again: ${(err as Error).message}`);
            process.exitCode = 1;
          }
        }
        console.log(results.length ? results.join('\n') : 'nothing to replay');
      });
    });

  program
    .command('sepa')
    .description('SEPA direct debit')
    .command('collect')
    .description('write the pain.008 file of the collections due for submission (one writer at a time)')
    .option('--tenant <id>', 'the tenant (may be omitted with one tenant)')
    .option('--out <dir>', 'folder for the file (default <home>/data/<tenant>/sepa/out)')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const tenantId = rt.tenant(o.tenant).tenant.id;
        const t = rt.gateway().tenant(tenantId);
        if (!t.router.has('sepa-direct-debit')) {
          throw new IntegrationError('the tenant has no sepa-direct-debit provider', 'gateway.providers');
        }
        const sdd = t.router.provider('sepa-direct-debit') as SepaDirectDebitProvider;
        // The folder is made and tried before any collection is marked submitted: a file that cannot be written must
        // not leave collections that no file carries.
        const dir = o.out ?? join(rt.home, 'data', tenantId, 'sepa', 'out');
        try {
          mkdirSync(dir, { recursive: true });
          accessSync(dir, constants.W_OK);
        } catch (err) {
          throw new IntegrationError(`cannot write to ${dir}: ${(err as Error).message}`, '--out');
        }
        // Two writers must never put one collection into two files: on a server the whole run holds a per-tenant
        // lock. The embedded store is one process's and has one connection, which the lock's transaction would hold
        // while the provider waits for it.
        const result =
          rt.store.dialect === 'pglite'
            ? await sdd.writeCollectionFile()
            : await rt.store.rawTransaction(async (s) => {
                await s.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 11))', [
                  `clearhub-sepa-collect|${tenantId}`,
                ]);
                return sdd.writeCollectionFile();
              });
        let path: string | undefined;
        if (result.file) {
          path = join(dir, `${result.file.fileId}.xml`);
          writeFileSync(path, result.file.xml);
        }
        if (o.json)
          console.log(JSON.stringify({ file: path ?? null, submitted: result.submitted, missed: result.missed }));
        else {
          console.log(path ? `wrote ${path}: ${result.submitted.length} collection(s)` : 'nothing due for submission');
          if (result.missed.length) {
            console.log(`missed their submission day (cancel and pre-notify anew): ${result.missed.join(', ')}`);
          }
        }
      });
    });

  program
    .command('paylink')
    .description("print a debtor's pay link (the hosted page that lists their open items)")
    .requiredOption('--debtor <id>', 'our debtor id')
    .option('--tenant <id>', 'the tenant (may be omitted with one tenant)')
    .option('--lang <lang>', 'de or en')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const tenantId = rt.tenant(o.tenant).tenant.id;
        const t = rt.gateway().tenant(tenantId);
        const open = await rt.store.db
          .selectFrom('items')
          .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('open_minor').as('sum'), 'currency'])
          .where('tenant_id', '=', tenantId)
          .where('debtor_id', '=', o.debtor)
          .where('status', '=', 'open')
          .groupBy('currency')
          .execute();
        if (open.length === 0) throw new IntegrationError(`debtor ${o.debtor} has no open items`, 'debtor');
        console.log(
          payLinkUrl(
            { publicUrl: t.publicUrl, secret: t.payLinkSecret, ttlDays: t.payLinkTtlDays },
            { tenantId, debtorId: o.debtor, ...(o.lang ? { lang: o.lang } : {}) },
          ),
        );
        for (const r of open) {
          console.error(`${r.n} open item(s), ${formatMinor(Number(r.sum), r.currency)} ${r.currency}`);
        }
      });
    });
}

function daysAgo(n: number): string {
  return new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
}
