/**
 * `clearhub dunning …`: runs, proposals (show, edit, approve), notices, holds, disputes, promises, plans, the
 * strategy on record and the collection agency's files. Thin: parse, call the dunning room, format.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readTextFile } from '../config/read-file';
import { isValidTimeZone, type TenantConfig } from '../config/schema';
import { checkCalendarDate } from '../domain/dates';
import { IntegrationError } from '../domain/errors';
import { formatMinor, parseAmountInput } from '../domain/money';
import { exportClaims, importAgencyStatus } from '../dunning/agency';
import { hhmmOf, localTime, mayContactAt } from '../dunning/calendar';
import { disputeItem, listHolds, paymentPlan, placeHold, promiseToPay, resolveHold } from '../dunning/holds';
import { editProposal, proposalCsv, proposalPage } from '../dunning/proposal';
import { type DunningRunResult, runDunning } from '../dunning/run';
import {
  approveRun,
  registerStrategy,
  levelWriteBackSources as sourcesOf,
  strategyForTenant,
  strategyOfRun,
} from '../dunning/service';
import type { CompiledStrategy } from '../dunning/strategy';
import { parseStrategy } from '../dunning/strategy-file';
import type { Runtime } from '../runtime';
import { printTable } from './table';

type WithRuntime = <T>(cmd: Command, fn: (rt: Runtime) => Promise<T>) => Promise<T>;

const today = () => new Date().toISOString().slice(0, 10);
const checkDate = checkCalendarDate;

const collect = (v: string, prev: string[] = []) => [...prev, v];
/** The options of `proposal edit` by the fields of the edit, which its errors name. */
const EDIT_OPTION_OF: Readonly<Record<string, string>> = { dropItems: '--drop-item', holdDebtors: '--hold-debtor' };

/** Registers the `dunning` command and its subcommands on the program. */
export function registerDunningCommands(program: Command, withRuntime: WithRuntime): void {
  const dunning = program.command('dunning').description('dunning runs, proposals, notices, holds and promises');

  dunning
    .command('run')
    .description(
      "run the tenant's strategy for a date: create one notice per debtor and send it, or stop at a proposal",
    )
    .option('--tenant <id>')
    .option('--as-of <date>', 'the run date, YYYY-MM-DD', today())
    .option('--proposal', 'stop at a proposal list for review (nothing is dunned until `dunning approve`)')
    .option('--csv <file>', 'with --proposal: write the proposal list as CSV')
    .option('--no-send', 'create the notices but do not send them')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      const asOf = checkDate(o.asOf, '--as-of');
      // Without --proposal the run dunns at once: a --csv asked for a review that would never happen.
      if (o.csv && !o.proposal) throw new IntegrationError('a CSV is written with --proposal only', '--csv');
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        await rt.registerTenant(cfg);
        const resolved = strategyForTenant(cfg, rt.home);
        const sources = sourcesOf(cfg);
        await registerStrategy(rt.store, cfg.tenant.id, resolved, sources);
        if (o.proposal) {
          const created = await runDunning(rt.store, {
            tenantId: cfg.tenant.id,
            strategy: resolved.strategy,
            asOf,
            levelWriteBackSources: sources,
            mode: 'proposal',
          });
          return showProposal(rt, cfg, resolved.strategy, created, o);
        }
        // The runtime's run takes the strategy just recorded, and sends with the tenant's channels.
        const wait = o.send ? contactWait(resolved.strategy, asOf) : undefined;
        const res = await rt.dunningRun({ tenantId: cfg.tenant.id, asOf, send: Boolean(o.send) && !wait });
        if (o.json)
          return console.log(
            JSON.stringify({ created: res.created, sent: res.sent, ...(wait ? { notSent: wait } : {}) }),
          );
        printRun(res.created as DunningRunResult);
        if (res.sent)
          console.log(
            `sent ${res.sent.sent}, bounced ${res.sent.bounced}, failed ${res.sent.failed}, deferred ${res.sent.deferred}`,
          );
        if (wait) console.log(wait);
      });
    });

  const proposal = dunning.command('proposal').description('review a proposal before it is approved');
  proposal
    .command('show')
    .argument('<run>', 'the run id, e.g. run-2026-11-20')
    .option('--tenant <id>')
    .option('--csv <file>', 'write the proposal list as CSV')
    .option('--json', 'print JSON')
    .action(async (runId: string, o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        const strategy = await strategyOfRun(rt.store, cfg.tenant.id, runId);
        await showProposal(rt, cfg, strategy, undefined, { ...o, runId });
      });
    });
  proposal
    .command('edit')
    .argument('<run>', 'the run id')
    .option('--tenant <id>')
    .option('--drop-item <id>', 'take an item (id or document number) off its notice; repeatable', collect)
    .option('--hold-debtor <id>', 'leave a debtor (id or customer number) out of this run; repeatable', collect)
    .option('--reason <text>', 'why (kept with held debtors)')
    .option('--json', 'print JSON')
    .action(async (runId: string, o, cmd: Command) => {
      if (!o.dropItem?.length && !o.holdDebtor?.length)
        throw new IntegrationError('say what to change: --drop-item and/or --hold-debtor', '--drop-item');
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        const r = await editProposal(rt.store, {
          tenantId: cfg.tenant.id,
          runId,
          dropItems: o.dropItem ?? [],
          holdDebtors: o.holdDebtor ?? [],
          ...(o.reason ? { reason: o.reason } : {}),
        }).catch((err: unknown) => {
          // The edit names its own fields; here they are options.
          if (err instanceof IntegrationError && err.field && EDIT_OPTION_OF[err.field]) {
            throw new IntegrationError(err.message.slice(err.field.length + 2), EDIT_OPTION_OF[err.field]);
          }
          throw err;
        });
        if (o.json) return console.log(JSON.stringify(r));
        console.log(
          `proposal ${runId}: dropped ${r.droppedItems.length} item(s), held ${r.heldDebtors.length} debtor(s)`,
        );
      });
    });

  dunning
    .command('approve')
    .description('approve a proposal: create its notices (as edited) and send them')
    .argument('<run>', 'the run id')
    .option('--tenant <id>')
    .option('--no-send', 'create the notices but do not send them')
    .option('--json', 'print JSON')
    .action(async (runId: string, o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        const created = await approveRun(rt.store, cfg.tenant.id, runId);
        const strategy = await strategyOfRun(rt.store, cfg.tenant.id, runId);
        const asOf = runId.replace(/^run-/, '');
        const wait = o.send ? contactWait(strategy, asOf) : undefined;
        // An approved proposal is its run: the runtime adds nothing to it and sends what is pending.
        const sent = o.send && !wait ? (await rt.dunningRun({ tenantId: cfg.tenant.id, asOf, send: true })).sent : null;
        if (o.json) return console.log(JSON.stringify({ created, sent, ...(wait ? { notSent: wait } : {}) }));
        printRun(created);
        if (sent) console.log(`sent ${sent.sent}, bounced ${sent.bounced}, failed ${sent.failed}`);
        if (wait) console.log(wait);
      });
    });

  dunning
    .command('notices')
    .description('notices of a run or a debtor')
    .option('--tenant <id>')
    .option('--run <id>')
    .option('--debtor <id>')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        let q = rt.store.db
          .selectFrom('notices')
          .select([
            'notice_id',
            'run_id',
            'debtor_id',
            'kind',
            'level',
            'segment',
            'channel',
            'tone',
            'address_form',
            'template',
            'currency',
            'total_minor',
            'fee_minor',
            'interest_minor',
            'lump_sum_minor',
            'scheduled_at',
            'status',
            'strategy',
            'strategy_version',
            'variant',
            'item_ids',
          ])
          .where('tenant_id', '=', cfg.tenant.id);
        if (o.run) q = q.where('run_id', '=', o.run);
        if (o.debtor) q = q.where('debtor_id', '=', o.debtor);
        const rows = await q.orderBy('run_id').orderBy('debtor_id').limit(10_000).execute();
        const out = rows.map((r) => ({
          noticeId: r.notice_id,
          runId: r.run_id,
          debtorId: r.debtor_id,
          kind: r.kind,
          level: r.level,
          segment: r.segment,
          channels: r.channel.split(','),
          tone: r.tone,
          address: r.address_form,
          template: r.template,
          total: formatMinor(r.total_minor, r.currency),
          fee: formatMinor(r.fee_minor, r.currency),
          interest: formatMinor(r.interest_minor, r.currency),
          lumpSum: formatMinor(r.lump_sum_minor, r.currency),
          due: formatMinor(r.total_minor + r.fee_minor + r.interest_minor + r.lump_sum_minor, r.currency),
          currency: r.currency,
          scheduledAt: r.scheduled_at,
          status: r.status,
          strategy: `${r.strategy} v${r.strategy_version}`,
          variant: r.variant,
          items: r.item_ids.length,
        }));
        if (o.json) return console.log(JSON.stringify(out));
        printTable(out, [
          'runId',
          'debtorId',
          'kind',
          'level',
          'segment',
          'channels',
          'tone',
          'due',
          'scheduledAt',
          'status',
        ]);
      });
    });

  // ---- holds, disputes, promises, plans ----
  dunning
    .command('holds')
    .description('holds that keep items out of dunning (disputes, promises, plans, agency, …)')
    .option('--tenant <id>')
    .option('--debtor <id>')
    .option('--kind <kind>')
    .option('--all', 'resolved ones too')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        const rows = await listHolds(rt.store, {
          tenantId: cfg.tenant.id,
          ...(o.debtor ? { debtorId: o.debtor } : {}),
          ...(o.kind ? { kind: o.kind } : {}),
          ...(o.all ? {} : { active: true }),
          limit: 10_000,
        });
        if (o.json) return console.log(JSON.stringify(rows));
        printTable(rows, ['holdId', 'debtorId', 'itemId', 'kind', 'reason', 'startsOn', 'endsOn', 'outcome']);
      });
    });
  const hold = dunning.command('hold').description('place or release a hold by hand');
  hold
    .command('add')
    .option('--tenant <id>')
    .option('--debtor <id>')
    .option('--item <id>', 'item id or document number')
    .requiredOption('--reason <text>')
    .option('--moratorium', 'a moratorium (legal) rather than a manual hold')
    .option('--from <date>', 'first day (default: today)')
    .option('--until <date>', 'last day (default: until released)')
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        const h = await placeHold(rt.store, {
          tenantId: cfg.tenant.id,
          ...(o.debtor ? { debtorId: o.debtor } : {}),
          ...(o.item ? { itemId: o.item } : {}),
          kind: o.moratorium ? 'moratorium' : 'manual',
          reason: o.reason,
          ...(o.from ? { startsOn: checkDate(o.from, '--from') } : {}),
          ...(o.until ? { endsOn: checkDate(o.until, '--until') } : {}),
        });
        if (o.json) return console.log(JSON.stringify(h));
        console.log(`hold ${h.holdId} placed on ${h.itemId ?? `debtor ${h.debtorId}`}`);
      });
    });
  hold
    .command('release')
    .argument('<hold>', 'hold id')
    .option('--tenant <id>')
    .requiredOption('--reason <text>', 'how it was resolved')
    .option('--json', 'print JSON')
    .action(async (holdId: string, o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const h = await resolveHold(rt.store, {
          tenantId: rt.tenant(o.tenant).tenant.id,
          holdId,
          resolution: o.reason,
        });
        if (o.json) return console.log(JSON.stringify(h));
        console.log(`hold ${h.holdId} released: the items are back in the strategy`);
      });
    });
  dunning
    .command('dispute')
    .description('dispute an item: it is not dunned until the dispute is resolved (`dunning hold release`)')
    .argument('<item>', 'item id or document number')
    .option('--tenant <id>')
    .requiredOption('--reason <text>')
    .option('--since <date>', 'when the debtor raised it (default: today)')
    .option('--json', 'print JSON')
    .action(async (itemId: string, o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const r = await disputeItem(rt.store, {
          tenantId: rt.tenant(o.tenant).tenant.id,
          itemId,
          reason: o.reason,
          ...(o.since ? { startsOn: checkDate(o.since, '--since') } : {}),
        });
        if (o.json) return console.log(JSON.stringify(r.hold));
        console.log(`${r.created ? 'dispute' : 'already disputed:'} ${r.hold.holdId} on item ${r.hold.itemId}`);
      });
    });
  dunning
    .command('promise')
    .description("record a debtor's promise to pay an amount by a date")
    .argument('<debtor>', 'debtor id')
    .option('--tenant <id>')
    .requiredOption('--amount <decimal>', 'e.g. 150.00')
    .requiredOption('--by <date>', 'the promised date')
    .option('--currency <code>', 'default: the tenant currency')
    .option('--item <id>', 'only these items (default: all open items); repeatable', collect)
    .option('--json', 'print JSON')
    .action(async (debtorId: string, o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        const currency = String(o.currency ?? cfg.tenant.currency).toUpperCase();
        const h = await promiseToPay(rt.store, {
          tenantId: cfg.tenant.id,
          debtorId,
          promisedOn: checkDate(o.by, '--by'),
          amountMinor: parseAmountInput(o.amount, currency, '--amount'),
          currency,
          ...(o.item ? { itemIds: o.item } : {}),
        });
        if (o.json) return console.log(JSON.stringify(h));
        console.log(`promise ${h.holdId}: ${o.amount} ${currency} by ${h.endsOn} on ${h.itemIds?.length ?? 0} item(s)`);
      });
    });
  dunning
    .command('plan')
    .description('agree a payment plan: instalments with due dates')
    .argument('<debtor>', 'debtor id')
    .option('--tenant <id>')
    .requiredOption('--instalment <date=amount>', 'e.g. 2026-12-01=50.00; repeat for each instalment', collect)
    .option('--currency <code>', 'default: the tenant currency')
    .option('--json', 'print JSON')
    .action(async (debtorId: string, o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        const currency = String(o.currency ?? cfg.tenant.currency).toUpperCase();
        const instalments = (o.instalment as string[]).map((s, k) => {
          const [date, amount, ...rest] = s.split('=');
          if (!date || !amount || rest.length > 0)
            throw new IntegrationError(`"${s}": expected <date>=<amount>, e.g. 2026-12-01=50.00`, '--instalment');
          return {
            dueOn: checkDate(date, '--instalment'),
            amountMinor: parseAmountInput(amount, currency, `--instalment ${k + 1}`),
          };
        });
        const h = await paymentPlan(rt.store, { tenantId: cfg.tenant.id, debtorId, currency, instalments });
        if (o.json) return console.log(JSON.stringify(h));
        console.log(`payment plan ${h.holdId}: ${instalments.length} instalments until ${h.endsOn}`);
      });
    });

  // ---- the strategy ----
  const strategy = dunning.command('strategy').description('the dunning strategy');
  strategy
    .command('check')
    .description('validate a strategy file and show its segments and levels')
    .argument('<file>', 'e.g. config/strategies/telco-de.v1.yaml')
    .option('--currency <code>', 'currency of its amounts', 'EUR')
    .option('--timezone <tz>', 'time zone of its hours', 'Europe/Berlin')
    .option('--json', 'print JSON')
    .action((file: string, o) => {
      if (!isValidTimeZone(o.timezone))
        throw new IntegrationError(`"${o.timezone}" is not an IANA time zone such as Europe/Berlin`, '--timezone');
      const s = parseStrategy(file, readTextFile(resolve(file)), {
        currency: String(o.currency).toUpperCase(),
        timezone: o.timezone,
      });
      const rows = s.segments.flatMap((seg) =>
        seg.levels.map((l) => ({
          segment: seg.name,
          level: l.level,
          name: l.name,
          days: l.daysPastDue,
          minAmount: formatMinor(l.minAmountMinor, s.currency),
          channel: [l.channel, ...l.fallbacks].join('>'),
          tone: l.tone,
          address: l.address,
          fee: formatMinor(l.feeMinor, s.currency),
          interest: l.interest ? 'yes' : 'no',
          actions: [
            ...l.actions.withdrawPaymentMethods.map((m) => `-${m}`),
            ...(l.actions.restrictContract ? ['restrict'] : []),
            ...(l.actions.handOff ? [`agency:${l.actions.handOff}`] : []),
            ...(l.final ? [`final:${l.final}`] : []),
          ].join(' '),
        })),
      );
      if (o.json) return console.log(JSON.stringify({ strategy: s.name, version: s.version, levels: rows }));
      console.log(
        `${s.name} v${s.version}: ${s.segments.length} segments; conditions read ${[...s.uses].sort().join(', ')}`,
      );
      printTable(rows, [
        'segment',
        'level',
        'name',
        'days',
        'minAmount',
        'channel',
        'tone',
        'address',
        'fee',
        'interest',
        'actions',
      ]);
    });
  strategy
    .command('register')
    .description("record the tenant's strategy version (the API runs the recorded one)")
    .option('--tenant <id>')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        await rt.registerTenant(cfg);
        const r = strategyForTenant(cfg, rt.home);
        await registerStrategy(rt.store, cfg.tenant.id, r, sourcesOf(cfg));
        console.log(`strategy ${r.strategy.name} v${r.strategy.version} (${r.origin}) recorded for ${cfg.tenant.id}`);
      });
    });

  // ---- collection agency ----
  const agency = dunning.command('agency').description("the collection agency's claim and status files");
  agency
    .command('export')
    .description('write the claims handed to an agency since the last export as its claim file (CSV)')
    .requiredOption('--agency <name>')
    .requiredOption('--out <file>', 'where to write the claim file')
    .option('--tenant <id>')
    .action(async (o, cmd: Command) => {
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        const out = resolve(o.out);
        const write = (csv: string) => {
          try {
            writeFileSync(out, csv);
          } catch (err) {
            throw new IntegrationError(`cannot write ${out}: ${(err as Error).message}`, '--out');
          }
        };
        const r = await exportClaims(rt.store, { tenantId: cfg.tenant.id, agency: o.agency, file: out, write });
        console.log(`${r.claims} claim(s) for ${o.agency} written to ${out}`);
      });
    });
  agency
    .command('import')
    .description("read an agency's status file (claim_id,status,collected,note)")
    .argument('<file>')
    .requiredOption('--agency <name>')
    .option('--tenant <id>')
    .option('--json', 'print JSON')
    .action(async (file: string, o, cmd: Command) => {
      const text = readTextFile(resolve(file));
      await withRuntime(cmd, async (rt) => {
        const cfg = rt.tenant(o.tenant);
        const r = await importAgencyStatus(rt.store, { tenantId: cfg.tenant.id, agency: o.agency, file, text });
        if (o.json) return console.log(JSON.stringify(r));
        console.log(`${r.updated} claim(s) updated, ${r.returned} returned to dunning, ${r.unchanged} unchanged`);
      });
    });
}

function printRun(r: DunningRunResult): void {
  const verb = r.status === 'proposed' ? 'proposes' : 'created';
  console.log(
    `run ${r.runId} (${r.strategy.name} v${r.strategy.version}): ${verb} ${r.noticesCreated} notices for ${r.debtorsConsidered} debtors with open items`,
  );
  for (const [level, n] of Object.entries(r.byLevel)) console.log(`  level ${level}: ${n}`);
  for (const [segment, n] of Object.entries(r.bySegment)) console.log(`  segment ${segment}: ${n}`);
  for (const [reason, n] of Object.entries(r.skipped)) console.log(`  not dunned (${reason}): ${n}`);
  if (r.thanks) console.log(`  thank-you messages: ${r.thanks}`);
}

async function showProposal(
  rt: Runtime,
  cfg: TenantConfig,
  strategy: CompiledStrategy,
  created: DunningRunResult | undefined,
  o: { json?: boolean; csv?: string; runId?: string },
): Promise<void> {
  const runId = created?.runId ?? o.runId!;
  const tenantId = cfg.tenant.id;
  if (o.csv) {
    const chunks: string[] = [];
    const lines = await proposalCsv(rt.store, { tenantId, runId, strategy, currency: cfg.tenant.currency }, (c) =>
      chunks.push(c),
    );
    writeFileSync(resolve(o.csv), chunks.join(''));
    if (!o.json) console.error(`proposal ${runId}: ${lines} line(s) written to ${o.csv}`);
  }
  const notices = [];
  let cursor: string | undefined;
  do {
    const page = await proposalPage(rt.store, {
      tenantId,
      runId,
      strategy,
      ...(cursor ? { cursor } : {}),
      limit: 1000,
    });
    notices.push(...page.notices);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  if (o.json)
    return console.log(JSON.stringify({ runId, status: 'proposed', ...(created ? { created } : {}), notices }));
  if (created) printRun(created);
  const cur = cfg.tenant.currency;
  printTable(
    notices.map((n) => ({
      debtor: n.debtorId,
      name: n.name ?? '',
      segment: n.segment,
      level: n.notice ? `${n.notice.level} ${n.notice.levelName}` : '-',
      channels: n.notice?.channels.join('>') ?? '',
      items: n.items.filter((i) => !i.dropped).length,
      due: n.notice ? formatMinor(n.notice.dueMinor, cur) : '',
      held: n.held ? 'held' : '',
    })),
    ['debtor', 'name', 'segment', 'level', 'channels', 'items', 'due', 'held'],
  );
  console.log(`approve with: clearhub dunning approve ${runId}`);
}

/**
 * Why notices may not go out now, or undefined when they may: the guardrails allow contacts on business days outside
 * the quiet hours, and not before the run date. Notices left unsent wait for the next send.
 */
function contactWait(strategy: CompiledStrategy, asOf: string): string | undefined {
  const cal = strategy.guardrails.calendar;
  const now = new Date();
  if (localTime(now, cal.timezone).date >= asOf && mayContactAt(cal, now)) return undefined;
  return `not sent now: contacts are allowed on business days from ${hhmmOf(cal.quietTo)} to ${hhmmOf(cal.quietFrom)} (${cal.timezone}), not before the run date; the notices wait for the next send`;
}
