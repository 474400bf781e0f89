import { isCalendarDate } from '../domain/dates';
import { exponentOf } from '../domain/money';
import { RuleError } from './errors';
import {
  BOOL,
  DATE,
  dayNumber,
  describeType,
  FACT_SCHEMA,
  type FactScope,
  type Facts,
  INT,
  MONEY,
  oneOf,
  RATIO,
  type RuleType,
  WEEKDAYS,
} from './facts';
import { type Node, parse } from './parser';

/** A condition compiled to a closure over {@link Facts}; the text is parsed and checked once, never evaluated. */
export interface CompiledCondition {
  readonly source: string;
  /** Evaluates the condition. Never throws: types were checked at load, and division by zero gives 0. */
  readonly test: (facts: Facts) => boolean;
  /** The facts the condition reads, as `scope.field` (the run computes only what some condition needs). */
  readonly uses: ReadonlySet<string>;
}

export interface CompileOptions {
  /** Which fact scopes the condition may name; a segment condition sees the debtor, not a single item. */
  scopes?: readonly FactScope[];
  /** Money literals are in this currency's units and compared in its minor units. @defaultValue 'EUR' */
  currency?: string;
  /** Says where the condition is used, for error messages ("a segment condition"). */
  context?: string;
}

type Fn = (f: Facts) => unknown;

/** An exact decimal: `value / 10^scale`; a percent literal is kept apart because it only fits a share. */
interface Decimal {
  value: bigint;
  scale: number;
  percent: boolean;
}

/** The checked form of a node: its type and either a constant or a closure; literals wait for their context. */
type Typed =
  | { kind: 'number'; node: Node; dec: Decimal }
  | { kind: 'string'; node: Node; value: string }
  | { kind: 'list'; node: Node; items: Typed[] }
  | { kind: 'value'; node: Node; type: RuleType; constant: true; value: unknown }
  | { kind: 'value'; node: Node; type: RuleType; constant: false; fn: Fn };

const ALL_SCOPES: readonly FactScope[] = ['debtor', 'item', 'account', 'history', 'calendar'];
const ORDERED = new Set(['int', 'money', 'ratio', 'date']);

/**
 * Parses, type-checks and compiles a condition.
 *
 * @example
 * ```ts
 * const c = compileCondition('debtor.type == "B2C" and item.daysPastDue >= 14 and "vip" in debtor.tags');
 * c.test(facts); // true or false
 * ```
 * @throws RuleError with the offset and length of the offending part.
 */
export function compileCondition(source: string, opts: CompileOptions = {}): CompiledCondition {
  const scopes = opts.scopes ?? ALL_SCOPES;
  const exponent = exponentOf(opts.currency ?? 'EUR');
  const uses = new Set<string>();
  const ast = parse(source);

  const fail = (node: { start: number; end: number }, message: string): never => {
    throw new RuleError(message, node.start, Math.max(1, node.end - node.start));
  };

  // ---- literals into a type ----

  function decimalOf(node: Node & { kind: 'number' }): Decimal {
    const [whole, frac = ''] = node.text.split('.');
    return { value: BigInt(whole! + frac), scale: frac.length, percent: node.percent };
  }

  /** `dec × 10^shift` as an integer, or undefined when that would drop non-zero digits. */
  function scaled(dec: Decimal, digits: number): bigint | undefined {
    const shift = digits - dec.scale;
    if (shift >= 0) return dec.value * 10n ** BigInt(shift);
    const div = 10n ** BigInt(-shift);
    return dec.value % div === 0n ? dec.value / div : undefined;
  }

  function safe(node: Node, v: bigint): number {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER))
      fail(node, 'this number is too large');
    return Number(v);
  }

  /** Converts a numeric literal to the runtime value of `type`, or explains why it cannot be one. */
  function literalAs(t: Typed & { kind: 'number' }, type: RuleType): number {
    const d = t.dec;
    const text = t.node.kind === 'number' ? `${t.node.text}${d.percent ? '%' : ''}` : 'this number';
    switch (type.t) {
      case 'int': {
        if (d.percent) return fail(t.node, `${text} is a share, but a whole number is expected here`);
        const v = scaled(d, 0);
        if (v === undefined) return fail(t.node, `${text} is not a whole number; a whole number is expected here`);
        return safe(t.node, v);
      }
      case 'money': {
        if (d.percent) return fail(t.node, `${text} is a share, but an amount of money is expected here`);
        const v = scaled(d, exponent);
        if (v === undefined)
          return fail(t.node, `${text} has more decimals than the currency allows (${exponent}); write e.g. 500.00`);
        return safe(t.node, v);
      }
      case 'ratio': {
        const v = d.percent ? scaled({ ...d, scale: d.scale + 2 }, 4) : scaled(d, 4);
        if (v === undefined) return fail(t.node, `${text} is too precise for a share (at most 0.01%)`);
        return safe(t.node, v);
      }
      default:
        return fail(t.node, `expected ${describeType(type)}, but this is a number`);
    }
  }

  /** Makes `t` a value of `type` (checking enum members and dates in text), or fails with what was expected. */
  function as(t: Typed, type: RuleType): Typed & { kind: 'value' } {
    if (t.kind === 'number') return { kind: 'value', node: t.node, type, constant: true, value: literalAs(t, type) };
    if (t.kind === 'string') {
      if (type.t === 'date') return { kind: 'value', node: t.node, type, constant: true, value: dateLiteral(t) };
      if (type.t !== 'string') return fail(t.node, `expected ${describeType(type)}, but this is text`);
      if (type.values && !type.values.includes(t.value)) {
        return fail(t.node, `"${t.value}" is not a possible value here; expected one of ${quoteAll(type.values)}`);
      }
      return { kind: 'value', node: t.node, type, constant: true, value: t.value };
    }
    if (t.kind === 'list') {
      if (type.t !== 'list') return fail(t.node, `expected ${describeType(type)}, but this is a list`);
      const items = t.items.map((i) => as(i, type.of));
      return fromParts(t.node, type, items, (vals) => vals);
    }
    if (!sameType(t.type, type))
      return fail(t.node, `expected ${describeType(type)}, but this is ${describeType(t.type)}`);
    return t;
  }

  function dateLiteral(t: Typed & { kind: 'string' }): number {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(t.value)) return fail(t.node, `"${t.value}" is not a date; write it as YYYY-MM-DD`);
    if (!isCalendarDate(t.value)) return fail(t.node, `"${t.value}" is not a date in the calendar`);
    return dayNumber(t.value);
  }

  /** Gives a typed value to something that must stand on its own (a literal with no other side to take a type from). */
  function standalone(t: Typed): Typed & { kind: 'value' } {
    if (t.kind === 'value') return t;
    if (t.kind === 'string') return as(t, { t: 'string' });
    if (t.kind === 'number') {
      if (t.dec.percent) return as(t, RATIO);
      return as(t, t.dec.scale === 0 ? INT : MONEY);
    }
    return fail(t.node, 'a list can only stand after "in", e.g. debtor.language in ["de", "en"]');
  }

  /** A value from checked operands: a constant when they all are, else a closure. */
  function fromParts(
    node: Node,
    type: RuleType,
    parts: (Typed & { kind: 'value' })[],
    combine: (vals: unknown[]) => unknown,
  ): Typed & { kind: 'value' } {
    if (parts.every((p) => p.constant)) {
      return {
        kind: 'value',
        node,
        type,
        constant: true,
        value: combine(parts.map((p) => (p as { value: unknown }).value)),
      };
    }
    const fns = parts.map(fnOf);
    return { kind: 'value', node, type, constant: false, fn: (f) => combine(fns.map((g) => g(f))) };
  }

  // ---- the walk ----

  function check(node: Node): Typed {
    switch (node.kind) {
      case 'number':
        return { kind: 'number', node, dec: decimalOf(node) };
      case 'string':
        return { kind: 'string', node, value: node.value };
      case 'bool':
        return { kind: 'value', node, type: BOOL, constant: true, value: node.value };
      case 'list':
        return { kind: 'list', node, items: node.items.map(check) };
      case 'path':
        return path(node);
      case 'call':
        return call(node);
      case 'not': {
        const arg = as(check(node.arg), BOOL);
        if (arg.constant) return { kind: 'value', node, type: BOOL, constant: true, value: !arg.value };
        const g = arg.fn;
        return { kind: 'value', node, type: BOOL, constant: false, fn: (f) => !g(f) };
      }
      case 'neg': {
        const arg = check(node.arg);
        if (arg.kind === 'number') return { kind: 'number', node, dec: { ...arg.dec, value: -arg.dec.value } };
        const v = standalone(arg);
        if (v.type.t !== 'int' && v.type.t !== 'money') return fail(node.arg, `cannot negate ${describeType(v.type)}`);
        return unaryNumeric(node, v, (x) => -x);
      }
      case 'binary':
        return binary(node);
    }
  }

  function path(node: Node & { kind: 'path' }): Typed {
    const [head, field, ...rest] = node.parts;
    const scopeNames = Object.keys(FACT_SCHEMA) as FactScope[];
    if (!head || !scopeNames.includes(head.name as FactScope)) {
      const hint = head && node.parts.length === 1 ? closest(head.name, scopeNames) : undefined;
      return fail(
        head ?? node,
        `unknown fact "${head?.name}"; facts start with ${scopeNames.join(', ')}${hint ? ` (did you mean ${hint}?)` : ''}`,
      );
    }
    const scope = head.name as FactScope;
    if (!scopes.includes(scope)) {
      return fail(
        node,
        `${opts.context ?? 'this condition'} cannot use ${scope} facts; it can use ${scopes.join(', ')}${
          scope === 'item' ? ' (put conditions on single items into a level)' : ''
        }`,
      );
    }
    const fields = FACT_SCHEMA[scope];
    if (!field) return fail(head, `say which ${scope} fact: ${Object.keys(fields).join(', ')}`);
    const spec = Object.hasOwn(fields, field.name) ? fields[field.name] : undefined;
    if (!spec) {
      const hint = closest(field.name, Object.keys(fields));
      return fail(
        field,
        `unknown fact ${scope}.${field.name}${hint ? ` (did you mean ${scope}.${hint}?)` : ''}; ${scope} has ${Object.keys(fields).join(', ')}`,
      );
    }
    if (rest.length > 0) return fail(rest[0]!, `${scope}.${field.name} has no fields`);
    uses.add(`${scope}.${field.name}`);
    return { kind: 'value', node, type: spec.type, constant: false, fn: getter(scope, field.name) };
  }

  function call(node: Node & { kind: 'call' }): Typed {
    const args = node.args.map(check);
    const arity = (n: number) => {
      if (args.length !== n)
        fail(node, `${node.name}() takes ${n} argument${n === 1 ? '' : 's'}, ${args.length} given`);
    };
    switch (node.name) {
      case 'date': {
        arity(1);
        const a = args[0]!;
        if (a.kind !== 'string') return fail(a.node, 'date() takes a date in quotes, e.g. date("2020-03-08")');
        return as(a, DATE);
      }
      case 'daysBetween': {
        arity(2);
        return fromParts(
          node,
          INT,
          [as(args[0]!, DATE), as(args[1]!, DATE)],
          ([a, b]) => (b as number) - (a as number),
        );
      }
      case 'addDays': {
        arity(2);
        return fromParts(
          node,
          DATE,
          [as(args[0]!, DATE), as(args[1]!, INT)],
          ([d, n]) => (d as number) + (n as number),
        );
      }
      case 'weekday': {
        arity(1);
        return fromParts(
          node,
          oneOf(WEEKDAYS),
          [as(args[0]!, DATE)],
          ([d]) => WEEKDAYS[((((d as number) + 3) % 7) + 7) % 7],
        );
      }
      case 'year':
      case 'month':
      case 'day': {
        arity(1);
        const part = node.name;
        return fromParts(node, INT, [as(args[0]!, DATE)], ([d]) => {
          const date = new Date((d as number) * 86_400_000);
          return part === 'year'
            ? date.getUTCFullYear()
            : part === 'month'
              ? date.getUTCMonth() + 1
              : date.getUTCDate();
        });
      }
      case 'len': {
        arity(1);
        const a = args[0]!;
        const v = a.kind === 'list' ? fail(a.node, 'len() of a written list is its number of entries') : standalone(a);
        if (v.type.t !== 'list')
          return fail(a.node, `len() takes a list such as debtor.tags, not ${describeType(v.type)}`);
        return fromParts(node, INT, [v], ([l]) => (l as unknown[]).length);
      }
      case 'min':
      case 'max': {
        if (args.length < 2) fail(node, `${node.name}() takes two or more values`);
        const typed = unify(args, node);
        if (!ORDERED.has(typed[0]!.type.t) || typed[0]!.type.t === 'date' || typed[0]!.type.t === 'ratio') {
          return fail(node, `${node.name}() takes whole numbers or amounts`);
        }
        const pick = node.name === 'min' ? Math.min : Math.max;
        return fromParts(node, typed[0]!.type, typed, (vals) => pick(...(vals as number[])));
      }
      case 'abs': {
        arity(1);
        const v = standalone(args[0]!);
        if (v.type.t !== 'int' && v.type.t !== 'money')
          return fail(args[0]!.node, 'abs() takes a whole number or an amount');
        return unaryNumeric(node, v, Math.abs);
      }
      default:
        return fail(
          node,
          `unknown function ${node.name}(); available: date, daysBetween, addDays, weekday, year, month, day, len, min, max, abs`,
        );
    }
  }

  function unaryNumeric(node: Node, v: Typed & { kind: 'value' }, op: (x: number) => number): Typed {
    return fromParts(node, v.type, [v], ([x]) => op(x as number) || 0);
  }

  /** Gives several operands one type: the first typed operand's, with literals converted to it. */
  function unify(items: Typed[], where: Node): (Typed & { kind: 'value' })[] {
    const anchor = items.find((i) => i.kind === 'value') as (Typed & { kind: 'value' }) | undefined;
    if (!anchor) {
      const first = items[0];
      if (!first) return fail(where, 'nothing to compare');
      const type = standalone(first).type;
      return items.map((i) => as(i, type));
    }
    return items.map((i) => as(i, anchor.type));
  }

  function binary(node: Node & { kind: 'binary' }): Typed {
    const opSpan = { start: node.opStart, end: node.opEnd };
    switch (node.op) {
      case 'and':
      case 'or': {
        const l = as(check(node.left), BOOL);
        const r = as(check(node.right), BOOL);
        if (l.constant && r.constant) {
          const v = node.op === 'and' ? Boolean(l.value) && Boolean(r.value) : Boolean(l.value) || Boolean(r.value);
          return { kind: 'value', node, type: BOOL, constant: true, value: v };
        }
        const a = fnOf(l);
        const b = fnOf(r);
        const fn: Fn =
          node.op === 'and' ? (f) => Boolean(a(f)) && Boolean(b(f)) : (f) => Boolean(a(f)) || Boolean(b(f));
        return { kind: 'value', node, type: BOOL, constant: false, fn };
      }
      case '==':
      case '!=':
      case '<':
      case '<=':
      case '>':
      case '>=': {
        const sides = [check(node.left), check(node.right)];
        if (sides.some((x) => x.kind === 'list' || (x.kind === 'value' && x.type.t === 'list')))
          return fail(opSpan, 'lists cannot be compared; use "in" to look for a value in a list');
        const [l, r] = unify(sides, node);
        const t = l!.type;
        if (node.op !== '==' && node.op !== '!=' && !ORDERED.has(t.t)) {
          return fail(opSpan, `"${node.op}" compares numbers, amounts, shares and dates, not ${describeType(t)}`);
        }
        return compare(node, node.op, l!, r!);
      }
      case 'in':
      case 'not in': {
        const left = check(node.left);
        const right = check(node.right);
        let l: Typed & { kind: 'value' };
        let r: Typed & { kind: 'value' };
        if (right.kind === 'list') {
          l = standalone(left);
          r = as(right, { t: 'list', of: l.type });
        } else {
          r = standalone(right);
          if (r.type.t !== 'list') {
            return fail(right.node, `"in" looks for a value in a list; this is ${describeType(r.type)}`);
          }
          l = as(left, r.type.of);
        }
        if (l.type.t === 'list') return fail(left.node, 'a list cannot be looked for in a list');
        const negate = node.op === 'not in';
        return fromMembership(node, l, r, negate);
      }
      case '+':
      case '-':
      case '*':
      case '/':
        return arithmetic(node, node.op);
    }
  }

  function fromMembership(
    node: Node,
    l: Typed & { kind: 'value' },
    r: Typed & { kind: 'value' },
    negate: boolean,
  ): Typed {
    if (r.constant) {
      const values = r.value as unknown[];
      const set = new Set(values);
      if (l.constant) return { kind: 'value', node, type: BOOL, constant: true, value: set.has(l.value) !== negate };
      const g = l.fn;
      return { kind: 'value', node, type: BOOL, constant: false, fn: (f) => set.has(g(f)) !== negate };
    }
    const lf = fnOf(l);
    const rf = r.fn;
    return {
      kind: 'value',
      node,
      type: BOOL,
      constant: false,
      fn: (f) => (rf(f) as unknown[]).includes(lf(f)) !== negate,
    };
  }

  function compare(node: Node, op: string, l: Typed & { kind: 'value' }, r: Typed & { kind: 'value' }): Typed {
    const cmp = COMPARATORS[op]!;
    if (l.constant && r.constant)
      return { kind: 'value', node, type: BOOL, constant: true, value: cmp(l.value, r.value) };
    // Specialised closures for the common "fact op constant" shapes: no array, no extra call per evaluation.
    if (r.constant && !l.constant) {
      const g = l.fn;
      const k = r.value;
      return { kind: 'value', node, type: BOOL, constant: false, fn: specialise(op, g, k) };
    }
    if (l.constant && !r.constant) {
      const g = r.fn;
      const k = l.value;
      return { kind: 'value', node, type: BOOL, constant: false, fn: specialise(FLIPPED[op]!, g, k) };
    }
    const a = fnOf(l);
    const b = fnOf(r);
    return { kind: 'value', node, type: BOOL, constant: false, fn: (f) => cmp(a(f), b(f)) };
  }

  function arithmetic(node: Node & { kind: 'binary' }, op: '+' | '-' | '*' | '/'): Typed {
    const left = check(node.left);
    const right = check(node.right);
    const opSpan = { start: node.opStart, end: node.opEnd };
    if (left.kind === 'number' && right.kind === 'number') {
      if (left.dec.percent || right.dec.percent) return fail(opSpan, 'shares cannot be calculated with here');
      if (op === '/') return fail(opSpan, 'divide numbers yourself: write the result');
      return { kind: 'number', node, dec: foldDecimal(op, left.dec, right.dec) };
    }
    if (left.kind === 'list' || right.kind === 'list') return fail(opSpan, 'lists cannot be calculated with');
    if (left.kind === 'string' || right.kind === 'string') return fail(opSpan, 'text cannot be calculated with');
    const typedSide = (left.kind === 'value' ? left : right) as Typed & { kind: 'value' };
    const t = typedSide.type.t;
    const other = typedSide === left ? right : left;
    const sides = (lt: RuleType, rt: RuleType) => [as(left, lt), as(right, rt)] as const;
    const mismatch = (): never =>
      fail(
        opSpan,
        `cannot ${VERB[op]} ${describeType(left.kind === 'value' ? left.type : standalone(left).type)} and ${describeType(
          right.kind === 'value' ? right.type : standalone(right).type,
        )}`,
      );

    if (op === '+' || op === '-') {
      if (t === 'int' || t === 'money') {
        const [l, r] = sides(typedSide.type, typedSide.type);
        return fromParts(node, typedSide.type, [l, r], op === '+' ? addF : subF);
      }
      if (t === 'date') {
        const ot = other.kind === 'value' ? other.type.t : 'int';
        if (ot === 'date' && op === '-' && typedSide === left) {
          const [l, r] = sides(DATE, DATE);
          return fromParts(node, INT, [l, r], subF);
        }
        if (ot === 'int' && typedSide === left) {
          const [l, r] = sides(DATE, INT);
          return fromParts(node, DATE, [l, r], op === '+' ? addF : subF);
        }
        if (ot === 'int' && op === '+') {
          const [l, r] = sides(INT, DATE);
          return fromParts(node, DATE, [l, r], addF);
        }
      }
      return mismatch();
    }
    if (op === '*') {
      const lt = left.kind === 'value' ? left.type.t : undefined;
      const rt = right.kind === 'value' ? right.type.t : undefined;
      if ((lt === 'int' || lt === undefined) && (rt === 'int' || rt === undefined)) {
        const [l, r] = sides(INT, INT);
        return fromParts(node, INT, [l, r], mulF);
      }
      if (lt === 'money' || rt === 'money') {
        const moneyLeft = lt === 'money';
        const factor = moneyLeft ? right : left;
        const factorType = factor.kind === 'value' ? factor.type.t : literalFactorType(factor);
        if (factorType === 'int') {
          const [l, r] = moneyLeft ? sides(MONEY, INT) : sides(INT, MONEY);
          return fromParts(node, MONEY, [l, r], mulF);
        }
        if (factorType === 'ratio') {
          const [l, r] = moneyLeft ? sides(MONEY, RATIO) : sides(RATIO, MONEY);
          return fromParts(node, MONEY, [l, r], moneyLeft ? shareOf : ([a, b]) => shareOf([b, a]));
        }
      }
      return mismatch();
    }
    // '/'
    const lt = left.kind === 'value' ? left.type.t : undefined;
    if ((lt === 'int' || lt === 'money' || lt === undefined) && (right.kind !== 'value' || right.type.t === 'int')) {
      const lType = lt === 'money' ? MONEY : INT;
      const [l, r] = sides(lType, INT);
      return fromParts(node, lType, [l, r], ([a, b]) => divHalfUp(a as number, b as number));
    }
    return mismatch();
  }

  /** A literal factor of money: a whole number multiplies, a share (50% or 0.5) takes a part. */
  function literalFactorType(t: Typed): 'int' | 'ratio' | undefined {
    if (t.kind !== 'number') return undefined;
    if (t.dec.percent) return 'ratio';
    return scaled(t.dec, 0) === undefined ? 'ratio' : 'int';
  }

  const checked = check(ast);
  const root = checked.kind === 'value' ? checked : standalone(checked);
  if (root.type.t !== 'bool') {
    fail(ast, `a condition must be true or false; this is ${describeType(root.type)}`);
  }
  const test: (f: Facts) => boolean = root.constant
    ? (
        (v: boolean) => () =>
          v
      )(Boolean(root.value))
    : (root.fn as (f: Facts) => boolean);
  return { source, test, uses };
}

function fnOf(t: Typed & { kind: 'value' }): Fn {
  if (!t.constant) return t.fn;
  const v = t.value;
  return () => v;
}

function sameType(a: RuleType, b: RuleType): boolean {
  if (a.t !== b.t) return false;
  if (a.t === 'list' && b.t === 'list') return sameType(a.of, b.of);
  return true;
}

function getter(scope: FactScope, field: string): Fn {
  switch (scope) {
    case 'debtor':
      return (f) => (f.debtor as unknown as Record<string, unknown>)[field];
    case 'item':
      return (f) => (f.item as unknown as Record<string, unknown>)[field];
    case 'account':
      return (f) => (f.account as unknown as Record<string, unknown>)[field];
    case 'history':
      return (f) => (f.history as unknown as Record<string, unknown>)[field];
    case 'calendar':
      return (f) => (f.calendar as unknown as Record<string, unknown>)[field];
  }
}

const COMPARATORS: Record<string, (a: unknown, b: unknown) => boolean> = {
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => (a as number) < (b as number),
  '<=': (a, b) => (a as number) <= (b as number),
  '>': (a, b) => (a as number) > (b as number),
  '>=': (a, b) => (a as number) >= (b as number),
};
const FLIPPED: Record<string, string> = { '==': '==', '!=': '!=', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
const VERB = { '+': 'add', '-': 'subtract', '*': 'multiply', '/': 'divide' } as const;

function specialise(op: string, g: Fn, k: unknown): Fn {
  switch (op) {
    case '==':
      return (f) => g(f) === k;
    case '!=':
      return (f) => g(f) !== k;
    case '<':
      return (f) => (g(f) as number) < (k as number);
    case '<=':
      return (f) => (g(f) as number) <= (k as number);
    case '>':
      return (f) => (g(f) as number) > (k as number);
    default:
      return (f) => (g(f) as number) >= (k as number);
  }
}

const addF = ([a, b]: unknown[]) => (a as number) + (b as number);
const subF = ([a, b]: unknown[]) => (a as number) - (b as number);
const mulF = ([a, b]: unknown[]) => (a as number) * (b as number);

/** `minor × basisPoints / 10000`, rounded half away from zero, exact (BigInt when the product is not a safe integer). */
function shareOf([minor, bp]: unknown[]): number {
  const p = (minor as number) * (bp as number);
  if (Number.isSafeInteger(p)) return divHalfUp(p, 10_000);
  const big = BigInt(minor as number) * BigInt(bp as number);
  const q = big / 10_000n;
  const r = big % 10_000n;
  const away = (r < 0n ? -r : r) * 2n >= 10_000n ? (big < 0n ? -1n : 1n) : 0n;
  return Number(q + away);
}

/** Integer division rounded half away from zero; dividing by zero gives 0 (a condition never throws). */
export function divHalfUp(a: number, b: number): number {
  if (b === 0) return 0;
  const r = a % b;
  const q = (a - r) / b;
  if (2 * Math.abs(r) >= Math.abs(b)) return q + (Math.sign(a) * Math.sign(b) || 1);
  return q || 0;
}

function foldDecimal(op: '+' | '-' | '*', a: Decimal, b: Decimal): Decimal {
  if (op === '*') return { value: a.value * b.value, scale: a.scale + b.scale, percent: false };
  const scale = Math.max(a.scale, b.scale);
  const av = a.value * 10n ** BigInt(scale - a.scale);
  const bv = b.value * 10n ** BigInt(scale - b.scale);
  return { value: op === '+' ? av + bv : av - bv, scale, percent: false };
}

function quoteAll(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

/** The closest name within two edits, for "did you mean". */
function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
