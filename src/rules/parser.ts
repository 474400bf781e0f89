import { RuleError } from './errors';
import { type Token, tokenize } from './tokenizer';

interface Span {
  /** Offset of the first character in the condition. */
  start: number;
  /** Offset after the last character. */
  end: number;
}

export type BinaryOp = 'and' | 'or' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in' | '+' | '-' | '*' | '/';

/** The syntax tree of a condition. Every node keeps its span so the checker can point at it. */
export type Node =
  | (Span & { kind: 'number'; text: string; percent: boolean })
  | (Span & { kind: 'string'; value: string })
  | (Span & { kind: 'bool'; value: boolean })
  | (Span & { kind: 'list'; items: Node[] })
  | (Span & { kind: 'path'; parts: { name: string; start: number; end: number }[] })
  | (Span & { kind: 'call'; name: string; args: Node[] })
  | (Span & { kind: 'not' | 'neg'; arg: Node })
  | (Span & { kind: 'binary'; op: BinaryOp; left: Node; right: Node; opStart: number; opEnd: number });

const COMPARISON = new Set(['==', '!=', '<', '<=', '>', '>=']);
/** Nesting deeper than this is no condition a person wrote; refusing it keeps the recursion bounded. */
const MAX_DEPTH = 64;

/**
 * Parses a condition (grammar below, loosest binding first). Recursive descent over the tokens; comparisons do not
 * chain (`a < b < c` is an error, not a surprise).
 *
 * ```text
 * or      := and ("or" and)*
 * and     := not ("and" not)*
 * not     := "not" not | compare
 * compare := sum (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") sum)?
 * sum     := product (("+" | "-") product)*
 * product := unary (("*" | "/") unary)*
 * unary   := "-" unary | primary
 * primary := number "%"? | string | "true" | "false" | "[" (or ("," or)*)? "]"
 *          | name "(" (or ("," or)*)? ")" | name ("." name)* | "(" or ")"
 * ```
 */
export function parse(src: string): Node {
  const tokens = tokenize(src);
  let pos = 0;
  let depth = 0;
  const peek = (): Token => tokens[pos]!;
  const next = (): Token => tokens[pos++]!;
  const is = (kind: Token['kind'], text?: string): boolean => {
    const t = peek();
    return t.kind === kind && (text === undefined || t.text === text);
  };
  const expect = (kind: Token['kind'], text: string, what: string): Token => {
    const t = peek();
    if (t.kind !== kind || t.text !== text) throw unexpected(t, what);
    return next();
  };
  const unexpected = (t: Token, wanted: string): RuleError =>
    t.kind === 'end'
      ? new RuleError(`the condition ends too early; expected ${wanted}`, t.start, 1)
      : new RuleError(`unexpected "${src.slice(t.start, t.end)}"; expected ${wanted}`, t.start, t.end - t.start);
  const enter = (t: Token) => {
    if (++depth > MAX_DEPTH) throw new RuleError(`nested more than ${MAX_DEPTH} levels deep`, t.start, 1);
  };

  const binary = (op: BinaryOp, left: Node, right: Node, opTok: Token): Node => ({
    kind: 'binary',
    op,
    left,
    right,
    start: left.start,
    end: right.end,
    opStart: opTok.start,
    opEnd: opTok.end,
  });

  function orExpr(): Node {
    enter(peek());
    let left = andExpr();
    while (is('keyword', 'or')) {
      const op = next();
      left = binary('or', left, andExpr(), op);
    }
    depth--;
    return left;
  }

  function andExpr(): Node {
    let left = notExpr();
    while (is('keyword', 'and')) {
      const op = next();
      left = binary('and', left, notExpr(), op);
    }
    return left;
  }

  function notExpr(): Node {
    if (is('keyword', 'not')) {
      const t = next();
      enter(t);
      const arg = notExpr();
      depth--;
      return { kind: 'not', arg, start: t.start, end: arg.end };
    }
    return compare();
  }

  function compare(): Node {
    const left = sum();
    let op: BinaryOp | undefined;
    let opTok: Token | undefined;
    const t = peek();
    if (t.kind === 'op' && COMPARISON.has(t.text)) {
      opTok = next();
      op = t.text as BinaryOp;
    } else if (is('keyword', 'in')) {
      opTok = next();
      op = 'in';
    } else if (is('keyword', 'not') && tokens[pos + 1]?.kind === 'keyword' && tokens[pos + 1]?.text === 'in') {
      opTok = next();
      const inTok = next();
      opTok = { ...opTok, end: inTok.end };
      op = 'not in';
    }
    if (!op || !opTok) return left;
    const right = sum();
    const after = peek();
    if ((after.kind === 'op' && COMPARISON.has(after.text)) || (after.kind === 'keyword' && after.text === 'in')) {
      throw new RuleError(
        'comparisons do not chain; join them with "and" (e.g. a < b and b < c)',
        after.start,
        after.end - after.start,
      );
    }
    return binary(op, left, right, opTok);
  }

  function sum(): Node {
    let left = product();
    while (is('op', '+') || is('op', '-')) {
      const op = next();
      left = binary(op.text as BinaryOp, left, product(), op);
    }
    return left;
  }

  function product(): Node {
    let left = unary();
    while (is('op', '*') || is('op', '/')) {
      const op = next();
      left = binary(op.text as BinaryOp, left, unary(), op);
    }
    return left;
  }

  function unary(): Node {
    if (is('op', '-')) {
      const t = next();
      enter(t);
      const arg = unary();
      depth--;
      return { kind: 'neg', arg, start: t.start, end: arg.end };
    }
    return primary();
  }

  function list(open: Token, close: string): Node[] {
    const items: Node[] = [];
    if (is('punct', close)) {
      next();
      return items;
    }
    for (;;) {
      items.push(orExpr());
      if (is('punct', ',')) {
        next();
        continue;
      }
      const t = peek();
      if (t.kind === 'punct' && t.text === close) {
        next();
        return items;
      }
      throw t.kind === 'end'
        ? new RuleError(`"${open.text}" is not closed; expected "${close}"`, open.start, 1)
        : unexpected(t, `"," or "${close}"`);
    }
  }

  function primary(): Node {
    const t = peek();
    switch (t.kind) {
      case 'number': {
        next();
        if (is('op', '%')) {
          const p = next();
          return { kind: 'number', text: t.text, percent: true, start: t.start, end: p.end };
        }
        return { kind: 'number', text: t.text, percent: false, start: t.start, end: t.end };
      }
      case 'string':
        next();
        return { kind: 'string', value: t.text, start: t.start, end: t.end };
      case 'keyword':
        if (t.text === 'true' || t.text === 'false') {
          next();
          return { kind: 'bool', value: t.text === 'true', start: t.start, end: t.end };
        }
        throw unexpected(t, 'a value, a fact such as debtor.type, or "("');
      case 'punct':
        if (t.text === '(') {
          next();
          enter(t);
          const inner = orExpr();
          depth--;
          const close = peek();
          if (close.kind === 'end') throw new RuleError('"(" is not closed; expected ")"', t.start, 1);
          expect('punct', ')', '")"');
          // Keep the parentheses in the span, so errors about the group underline all of it.
          return { ...inner, start: t.start, end: close.end };
        }
        if (t.text === '[') {
          next();
          enter(t);
          const items = list(t, ']');
          depth--;
          return { kind: 'list', items, start: t.start, end: tokens[pos - 1]!.end };
        }
        throw unexpected(t, 'a value, a fact such as debtor.type, or "("');
      case 'ident': {
        next();
        if (is('punct', '(')) {
          const open = next();
          enter(open);
          const args = list(open, ')');
          depth--;
          return { kind: 'call', name: t.text, args, start: t.start, end: tokens[pos - 1]!.end };
        }
        const parts = [{ name: t.text, start: t.start, end: t.end }];
        while (is('punct', '.')) {
          next();
          const p = peek();
          if (p.kind !== 'ident' && p.kind !== 'keyword') throw unexpected(p, 'a field name after "."');
          next();
          parts.push({ name: p.text, start: p.start, end: p.end });
        }
        return { kind: 'path', parts, start: t.start, end: parts.at(-1)!.end };
      }
      default:
        throw unexpected(t, 'a value, a fact such as debtor.type, or "("');
    }
  }

  if (is('end')) throw new RuleError('the condition is empty', 0, 1);
  const root = orExpr();
  const rest = peek();
  if (rest.kind !== 'end') {
    throw new RuleError(
      `unexpected "${src.slice(rest.start, rest.end)}" after a complete condition; join conditions with "and" or "or"`,
      rest.start,
      rest.end - rest.start,
    );
  }
  return root;
}
