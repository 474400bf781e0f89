/**
 * Loading YAML config with zod, with errors that point into the file.
 *
 * Every YAML we read (mappings, profiles, tenants, strategies) goes through {@link loadYamlWithSchema}: it parses the
 * text with the `yaml` package (keeping every node's source range), optionally interpolates `${env:NAME}` in string
 * values, validates the plain value with a zod schema, and turns each zod issue back into the position of the node it
 * is about. The result is a {@link ConfigError} whose message lists one problem per line:
 *
 * ```text
 * mappings/x.yaml:12:11: item.dueDate.type: expected one of string, date, decimal-money, int
 * mappings/x.yaml:14:5: item.dueDat: unknown key "dueDat"; allowed: documentNumber, contractRef, currency, ...
 * ```
 *
 * Semantic checks that need positions too belong in the schema (`superRefine` with `ctx.addIssue({ path })`): the
 * issue's path is mapped like any other.
 *
 * @example
 * ```ts
 * const schema = z.strictObject({ url: z.string(), password: z.string() });
 * const cfg = loadYamlWithSchema('config/tenants/acme.yaml', text, schema, { env: process.env });
 * ```
 */
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { IntegrationError } from '../domain/errors';

/** One thing wrong in a config file, with its 1-based position. */
export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted path of the offending value, e.g. `item.dueDate.type` or `tags[1]`; `(root)` for the document itself. */
  path: string;
  message: string;
}

/** Formats a problem as `file:line:col: path: message`. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path}: ${p.message}`;
}

/**
 * A config file is wrong. Never retried (it is an {@link IntegrationError}); the message lists every problem found,
 * one per line, as `file:line:col: path: message`, and {@link ConfigError.problems} has them as data.
 */
export class ConfigError extends IntegrationError {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'), undefined, { problems });
    this.problems = problems;
  }
}

/** Options of {@link loadYamlWithSchema}. */
export interface LoadYamlOptions {
  /**
   * Enables `${env:NAME}` interpolation in string values (not in keys) and supplies the variables, usually
   * `process.env`. `${env:NAME:-fallback}` uses `fallback` when NAME is unset or empty; `$${` writes a literal `${`.
   * An unset variable without fallback is a problem at the scalar's position. The result stays a string (schemas
   * that want a number should use `z.coerce`). Without this option `${env:…}` is left as written.
   * @defaultValue undefined (no interpolation)
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Plain (unquoted) map keys keep the text they were written with, so a value map `{ 01: X }` has the key `"01"`
   * rather than the number 1. Turn off to get YAML 1.2 core-schema keys.
   * @defaultValue true
   */
  keysAsWritten?: boolean;
}

const ENV_REF = /\$(\$?)\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Parses `text` (the content of `file`) as one YAML document and validates it with `schema`.
 *
 * @param file - the name shown in errors; pass it relative to the working directory, as people will look it up.
 * @returns the schema's output (defaults applied, transforms run).
 * @throws ConfigError listing every syntax error, unset environment variable or schema issue with file:line:col.
 */
export function loadYamlWithSchema<S extends z.ZodType>(
  file: string,
  text: string,
  schema: S,
  options: LoadYamlOptions = {},
): z.output<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): { line: number; col: number } =>
    offset === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset);

  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => ({ file, ...at(e.pos[0]), path: '(yaml)', message: e.message })));
  }

  const problems: ConfigProblem[] = [];
  if (options.keysAsWritten !== false || options.env) {
    const env = options.env;
    visit(doc, {
      Scalar(key, node, path) {
        if (key === 'key') {
          if (options.keysAsWritten !== false && node.type === 'PLAIN' && typeof node.source === 'string') {
            node.value = node.source;
          }
          return;
        }
        if (!env || typeof node.value !== 'string' || !node.value.includes('${')) return;
        node.value = node.value.replace(ENV_REF, (whole, escaped: string, name: string, fallback?: string) => {
          if (escaped) return whole.slice(1);
          const v = env[name];
          if (fallback !== undefined && (v === undefined || v === '')) return fallback;
          if (v === undefined) {
            problems.push({
              file,
              ...at(node.range?.[0]),
              path: formatPath(pathOfNodes(path, node)),
              message: `environment variable ${name} is not set (referenced as \${env:${name}})`,
            });
            return '';
          }
          return v;
        });
      },
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  const allowedKeys = new Map<string, string[]>();
  const result = schema.safeParse(value, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        const shape = shapeKeys(iss.inst);
        if (shape) allowedKeys.set(JSON.stringify(iss.path ?? []), shape);
        return 'unknown key';
      }
      return defaultMessage(iss);
    },
  });
  if (result.success) return result.data;

  for (const issue of result.error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys.get(JSON.stringify(issue.path));
      for (const k of issue.keys) {
        const loc = locate(doc.contents, [...path, k]);
        problems.push({
          file,
          ...at(loc.keyOffset ?? loc.offset),
          path: formatPath([...path, k]),
          message: `unknown key "${k}"${allowed ? `; allowed: ${allowed.join(', ')}` : ''}`,
        });
      }
      continue;
    }
    const loc = locate(doc.contents, path);
    let message = issue.message;
    if (issue.code === 'invalid_type' && issue.expected === 'string' && loc.exact && loc.source !== undefined) {
      message += ` (write it in quotes: "${loc.source}")`;
    }
    problems.push({ file, ...at(loc.offset), path: formatPath(path), message });
  }
  throw new ConfigError(problems);
}

/** Reads `file` as UTF-8 and calls {@link loadYamlWithSchema}; errors name `file` as given. */
export function loadYamlFileWithSchema<S extends z.ZodType>(
  file: string,
  schema: S,
  options: LoadYamlOptions = {},
): z.output<S> {
  return loadYamlWithSchema(file, readFileSync(file, 'utf8'), schema, options);
}

/** `item.dueDate.type`, `tags[1].from`; `(root)` for the empty path. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out === '' ? '(root)' : out;
}

interface Located {
  /** Offset of the node the path names, or of its nearest existing ancestor. */
  offset: number | undefined;
  /** Offset of the key when the last segment is a map key. */
  keyOffset: number | undefined;
  /** Whether the whole path exists (false: a required key is missing, offset is the parent's). */
  exact: boolean;
  /** The scalar's source text, when the node is a plain scalar. */
  source: string | undefined;
}

function locate(root: unknown, path: readonly (string | number)[]): Located {
  let node: unknown = root;
  let keyOffset: number | undefined;
  for (const seg of path) {
    const next = child(node, seg);
    if (!next) {
      return { offset: rangeStart(node), keyOffset: undefined, exact: false, source: undefined };
    }
    node = next.value;
    keyOffset = next.keyOffset;
    if (node === null || node === undefined) {
      // `key:` with nothing after it: point at the key.
      return { offset: keyOffset, keyOffset, exact: true, source: undefined };
    }
  }
  const source = isScalar(node) && node.type === 'PLAIN' && typeof node.source === 'string' ? node.source : undefined;
  return { offset: rangeStart(node), keyOffset, exact: true, source };
}

function child(node: unknown, seg: string | number): { value: unknown; keyOffset: number | undefined } | undefined {
  if (isAlias(node)) return undefined;
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const k = isScalar(pair.key) ? pair.key.value : pair.key;
      if (String(k) === String(seg)) {
        return { value: pair.value, keyOffset: isScalar(pair.key) ? pair.key.range?.[0] : undefined };
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof seg === 'number') {
    const item = node.items[seg];
    return item === undefined ? undefined : { value: item, keyOffset: undefined };
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const r = (node as Node).range;
    return r ? r[0] : undefined;
  }
  return undefined;
}

function pathOfNodes(ancestors: readonly unknown[], self: unknown): (string | number)[] {
  const out: (string | number)[] = [];
  const chain = [...ancestors, self];
  for (let i = 1; i < chain.length; i++) {
    const parent = chain[i - 1];
    const cur = chain[i];
    if (isPair(cur)) {
      out.push(String(isScalar(cur.key) ? cur.key.value : cur.key));
    } else if (isSeq(parent)) {
      out.push(parent.items.indexOf(cur as never));
    }
  }
  return out;
}

function shapeKeys(inst: unknown): string[] | undefined {
  const def = (inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def;
  return def?.shape ? Object.keys(def.shape) : undefined;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `a string`;
  return `${typeof v} ${String(v)}`;
}

/** Plain-language messages for the common zod issue codes; `undefined` keeps zod's own. */
function defaultMessage(iss: z.core.$ZodRawIssue): string | undefined {
  switch (iss.code) {
    case 'invalid_type': {
      const expected = iss.expected === 'int' ? 'an integer' : iss.expected === 'object' ? 'a map' : iss.expected;
      if (iss.input === undefined) return `required: expected ${expected}`;
      return `expected ${expected === 'array' ? 'a list' : expected}, got ${describe(iss.input)}`;
    }
    case 'invalid_value':
      return iss.values.length === 1
        ? `expected ${String(iss.values[0])}`
        : `expected one of ${iss.values.map(String).join(', ')}`;
    case 'too_small':
      if (iss.origin === 'string')
        return Number(iss.minimum) <= 1 ? 'must not be empty' : `must have at least ${iss.minimum} characters`;
      if (iss.origin === 'array') return `must have at least ${iss.minimum} item(s)`;
      return `must be ${iss.inclusive ? '>=' : '>'} ${iss.minimum}`;
    case 'too_big':
      if (iss.origin === 'string') return `must have at most ${iss.maximum} characters`;
      if (iss.origin === 'array') return `must have at most ${iss.maximum} item(s)`;
      return `must be ${iss.inclusive ? '<=' : '<'} ${iss.maximum}`;
    case 'invalid_union': {
      const options: unknown = iss.options;
      if (iss.discriminator && Array.isArray(options)) {
        return `${iss.discriminator}: expected one of ${options.map(String).join(', ')}`;
      }
      const first = iss.errors.map((e) => e[0]?.message).filter((m): m is string => !!m);
      return first.length > 0 ? `does not match any allowed form (${[...new Set(first)].join('; or ')})` : undefined;
    }
    default:
      return undefined;
  }
}
