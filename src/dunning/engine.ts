/**
 * The decision for one debtor in one run, as a pure function: segment (first match), holds and guardrails, each
 * item's level, then the notice's level, channel, fee, §288 interest, lump sum and send slot. No I/O: run.ts reads
 * the facts in batches, calls this per debtor and writes the outcome in batches.
 */
import { dateOfDay, dayNumber, type Facts, NEVER_DAYS } from '../rules/facts';
import { type ContactCalendar, contactSlot, holidayName, isBusinessDay, weekdayOf } from './calendar';
import { GERMAN_PACK } from './guardrails';
import {
  type CompiledStrategy,
  firstOverdueLevel,
  type NoticeChannelName,
  type Segment,
  type StrategyLevel,
} from './strategy';

export interface EngineDebtor {
  debtorId: string;
  type: 'B2B' | 'B2C';
  tags: readonly string[];
  language: string;
  country: string | null;
  email: string | null;
  phone: string | null;
  /** The day the debtor became a customer (first seen). */
  since: string;
}

export interface EngineItem {
  itemId: string;
  source: string;
  sourceKey: string;
  externalId: string;
  documentNumber: string;
  contractRef: string | null;
  currency: string;
  openMinor: number;
  dueDate: string;
  documentDate: string | null;
  level: number;
  lastDunnedOn: string | null;
  /** The source's dunning block; any non-empty value keeps the item out. */
  block: string | null;
}

export interface EngineHold {
  holdId: string;
  kind: string;
  itemId: string | null;
  /** Promise or plan: the items it covers; null: all of the debtor's items. */
  itemIds: readonly string[] | null;
  reason: string;
  startsOn: string;
  endsOn: string | null;
  /** Promise: the amount promised. */
  amountMinor: number | null;
  /** Promise or plan: what was paid on the covered items since it was made (up to the run date). */
  paidMinor: number;
  instalments?: readonly { dueOn: string; amountMinor: number }[];
}

export interface EngineHistory {
  /** Notices to the debtor in the 7 days up to the run date, this run's not counted. */
  contactsThisWeek: number;
  lastContactOn: string | null;
  brokenPromises: number;
  /** Basis points; 10000 when nothing was paid yet. */
  paidOnTimeBp: number;
  lastPaymentOn: string | null;
  returnedDebits: number;
}

export type SkipReason =
  | 'no-segment'
  | 'not-due'
  | 'held'
  | 'below-minimum'
  | 'contact-cap'
  | 'unreachable'
  | 'proposal-hold';

/** One item on a notice: where it was and where this notice takes it. */
export interface NoticeLine {
  item: EngineItem;
  levelBefore: number;
  level: number;
  daysPastDue: number;
  /** §288 interest on the item up to the run date, counted on the notice when its level has interest on. */
  interestMinor: number;
  interestFrom: string | null;
  interestTo: string | null;
  interestRateBp: number | null;
  /** €40 for a business debtor's item that never carried it, counted when the level has the lump sum on. */
  lumpSumMinor: number;
}

export interface HoldUpdate {
  holdId: string;
  outcome: 'kept' | 'broken';
}

export type DebtorDecision =
  | {
      kind: 'notice';
      segment: Segment;
      lines: NoticeLine[];
      reachable: NoticeChannelName[];
      holdUpdates: HoldUpdate[];
      /** Promises and plans broken now, whose resumption this notice is. */
      resumed: string[];
    }
  | { kind: 'skip'; reason: SkipReason; segment?: string; holdUpdates: HoldUpdate[] };

/** What a notice comes to once its lines are known (also what an edited proposal is re-settled into). */
export interface NoticeSettlement {
  level: StrategyLevel;
  /** The channel and its fallbacks the debtor can be reached on, in order. */
  channels: NoticeChannelName[];
  totalMinor: number;
  feeMinor: number;
  interestMinor: number;
  lumpSumMinor: number;
  scheduledAt: string;
  withdraw: readonly string[];
  restrictedContracts: string[];
  handOff?: string;
  final?: 'stop' | 'agency';
}

export interface InterestQuote {
  interestMinor: number;
  rateBasisPoints: number;
}

/** Per-run context: the strategy, the date and its calendar facts, the interest calculator. */
export interface EngineContext {
  strategy: CompiledStrategy;
  asOf: string;
  asOfDay: number;
  calendar: Facts['calendar'];
  /** §288 interest on `principal` from `from` to `to` inclusive, for a consumer or a business. */
  interest(principalMinor: number, from: string, to: string, business: boolean): InterestQuote;
  /** Items that already carried the €40 lump sum on an earlier notice. */
  lumpSumClaimed: ReadonlySet<string>;
}

export function calendarFacts(cal: ContactCalendar, asOf: string): Facts['calendar'] {
  return {
    weekday: weekdayOf(asOf),
    month: Number(asOf.slice(5, 7)),
    day: Number(asOf.slice(8, 10)),
    isHoliday: holidayName(cal, asOf) !== undefined,
    isBusinessDay: isBusinessDay(cal, asOf),
    today: dayNumber(asOf),
  };
}

/** Channels a debtor can be reached on: e-mail needs an address, SMS a phone number (and no `no-sms` tag). */
export function reachableChannels(d: EngineDebtor, requireConsentFor: readonly string[]): NoticeChannelName[] {
  const out: NoticeChannelName[] = [];
  if (d.email) out.push('email');
  if (d.phone && !d.tags.includes('no-sms')) out.push('sms');
  out.push('letter', 'webhook');
  return out.filter((c) => !requireConsentFor.includes(c) || d.tags.includes(`consent:${c}`));
}

function consentOf(tags: readonly string[]): string[] {
  return tags.filter((t) => t.startsWith('consent:')).map((t) => t.slice('consent:'.length));
}

const NO_CHANNELS: string[] = [];

const nextCache = new WeakMap<Segment, (StrategyLevel | undefined)[]>();
/** For each current level 0…max, the segment's next level above it (the one an item can rise to). */
function nextLevels(segment: Segment): (StrategyLevel | undefined)[] {
  let out = nextCache.get(segment);
  if (!out) {
    const top = segment.levels.at(-1)?.level ?? 0;
    out = Array.from({ length: top + 1 }, (_, k) => segment.levels.find((l) => l.level > k));
    nextCache.set(segment, out);
  }
  return out;
}

const daysFrom = (date: string | null, asOfDay: number): number =>
  date === null ? NEVER_DAYS : asOfDay - dayNumber(date);

/** Facts reused across debtors (one object per run: conditions only read it). */
export function emptyFacts(calendar: Facts['calendar']): Facts {
  return {
    debtor: { type: 'B2C', tags: [], tenureDays: 0, language: '', country: '', channels: [], consent: [] },
    item: { amount: 0, daysPastDue: 0, level: 0, contract: '', source: '', dueDate: 0, documentDate: 0 },
    account: { totalOverdue: 0, totalOpen: 0, oldestDaysPastDue: 0, itemCount: 0, overdueCount: 0, maxLevel: 0 },
    history: {
      paidOnTimeShare: 10_000,
      lastPaymentDays: NEVER_DAYS,
      brokenPromises: 0,
      returnedDebits: 0,
      lastContactDays: NEVER_DAYS,
    },
    calendar,
  };
}

/**
 * Fills the debtor and history facts of a debtor (all but the account, which comes from its items, and broken
 * promises, which its holds can add to). Returns the reachable channels when a condition reads them.
 */
export function fillDebtorFacts(
  ctx: EngineContext,
  facts: Facts,
  debtor: EngineDebtor,
  history: EngineHistory,
): NoticeChannelName[] | undefined {
  const { strategy, asOfDay } = ctx;
  // Channels and consent are worked out for every debtor only when a condition reads them; else for notices only.
  const reachable = strategy.uses.has('debtor.channels')
    ? reachableChannels(debtor, strategy.guardrails.requireConsentFor)
    : undefined;
  const d = facts.debtor;
  d.type = debtor.type;
  d.tags = debtor.tags as string[];
  d.tenureDays = asOfDay - dayNumber(debtor.since);
  d.language = debtor.language;
  d.country = debtor.country ?? '';
  d.channels = reachable ?? NO_CHANNELS;
  d.consent = strategy.uses.has('debtor.consent') ? consentOf(debtor.tags) : NO_CHANNELS;
  const h = facts.history;
  h.paidOnTimeShare = history.paidOnTimeBp;
  h.lastPaymentDays = daysFrom(history.lastPaymentOn, asOfDay);
  h.returnedDebits = history.returnedDebits;
  h.lastContactDays = daysFrom(history.lastContactOn, asOfDay);
  h.brokenPromises = history.brokenPromises;
  return reachable;
}

/**
 * Decides one debtor. `items` are the debtor's open items (any currency; only the strategy's currency is dunned),
 * `holds` its unresolved holds. `facts` is a scratch object (see {@link emptyFacts}) filled here.
 */
export function decideDebtor(
  ctx: EngineContext,
  facts: Facts,
  debtor: EngineDebtor,
  items: readonly EngineItem[],
  holds: readonly EngineHold[],
  history: EngineHistory,
): DebtorDecision {
  const { strategy, asOfDay } = ctx;
  const g = strategy.guardrails;
  let reachable = fillDebtorFacts(ctx, facts, debtor, history);
  const a = facts.account;
  a.totalOverdue = 0;
  a.totalOpen = 0;
  a.oldestDaysPastDue = 0;
  a.itemCount = 0;
  a.overdueCount = 0;
  a.maxLevel = 0;
  const dpd = new Array<number>(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    const days = asOfDay - dayNumber(it.dueDate);
    dpd[i] = days;
    if (it.currency !== strategy.currency || it.openMinor <= 0) continue;
    a.itemCount++;
    a.totalOpen += it.openMinor;
    if (days > 0) {
      a.overdueCount++;
      a.totalOverdue += it.openMinor;
    }
    if (days > a.oldestDaysPastDue) a.oldestDaysPastDue = days;
    if (it.level > a.maxLevel) a.maxLevel = it.level;
  }
  const h = facts.history;

  // ---- holds: which items are kept out, which promises and plans ended ----
  const holdUpdates: HoldUpdate[] = [];
  const resumed: string[] = [];
  let resumeAt = 0;
  let debtorHeld = false;
  const heldItems = new Set<string>();
  const hold = (covered: readonly string[] | null) => {
    if (covered === null) debtorHeld = true;
    else for (const id of covered) heldItems.add(id);
  };
  let brokenNow = 0;
  for (const hd of holds) {
    if (hd.startsOn > ctx.asOf) continue;
    const covered = hd.itemId ? [hd.itemId] : hd.itemIds;
    if (hd.kind === 'promise' || hd.kind === 'plan') {
      const rule = hd.kind === 'promise' ? strategy.promises : strategy.plans;
      const due =
        hd.kind === 'promise'
          ? [{ dueOn: hd.endsOn ?? ctx.asOf, amountMinor: hd.amountMinor ?? 0 }]
          : (hd.instalments ?? []);
      const total = due.reduce((s, x) => s + x.amountMinor, 0);
      const owedByNow = due
        .filter((x) => dayNumber(x.dueOn) + rule.graceDays < asOfDay)
        .reduce((s, x) => s + x.amountMinor, 0);
      if (hd.paidMinor >= total && total > 0) {
        holdUpdates.push({ holdId: hd.holdId, outcome: 'kept' });
      } else if (hd.paidMinor < owedByNow) {
        holdUpdates.push({ holdId: hd.holdId, outcome: 'broken' });
        resumed.push(hd.holdId);
        brokenNow++;
        resumeAt = Math.max(resumeAt, rule.resumeAtLevel);
      } else {
        hold(covered);
      }
      continue;
    }
    if (hd.endsOn !== null && hd.endsOn < ctx.asOf) continue;
    hold(covered);
  }
  h.brokenPromises = history.brokenPromises + brokenNow;

  // ---- segment: the first that matches ----
  const segment = strategy.segments.find((s) => s.condition.test(facts));
  if (!segment) return { kind: 'skip', reason: 'no-segment', holdUpdates };
  const levels = segment.levels;
  const firstDays = levels[0]!.daysPastDue;

  // ---- the due items, and where each goes ----
  const it = facts.item;
  const n = items.length;
  // Per item: its new level, or -1 when it is not on the notice (not due, held, another currency).
  const newLevel = new Array<number>(n);
  let heldDue = 0;
  let dueTotal = 0;
  let candidates = 0;
  for (let i = 0; i < n; i++) {
    newLevel[i] = -1;
    const item = items[i]!;
    const days = dpd[i]!;
    if (item.currency !== strategy.currency || item.openMinor <= 0 || days < firstDays) continue;
    if (
      debtorHeld ||
      (heldItems.size > 0 && heldItems.has(item.itemId)) ||
      (item.block !== null && item.block !== '')
    ) {
      heldDue++;
      continue;
    }
    if (g.moratoria.length > 0) {
      fillItem(it, item, days);
      if (g.moratoria.some((m) => ctx.asOf >= m.from && ctx.asOf <= m.until && m.condition.test(facts))) {
        heldDue++;
        continue;
      }
    }
    newLevel[i] = item.level;
    dueTotal += item.openMinor;
    candidates++;
  }
  if (candidates === 0)
    return { kind: 'skip', reason: heldDue > 0 ? 'held' : 'not-due', segment: segment.name, holdUpdates };

  const resumeLevel = resumeAt > 0 ? levels.filter((l) => l.level <= resumeAt).at(-1) : undefined;
  const nextOf = nextLevels(segment);
  let rose = false;
  let belowMinimum = false;
  for (let i = 0; i < n; i++) {
    if (newLevel[i]! < 0) continue;
    const item = items[i]!;
    const days = dpd[i]!;
    let level = item.level;
    const next = item.level < nextOf.length ? nextOf[item.level] : undefined;
    if (next && days >= next.daysPastDue) {
      if (dueTotal < next.minAmountMinor) belowMinimum = true;
      else {
        const since = item.lastDunnedOn === null ? NEVER_DAYS : asOfDay - dayNumber(item.lastDunnedOn);
        if (since >= next.minDaysSinceLastNotice) {
          if (next.condition) fillItem(it, item, days);
          if (!next.condition || next.condition.test(facts)) level = next.level;
        }
      }
    }
    if (resumeLevel && resumeLevel.level > level) level = resumeLevel.level;
    if (level > item.level) rose = true;
    newLevel[i] = level;
  }
  if (!rose) {
    const reason = belowMinimum ? 'below-minimum' : heldDue > 0 ? 'held' : 'not-due';
    return { kind: 'skip', reason, segment: segment.name, holdUpdates };
  }
  if (dueTotal < g.minTotalMinor) return { kind: 'skip', reason: 'below-minimum', segment: segment.name, holdUpdates };
  const lines: NoticeLine[] = [];
  for (let i = 0; i < n; i++) {
    if (newLevel[i]! < 0) continue;
    const item = items[i]!;
    lines.push({
      item,
      levelBefore: item.level,
      level: newLevel[i]!,
      daysPastDue: dpd[i]!,
      interestMinor: 0,
      interestFrom: null,
      interestTo: null,
      interestRateBp: null,
      lumpSumMinor: 0,
    });
  }
  if (history.contactsThisWeek >= g.maxContactsPerWeek) {
    return { kind: 'skip', reason: 'contact-cap', segment: segment.name, holdUpdates };
  }
  const top = noticeLevel(segment, lines);
  reachable ??= reachableChannels(debtor, g.requireConsentFor);
  if (!top || channelsFor(top, reachable).length === 0) {
    return { kind: 'skip', reason: 'unreachable', segment: segment.name, holdUpdates };
  }
  // Interest and the lump sum only for a notice whose level claims them (the base-rate table is read only then).
  const lumpSum = top.lumpSum && debtor.type === 'B2B' && strategy.currency === GERMAN_PACK.lumpSumCurrency;
  for (const line of lines) {
    const item = line.item;
    if (top.interest && line.daysPastDue > strategy.interestStartsDaysAfterDue) {
      const from = interestFrom(item.dueDate, strategy.interestStartsDaysAfterDue);
      const q = ctx.interest(item.openMinor, from, ctx.asOf, debtor.type === 'B2B');
      line.interestMinor = q.interestMinor;
      line.interestFrom = from;
      line.interestTo = ctx.asOf;
      line.interestRateBp = q.rateBasisPoints;
    }
    if (lumpSum && line.daysPastDue > 0 && !ctx.lumpSumClaimed.has(item.itemId)) line.lumpSumMinor = 40_00;
  }
  return { kind: 'notice', segment, lines, reachable, holdUpdates, resumed };
}

const interestFromCache = new Map<string, string>();
/** The first day of interest: the day after the due date and the strategy's days of grace (cached per due date). */
function interestFrom(dueDate: string, graceDays: number): string {
  const key = `${dueDate}+${graceDays}`;
  let from = interestFromCache.get(key);
  if (from === undefined) {
    from = dateOfDay(dayNumber(dueDate) + 1 + graceDays);
    if (interestFromCache.size > 10_000) interestFromCache.clear();
    interestFromCache.set(key, from);
  }
  return from;
}

function fillItem(it: Facts['item'], item: EngineItem, dpd: number): void {
  it.amount = item.openMinor;
  it.daysPastDue = dpd;
  it.level = item.level;
  it.contract = item.contractRef ?? '';
  it.source = item.source;
  it.dueDate = dayNumber(item.dueDate);
  it.documentDate = item.documentDate ? dayNumber(item.documentDate) : it.dueDate;
}

/** The level of a notice: the highest level any of its items rises to (none: no notice). */
export function noticeLevel(
  segment: Segment,
  lines: readonly Pick<NoticeLine, 'level' | 'levelBefore'>[],
): StrategyLevel | undefined {
  let top = 0;
  for (const l of lines) if (l.level > l.levelBefore && l.level > top) top = l.level;
  return top === 0 ? undefined : segment.levels.find((l) => l.level === top);
}

function channelsFor(level: StrategyLevel, reachable: readonly NoticeChannelName[]): NoticeChannelName[] {
  return [level.channel, ...level.fallbacks].filter((c) => reachable.includes(c));
}

/**
 * What a notice comes to: its level's channel (first reachable of channel and fallbacks), the fee (none while the
 * debtor is not yet in default: the German pack's first notice after the due date is free), interest and lump sum
 * when the level has them on, and the first contact slot the guardrails allow. Undefined when no line rises or no
 * channel reaches the debtor.
 */
export function settle(
  strategy: CompiledStrategy,
  segment: Segment,
  lines: readonly Pick<NoticeLine, 'level' | 'levelBefore' | 'interestMinor' | 'lumpSumMinor' | 'item'>[],
  reachable: readonly NoticeChannelName[],
  asOf: string,
): NoticeSettlement | undefined {
  const level = noticeLevel(segment, lines);
  if (!level) return undefined;
  const channels = channelsFor(level, reachable);
  if (channels.length === 0) return undefined;
  const inDefault = lines.some((l) => l.levelBefore >= firstOverdueLevel(segment));
  let totalMinor = 0;
  let interestMinor = 0;
  let lumpSumMinor = 0;
  const contracts = new Set<string>();
  for (const l of lines) {
    totalMinor += l.item.openMinor;
    if (level.interest) interestMinor += l.interestMinor;
    if (level.lumpSum) lumpSumMinor += l.lumpSumMinor;
    if (level.actions.restrictContract && l.level === level.level && l.level > l.levelBefore && l.item.contractRef) {
      contracts.add(l.item.contractRef);
    }
  }
  const feeMinor = GERMAN_PACK.firstOverdueNoticeFree && !inDefault ? 0 : level.feeMinor;
  return {
    level,
    channels,
    totalMinor,
    feeMinor,
    interestMinor,
    lumpSumMinor,
    scheduledAt: contactSlot(strategy.guardrails.calendar, asOf, level.sendAt).at,
    withdraw: level.actions.withdrawPaymentMethods,
    restrictedContracts: [...contracts].sort(),
    ...(level.actions.handOff ? { handOff: level.actions.handOff } : {}),
    ...(level.final ? { final: level.final } : {}),
  };
}
