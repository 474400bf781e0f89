import { RuleError } from './errors';

export type TokenKind =
  | 'number' // 14, 500.00, 0.9 (kept as text: exact decimals, never a float)
  | 'string' // "vip" or 'vip'
  | 'ident' // debtor, tags, daysBetween
  | 'keyword' // and or not in true false
  | 'op' // == != < <= > >= + - * / %
  | 'punct' // ( ) [ ] , .
  | 'end';

export interface Token {
  kind: TokenKind;
  /** The token's text; for strings the unescaped value. */
  text: string;
  /** Offset of the first character in the condition. */
  start: number;
  /** Offset after the last character. */
  end: number;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'true', 'false']);
/** Conditions are short; a cap keeps a hostile or runaway strategy file from costing anything. */
export const MAX_CONDITION_LENGTH = 4000;

/** What people coming from other languages type, and what to write instead. */
const HINTS: Record<string, string> = {
  '&&': 'write "and"',
  '||': 'write "or"',
  '!': 'write "not"',
  '=': 'write "==" to compare',
  '===': 'write "=="',
  '!==': 'write "!="',
  '<>': 'write "!="',
};

/**
 * Splits a condition into tokens. Hand-written, like the parser: every character is accounted for, and an unexpected
 * one is an error at its position (never skipped).
 */
export function tokenize(src: string): Token[] {
  if (src.length > MAX_CONDITION_LENGTH)
    throw new RuleError(`a condition may have at most ${MAX_CONDITION_LENGTH} characters`, MAX_CONDITION_LENGTH);
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (isDigit(c)) {
      while (i < n && isDigit(src[i]!)) i++;
      if (src[i] === '.' && isDigit(src[i + 1] ?? '')) {
        i++;
        while (i < n && isDigit(src[i]!)) i++;
      }
      if (i < n && (isIdentStart(src[i]!) || src[i] === '.')) {
        throw new RuleError(`"${src.slice(start, i + 1)}" is not a number`, start, i + 1 - start);
      }
      out.push({ kind: 'number', text: src.slice(start, i), start, end: i });
      continue;
    }
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(src[i]!)) i++;
      const text = src.slice(start, i);
      out.push({ kind: KEYWORDS.has(text) ? 'keyword' : 'ident', text, start, end: i });
      continue;
    }
    if (c === '"' || c === "'") {
      i++;
      let value = '';
      for (;;) {
        if (i >= n) throw new RuleError('this string is not closed', start, n - start);
        const d = src[i]!;
        if (d === c) {
          i++;
          break;
        }
        if (d === '\n') throw new RuleError('a string must end on the line it starts', start, i - start);
        if (d === '\\') {
          const e = src[i + 1];
          if (e === c || e === '\\') {
            value += e;
            i += 2;
            continue;
          }
          throw new RuleError(`unknown escape "\\${e ?? ''}"; only \\${c} and \\\\ are allowed`, i, 2);
        }
        value += d;
        i++;
      }
      out.push({ kind: 'string', text: value, start, end: i });
      continue;
    }
    const three = src.slice(i, i + 3);
    const two = src.slice(i, i + 2);
    if (HINTS[three]) throw new RuleError(`"${three}" is not an operator here; ${HINTS[three]}`, i, 3);
    if (two === '==' || two === '!=' || two === '<=' || two === '>=') {
      out.push({ kind: 'op', text: two, start, end: i + 2 });
      i += 2;
      continue;
    }
    if (HINTS[two]) throw new RuleError(`"${two}" is not an operator here; ${HINTS[two]}`, i, 2);
    if (HINTS[c]) throw new RuleError(`"${c}" is not an operator here; ${HINTS[c]}`, i, 1);
    if ('<>+-*/%'.includes(c)) {
      out.push({ kind: 'op', text: c, start, end: i + 1 });
      i++;
      continue;
    }
    if ('()[],.'.includes(c)) {
      out.push({ kind: 'punct', text: c, start, end: i + 1 });
      i++;
      continue;
    }
    throw new RuleError(`unexpected character "${c}"`, i, 1);
  }
  out.push({ kind: 'end', text: '', start: n, end: n });
  return out;
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}
function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}
function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c);
}
