import { type CompiledCondition, compileCondition } from '../rules';
import { defaultGuardrails, GERMAN_PACK, type Guardrails } from './guardrails';

/** One level of the inline strategy of a tenant file (`dunning.strategy.levels`): the classic SAP-style ladder. */
export interface DunningLevel {
  level: number;
  name: string;
  /** Days relative to the due date; negative for a reminder before it. */
  daysPastDue: number;
  minDaysSinceLastNotice: number;
  minAmountMinor: number;
  channel: 'email' | 'sms' | 'letter';
  template: string;
  tone: 'friendly' | 'neutral' | 'firm' | 'final';
  feeMinor: number;
}

export interface DunningStrategy {
  name: string;
  version: number;
  levels: DunningLevel[];
  /** A debtor whose due total is below this is not dunned (a guardrail, not a level rule). */
  minTotalMinor: number;
}

export interface DueItem {
  itemId: string;
  dueDate: string;
  openMinor: number;
  dunningLevel: number;
  lastDunnedOn: string | null;
}

export interface NoticeDecision {
  level: number;
  /** Each due item with the level it reaches with this notice. */
  items: { itemId: string; newLevel: number; daysPastDue: number }[];
  totalMinor: number;
  feeMinor: number;
}

const DAY_MS = 86_400_000;

/** Whole days from `from` to `to` (YYYY-MM-DD), negative when `to` is earlier. Pure calendar arithmetic in UTC. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

/**
 * Decides a debtor's notice for one run, SAP style: each item may rise one level per run, to at most the highest level
 * its days past due reach, and only when enough days have passed since it was last dunned. The notice takes the
 * highest level any item reaches and lists every due item; no item rising means no notice.
 */
export function decideNotice(
  strategy: DunningStrategy,
  items: readonly DueItem[],
  asOf: string,
): NoticeDecision | null {
  const levels = [...strategy.levels].sort((a, b) => a.level - b.level);
  const first = levels[0];
  if (!first) return null;
  const due = items
    .map((i) => ({ ...i, dpd: daysBetween(i.dueDate, asOf) }))
    .filter((i) => i.openMinor > 0 && i.dpd >= first.daysPastDue);
  if (due.length === 0) return null;
  let noticeLevel = 0;
  const out: NoticeDecision['items'] = [];
  for (const i of due) {
    const reachable = levels.filter((l) => l.daysPastDue <= i.dpd).at(-1)?.level ?? 0;
    const next = levels.find((l) => l.level > i.dunningLevel);
    let newLevel = i.dunningLevel;
    if (next && next.level <= reachable) {
      const since = i.lastDunnedOn ? daysBetween(i.lastDunnedOn, asOf) : Number.POSITIVE_INFINITY;
      if (since >= next.minDaysSinceLastNotice) newLevel = next.level;
    }
    if (newLevel > i.dunningLevel) noticeLevel = Math.max(noticeLevel, newLevel);
    out.push({ itemId: i.itemId, newLevel, daysPastDue: i.dpd });
  }
  if (noticeLevel === 0) return null;
  const level = levels.find((l) => l.level === noticeLevel)!;
  const totalMinor = due.reduce((s, i) => s + i.openMinor, 0);
  if (totalMinor < Math.max(strategy.minTotalMinor, level.minAmountMinor)) return null;
  return { level: noticeLevel, items: out, totalMinor, feeMinor: level.feeMinor };
}

// ---- The rules-engine strategy (config/strategies/*.yaml, compiled by strategy-file.ts) ----

export const NOTICE_CHANNELS = ['email', 'sms', 'letter', 'webhook'] as const;
export type NoticeChannelName = (typeof NOTICE_CHANNELS)[number];
export const NOTICE_TONES = ['friendly', 'neutral', 'firm', 'final'] as const;
export type NoticeTone = (typeof NOTICE_TONES)[number];
/** German forms of address: the familiar `du` (young online customers) or the formal `Sie`. */
export const ADDRESS_FORMS = ['du', 'Sie'] as const;
export type AddressForm = (typeof ADDRESS_FORMS)[number];

export interface LevelActions {
  /** Method ids or flow kinds the gateway stops offering the debtor while the notice's items stay open. */
  withdrawPaymentMethods: readonly string[];
  /** Restrict the overdue contracts (the contracts of the items that reached this level). */
  restrictContract: boolean;
  /** Write the new level back to the sources that asked for it (`writeBackDunningLevel`). */
  writeLevelBack: boolean;
  /** Hand the items to this collection agency (a claim in the next claim file; the items leave dunning). */
  handOff?: string;
}

export interface StrategyLevel {
  level: number;
  name: string;
  /** Days relative to the due date at which an item reaches the level; negative for a reminder before it. */
  daysPastDue: number;
  /** The debtor's due total must reach this. */
  minAmountMinor: number;
  /** Days since the item was last dunned. */
  minDaysSinceLastNotice: number;
  /** An extra condition on the item (item facts allowed). */
  condition?: CompiledCondition;
  channel: NoticeChannelName;
  /** Tried in order when the channel is not available for the debtor or fails. */
  fallbacks: readonly NoticeChannelName[];
  template: string;
  tone: NoticeTone;
  address: AddressForm;
  feeMinor: number;
  /** §288 BGB default interest on the items of the notice. */
  interest: boolean;
  /** The €40 lump sum of §288 (5) BGB for business debtors, once per item. */
  lumpSum: boolean;
  /** Local time the notice should go out (minutes after midnight); the guardrails may move it. */
  sendAt: number;
  actions: LevelActions;
  /** After this level: `stop` (items leave dunning, a `final` hold) or `agency` (handed off, an `agency` hold). */
  final?: 'stop' | 'agency';
}

export interface Segment {
  name: string;
  /** Debtor-level condition (debtor, account, history, calendar); the first segment that matches wins. */
  condition: CompiledCondition;
  /** Ascending by level and by days past due. */
  levels: readonly StrategyLevel[];
}

export interface ThankYouOption {
  channel: NoticeChannelName;
  fallbacks: readonly NoticeChannelName[];
  template: string;
  tone: NoticeTone;
  address: AddressForm;
  /** Thank debtors who paid everything a notice of the last this many days listed. */
  withinDays: number;
}

export interface BrokenHoldRule {
  /** Days after the promised date (or an instalment's due date) before the promise counts as broken. */
  graceDays: number;
  /** The level the debtor's items resume at once it is broken. */
  resumeAtLevel: number;
}

/** A strategy ready to run: conditions compiled, amounts in minor units, guardrails resolved. */
export interface CompiledStrategy {
  name: string;
  version: number;
  /** Where it came from: the file, or `tenant:<id>` for the inline levels of a tenant file. */
  origin: string;
  currency: string;
  segments: readonly Segment[];
  guardrails: Guardrails;
  promises: BrokenHoldRule;
  plans: BrokenHoldRule;
  /** Interest runs from the day after due date + this many days. */
  interestStartsDaysAfterDue: number;
  thankYou?: ThankYouOption;
  agencies: readonly string[];
  /** Every fact any condition reads (`history.brokenPromises`, …): the run computes only these. */
  uses: ReadonlySet<string>;
}

/** The lowest level with a due date behind it: the first notice after the due date (German law: no fee). */
export function firstOverdueLevel(segment: Segment): number {
  return segment.levels.find((l) => l.daysPastDue > 0)?.level ?? Number.POSITIVE_INFINITY;
}

/**
 * The inline levels of a tenant file (`dunning.strategy`) as a one-segment strategy: the same engine, holds and
 * guardrails, with the German pack's defaults (no extra conditions, no interest, e-mail only as configured).
 */
export function fromInlineLevels(
  legacy: DunningStrategy,
  opts: { timezone: string; currency: string; origin?: string },
): CompiledStrategy {
  const always = compileCondition('true');
  const levels: StrategyLevel[] = [...legacy.levels]
    .sort((a, b) => a.level - b.level)
    .map((l) => ({
      level: l.level,
      name: l.name,
      daysPastDue: l.daysPastDue,
      minAmountMinor: l.minAmountMinor,
      minDaysSinceLastNotice: l.minDaysSinceLastNotice,
      channel: l.channel,
      fallbacks: [],
      template: l.template,
      tone: l.tone,
      address: 'Sie',
      feeMinor: l.feeMinor,
      interest: false,
      lumpSum: false,
      sendAt: GERMAN_PACK.quietTo + 60,
      actions: { withdrawPaymentMethods: [], restrictContract: false, writeLevelBack: true },
    }));
  const top = levels.at(-1)?.level ?? 1;
  return {
    name: legacy.name,
    version: legacy.version,
    origin: opts.origin ?? 'inline',
    currency: opts.currency,
    segments: [{ name: 'default', condition: always, levels }],
    guardrails: defaultGuardrails(opts.timezone, legacy.minTotalMinor),
    promises: { graceDays: 0, resumeAtLevel: Math.min(2, top) },
    plans: { graceDays: 0, resumeAtLevel: Math.min(2, top) },
    interestStartsDaysAfterDue: 0,
    agencies: [],
    uses: new Set(),
  };
}
