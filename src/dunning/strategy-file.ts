/**
 * Strategy files (`config/strategies/<name>.v<version>.yaml`): validated with zod, conditions compiled once, amounts
 * converted to minor units, guardrails checked against the legal pack. Every mistake is a {@link ConfigError} naming
 * `file:line:column`: for a condition, the column of the offending token inside it.
 */
import { existsSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { isScalar, LineCounter, parseDocument, type Scalar } from 'yaml';
import { z } from 'zod';
import { readTextFile } from '../config/read-file';
import { ConfigError, type ConfigProblem, formatPath, loadYamlWithSchema } from '../config/yaml-errors';
import { isCalendarDate } from '../domain/dates';
import { IntegrationError } from '../domain/errors';
import { parseAmountInput } from '../domain/money';
import { type CompiledCondition, compileCondition, type FactScope, RuleError, WEEKDAYS } from '../rules';
import { GERMAN_STATES, type GermanState, hhmmOf, minutesOf } from './calendar';
import { GERMAN_PACK, type Guardrails, type Moratorium } from './guardrails';
import {
  ADDRESS_FORMS,
  type CompiledStrategy,
  NOTICE_CHANNELS,
  NOTICE_TONES,
  type Segment,
  type StrategyLevel,
} from './strategy';

const date = z.union([
  z.string().refine(isCalendarDate, { error: 'expected a date as YYYY-MM-DD' }),
  z.date().transform((d) => d.toISOString().slice(0, 10)),
]);
const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time of day as HH:MM, e.g. "09:00"' });
/** Money is written as decimal text ("2.50"), never as a YAML number: no float ever holds an amount. */
const amount = z
  .string()
  .regex(/^\d{1,12}(\.\d{1,4})?$/, { error: 'expected an amount as decimal text in quotes, e.g. "2.50"' });
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'expected lower-case letters, digits and "-"' });
const condition = z.union([z.string().min(1), z.boolean().transform(String)]);
const channel = z.enum(NOTICE_CHANNELS);

const levelSchema = z.strictObject({
  /** 1, 2, 3, … ascending within the segment; the same number means the same stage in every segment. */
  level: z.number().int().min(1).max(9),
  name: slug,
  when: z.strictObject({
    /** Days relative to the due date; negative for a reminder before it. */
    daysPastDue: z.number().int().min(-60).max(3650),
    /** The debtor's due total must reach this amount. @defaultValue "0.00" */
    minAmount: amount.default('0'),
    /** Days since the item was last dunned. @defaultValue 0 */
    minDaysSinceLastNotice: z.number().int().min(0).max(365).default(0),
    /** An extra condition on each item (debtor, item, account, history and calendar facts). */
    condition: condition.optional(),
  }),
  channel,
  /** Tried in order when the channel cannot reach the debtor or fails. @defaultValue [] */
  fallbacks: z.array(channel).default([]),
  template: slug,
  tone: z.enum(NOTICE_TONES),
  address: z.enum(ADDRESS_FORMS).default('Sie'),
  /** The dunning fee this notice adds (the pack never charges one on the first notice after the due date). */
  fee: amount.default('0'),
  /** §288 BGB default interest on the notice's items. @defaultValue false */
  interest: z.boolean().default(false),
  /** The €40 lump sum (§288 (5) BGB) for business debtors, once per item. @defaultValue same as `interest` */
  lumpSum: z.boolean().optional(),
  /** Local time the notice should go out; the guardrails move it out of quiet hours and off non-business days. */
  sendAt: time.default('09:00'),
  actions: z
    .strictObject({
      withdrawPaymentMethods: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/)).default([]),
      restrictContract: z.boolean().default(false),
      writeLevelBack: z.boolean().default(true),
      handOff: slug.optional(),
    })
    .default({ withdrawPaymentMethods: [], restrictContract: false, writeLevelBack: true }),
  /** What happens after this level: `stop` dunning the items, or they go to the `agency` of `actions.handOff`. */
  final: z.enum(['stop', 'agency']).optional(),
});

const brokenSchema = z.strictObject({
  graceDays: z.number().int().min(0).max(60).default(0),
  brokenResumesAtLevel: z.number().int().min(1).max(9),
});

export const strategyFileSchema = z.strictObject({
  strategy: slug,
  /** Every notice records it; a change to the file is a new version (and a new file). */
  version: z.number().int().min(1),
  description: z.string().optional(),
  guardrails: z
    .strictObject({
      /** No contact between `from` (evening) and `to` (morning). At least the pack's 20:00–08:00. */
      quietHours: z.strictObject({ from: time, to: time }).optional(),
      /** Weekdays debtors may be contacted on. Never Sunday. @defaultValue [Mon, Tue, Wed, Thu, Fri] */
      businessDays: z.array(z.enum(WEEKDAYS)).min(1).optional(),
      /** Public holidays to keep: the country's and, optionally, one state's. */
      holidays: z.strictObject({ country: z.literal('DE'), state: z.enum(GERMAN_STATES).optional() }).optional(),
      /** At most this many notices per debtor in any 7 days. At most the pack's 3. @defaultValue 2 */
      maxContactsPerWeek: z.number().int().min(1).optional(),
      /** A debtor whose due total is below this is not dunned at all. @defaultValue "0" */
      minTotal: amount.optional(),
      /** Channels used only when the debtor consented (tag `consent:<channel>`). */
      requireConsentFor: z.array(channel).default([]),
      moratoria: z
        .array(
          z.strictObject({
            name: slug,
            /** Which items are covered, e.g. `item.documentDate < date("2020-03-08")`. */
            when: condition,
            from: date,
            until: date,
          }),
        )
        .default([]),
    })
    .default({ requireConsentFor: [], moratoria: [] }),
  /** A promise to pay that is not kept resumes dunning at this level. */
  promises: brokenSchema.optional(),
  /** A payment plan with a missed instalment resumes dunning at this level. */
  plans: brokenSchema.optional(),
  interest: z.strictObject({ startsDaysAfterDue: z.number().int().min(0).max(365).default(0) }).optional(),
  /** Send a thank-you message when a dunned debtor has paid everything. */
  thankYou: z
    .strictObject({
      channel,
      fallbacks: z.array(channel).default([]),
      template: slug,
      tone: z.enum(NOTICE_TONES).default('friendly'),
      address: z.enum(ADDRESS_FORMS).default('Sie'),
      withinDays: z.number().int().min(1).max(365).default(60),
    })
    .optional(),
  /** Collection agencies items can be handed off to. */
  agencies: z.array(z.strictObject({ name: slug, description: z.string().optional() })).default([]),
  segments: z
    .array(
      z.strictObject({
        name: slug,
        /** Who belongs to the segment: debtor, account, history and calendar facts. The first match wins. */
        when: condition,
        description: z.string().optional(),
        levels: z.array(levelSchema).min(1),
      }),
    )
    .min(1),
});

export type StrategyFile = z.output<typeof strategyFileSchema>;

export interface LoadStrategyOptions {
  /** The tenant's currency: amounts and money literals in conditions are in its units. */
  currency: string;
  /** The tenant's time zone (quiet hours are local). */
  timezone: string;
}

const SEGMENT_SCOPES: readonly FactScope[] = ['debtor', 'account', 'history', 'calendar'];

/**
 * Loads, validates and compiles a strategy file. `file` is the name shown in errors (give it relative to where
 * people look it up); `text` its content.
 *
 * @throws ConfigError listing every problem as `file:line:col: path: message`.
 */
export function parseStrategy(file: string, text: string, opts: LoadStrategyOptions): CompiledStrategy {
  const raw = loadYamlWithSchema(file, text, strategyFileSchema);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: true });
  const problems: ConfigProblem[] = [];
  const at = (path: (string | number)[], message: string, offset?: number) => {
    const node = doc.getIn(path, true) as Scalar | undefined;
    const pos = lineCounter.linePos(offset ?? node?.range?.[0] ?? 0);
    problems.push({ file, line: pos.line, col: pos.col, path: formatPath(path), message });
  };
  const money = (path: (string | number)[], text: string): number => {
    try {
      return parseAmountInput(text, opts.currency, formatPath(path));
    } catch (err) {
      at(path, (err as Error).message.replace(/^[^:]*: /, ''));
      return 0;
    }
  };
  const compile = (
    path: (string | number)[],
    src: string,
    scopes: readonly FactScope[] | undefined,
    context: string,
  ) => {
    try {
      return compileCondition(src, { currency: opts.currency, ...(scopes ? { scopes } : {}), context });
    } catch (err) {
      if (!(err instanceof RuleError)) throw err;
      const node = doc.getIn(path, true);
      at(path, err.reason, isScalar(node) ? offsetInFile(text, node, err.offset) : undefined);
      return undefined;
    }
  };
  const uses = new Set<string>();
  const collect = (c: CompiledCondition | undefined) => {
    for (const u of c?.uses ?? []) uses.add(u);
    return c;
  };

  const expectedName = `${raw.strategy}.v${raw.version}.yaml`;
  if (/\.v\d+\.yaml$/.test(file) && basename(file) !== expectedName) {
    at(['version'], `the file of strategy ${raw.strategy} version ${raw.version} must be named ${expectedName}`);
  }

  // ---- guardrails: the pack's floor, tightened by the file ----
  const g = raw.guardrails;
  const quietFrom = g.quietHours ? minutesOf(g.quietHours.from) : GERMAN_PACK.quietFrom;
  const quietTo = g.quietHours ? minutesOf(g.quietHours.to) : GERMAN_PACK.quietTo;
  const floor = `${hhmmOf(GERMAN_PACK.quietFrom)}–${hhmmOf(GERMAN_PACK.quietTo)}`;
  if (g.quietHours && (quietFrom > GERMAN_PACK.quietFrom || quietFrom <= quietTo)) {
    at(
      ['guardrails', 'quietHours', 'from'],
      `quiet hours must start by ${hhmmOf(GERMAN_PACK.quietFrom)} in the evening: the German pack keeps ${floor} free of contact; a strategy may only widen it`,
    );
  }
  if (g.quietHours && quietTo < GERMAN_PACK.quietTo) {
    at(
      ['guardrails', 'quietHours', 'to'],
      `quiet hours must last until at least ${hhmmOf(GERMAN_PACK.quietTo)}: the German pack keeps ${floor} free of contact; a strategy may only widen it`,
    );
  }
  const businessDays = g.businessDays ?? GERMAN_PACK.defaultBusinessDays;
  g.businessDays?.forEach((d, i) => {
    if (!GERMAN_PACK.allowedDays.includes(d))
      at(['guardrails', 'businessDays', i], `${d} is not allowed: the German pack allows no contact on Sundays`);
  });
  const maxContacts = g.maxContactsPerWeek ?? GERMAN_PACK.defaultContactsPerWeek;
  if (maxContacts > GERMAN_PACK.maxContactsPerWeek) {
    at(
      ['guardrails', 'maxContactsPerWeek'],
      `at most ${GERMAN_PACK.maxContactsPerWeek} contacts per debtor per week are allowed by the German pack`,
    );
  }
  const moratoria: Moratorium[] = [];
  g.moratoria.forEach((m, i) => {
    const path = ['guardrails', 'moratoria', i];
    if (m.until < m.from) at([...path, 'until'], `must not be before from (${m.from})`);
    const c = collect(compile([...path, 'when'], m.when, undefined, 'a moratorium condition'));
    if (c) moratoria.push({ name: m.name, condition: c, from: m.from, until: m.until });
  });
  const guardrails: Guardrails = {
    calendar: {
      timezone: opts.timezone,
      businessDays,
      country: g.holidays?.country ?? GERMAN_PACK.country,
      ...(g.holidays?.state ? { state: g.holidays.state as GermanState } : {}),
      quietFrom,
      quietTo,
    },
    maxContactsPerWeek: maxContacts,
    minTotalMinor: g.minTotal ? money(['guardrails', 'minTotal'], g.minTotal) : 0,
    requireConsentFor: g.requireConsentFor,
    moratoria,
  };

  // ---- segments and levels ----
  const agencies = new Set<string>();
  raw.agencies.forEach((a, i) => {
    if (agencies.has(a.name)) at(['agencies', i, 'name'], `agency "${a.name}" is listed twice`);
    agencies.add(a.name);
  });
  const segmentNames = new Set<string>();
  let maxLevel = 0;
  const segments: Segment[] = [];
  raw.segments.forEach((s, si) => {
    const sp = ['segments', si];
    if (segmentNames.has(s.name)) at([...sp, 'name'], `segment "${s.name}" is used twice`);
    segmentNames.add(s.name);
    const cond = collect(compile([...sp, 'when'], s.when, SEGMENT_SCOPES, 'a segment condition'));
    const levels: StrategyLevel[] = [];
    s.levels.forEach((l, li) => {
      const lp = [...sp, 'levels', li];
      const prev = s.levels[li - 1];
      if (prev && l.level <= prev.level) at([...lp, 'level'], `must be greater than ${prev.level}: levels ascend`);
      if (prev && l.when.daysPastDue <= prev.when.daysPastDue) {
        at(
          [...lp, 'when', 'daysPastDue'],
          `must be greater than the previous level's ${prev.when.daysPastDue}: levels are reached in order`,
        );
      }
      if (l.fallbacks.includes(l.channel)) at([...lp, 'fallbacks'], `${l.channel} is already the channel`);
      if (l.actions.handOff && !agencies.has(l.actions.handOff)) {
        at(
          [...lp, 'actions', 'handOff'],
          `no agency "${l.actions.handOff}"; agencies: ${[...agencies].join(', ') || '(none listed)'}`,
        );
      }
      if (l.final === 'agency' && !l.actions.handOff)
        at([...lp, 'final'], 'final: agency needs actions.handOff naming the agency');
      if (l.final && li !== s.levels.length - 1) at([...lp, 'final'], 'only the last level of a segment can be final');
      const c = l.when.condition
        ? collect(compile([...lp, 'when', 'condition'], l.when.condition, undefined, 'a level condition'))
        : undefined;
      maxLevel = Math.max(maxLevel, l.level);
      levels.push({
        level: l.level,
        name: l.name,
        daysPastDue: l.when.daysPastDue,
        minAmountMinor: money([...lp, 'when', 'minAmount'], l.when.minAmount),
        minDaysSinceLastNotice: l.when.minDaysSinceLastNotice,
        ...(c ? { condition: c } : {}),
        channel: l.channel,
        fallbacks: l.fallbacks,
        template: l.template,
        tone: l.tone,
        address: l.address,
        feeMinor: money([...lp, 'fee'], l.fee),
        interest: l.interest,
        lumpSum: l.lumpSum ?? l.interest,
        sendAt: minutesOf(l.sendAt),
        actions: {
          withdrawPaymentMethods: l.actions.withdrawPaymentMethods,
          restrictContract: l.actions.restrictContract,
          writeLevelBack: l.actions.writeLevelBack,
          ...(l.actions.handOff ? { handOff: l.actions.handOff } : {}),
        },
        ...(l.final ? { final: l.final } : {}),
      });
    });
    if (cond) segments.push({ name: s.name, condition: cond, levels });
  });
  for (const key of ['promises', 'plans'] as const) {
    const r = raw[key];
    if (r && r.brokenResumesAtLevel > maxLevel) {
      at([key, 'brokenResumesAtLevel'], `no segment has level ${r.brokenResumesAtLevel} (the highest is ${maxLevel})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const resume = (r: StrategyFile['promises']) => ({
    graceDays: r?.graceDays ?? 0,
    resumeAtLevel: r?.brokenResumesAtLevel ?? Math.min(2, maxLevel),
  });
  return {
    name: raw.strategy,
    version: raw.version,
    origin: file,
    currency: opts.currency,
    segments,
    guardrails,
    promises: resume(raw.promises),
    plans: resume(raw.plans),
    interestStartsDaysAfterDue: raw.interest?.startsDaysAfterDue ?? 0,
    ...(raw.thankYou ? { thankYou: raw.thankYou } : {}),
    agencies: [...agencies],
    uses,
  };
}

/**
 * Loads a strategy file named in a tenant (`dunning.strategyFile`, e.g. `config/strategies/telco-de.v1.yaml`): looked
 * up in the installation directory first (a tenant's own strategies), then in the package (the shipped ones).
 */
export function loadStrategyFile(
  ref: string,
  opts: LoadStrategyOptions & { home?: string; packageRoot: string },
): { file: string; text: string; strategy: CompiledStrategy } {
  const candidates = isAbsolute(ref)
    ? [ref]
    : [...(opts.home ? [resolve(opts.home, ref)] : []), resolve(opts.packageRoot, ref)];
  const file = candidates.find((f) => existsSync(f));
  if (!file)
    throw new IntegrationError(`strategy file ${ref} not found (looked in ${candidates.join(', ')})`, 'strategyFile');
  const text = readTextFile(file, 'strategyFile');
  return { file, text, strategy: parseStrategy(isAbsolute(ref) ? file : ref, text, opts) };
}

/**
 * Where character `offset` of a scalar's value lies in the file: the value is aligned with the scalar's source text
 * (quotes, escapes, block-scalar headers and folded line breaks are skipped), so a column points at the token.
 */
function offsetInFile(text: string, node: Scalar, offset: number): number | undefined {
  const range = node.range;
  if (!range) return undefined;
  const raw = text.slice(range[0], range[1]);
  const value = String(node.value);
  let r = 0;
  // Skip a block scalar's header line (`|`, `>-`, …) so its indicators are not taken for the condition's characters.
  if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
    const nl = raw.indexOf('\n');
    r = nl < 0 ? raw.length : nl + 1;
  } else if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') {
    r = 1;
  }
  for (let v = 0; v < Math.min(offset, value.length); v++) {
    const ch = value[v]!;
    while (r < raw.length && raw[r] !== ch && !(/\s/.test(ch) && /\s/.test(raw[r]!))) r++;
    r++;
  }
  while (r < raw.length && /[ \t\r\n]/.test(raw[r]!) && offset < value.length) r++;
  return range[0] + Math.min(r, raw.length);
}
