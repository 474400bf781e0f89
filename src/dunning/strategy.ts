/** One level of a dunning strategy (DESIGN §7); the full rules engine arrives with the rules issue. */
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
