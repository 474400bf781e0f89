/**
 * Pure functions of the SOAP connector between the wire (objects the `soap` package builds from XML, and the objects
 * it serialises) and ours: request templates, response paths, flat records, checkpoints, faults, secrets. No I/O.
 */

import { UNSET_SECRET as UNSET_MARKER } from '../../src/config/secrets';
import { IntegrationError } from '../../src/domain/errors';
import { formatMinor } from '../../src/domain/money';
import type { WriteBackCommand } from '../../src/domain/write-back';
import type { RequestTemplate, TemplateValue } from './config';

/**
 * XSD built-in types the `soap` package would turn into JS numbers, booleans or Dates. Kept as the exact text instead:
 * an `xsd:decimal` amount must never pass through a float (DESIGN §3), an `xsd:long` may exceed 2^53, and a date must
 * not move by a time zone. Pass as `customDeserializer` to the client and the simulator.
 */
export const KEEP_TEXT: Readonly<Record<string, (text: string) => string>> = Object.freeze(
  Object.fromEntries(
    [
      'int',
      'integer',
      'short',
      'long',
      'double',
      'float',
      'decimal',
      'bool',
      'boolean',
      'date',
      'dateTime',
      'time',
    ].map((t) => [t, (text: string) => text]),
  ),
);

/** Values for the placeholders of one request; `undefined`/'' leaves an element that is only that placeholder out. */
export type TemplateValues = Readonly<Record<string, string | readonly string[] | undefined>>;

const ONLY = /^\{\{\s*([A-Za-z]+)\s*\}\}$/;
const ANY = /\{\{\s*([A-Za-z]+)\s*\}\}/g;
const OMIT: unique symbol = Symbol('omit');

/**
 * Fills a request template. A string that is exactly one placeholder takes the value as is (a list becomes repeated
 * elements) or, when the value is missing or empty, drops the element; placeholders inside longer text are replaced
 * by their text.
 * @example fillTemplate({ PageSize: '{{pageSize}}', PageToken: '{{pageToken}}' }, { pageSize: '500' }) // { PageSize: '500' }
 */
export function fillTemplate(template: RequestTemplate, values: TemplateValues): Record<string, unknown> {
  const fill = (t: TemplateValue): unknown => {
    if (typeof t === 'number' || typeof t === 'boolean') return String(t);
    if (typeof t === 'string') {
      const only = ONLY.exec(t);
      if (only) {
        const v = values[only[1]!];
        if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) return OMIT;
        return Array.isArray(v) ? [...v] : v;
      }
      return t.replace(ANY, (_, name: string) => {
        const v = values[name];
        return Array.isArray(v) ? v.join(',') : ((v as string | undefined) ?? '');
      });
    }
    if (Array.isArray(t)) return t.map(fill).filter((v) => v !== OMIT);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(t)) {
      const f = fill(v);
      if (f !== OMIT) out[k] = f;
    }
    return out;
  };
  return fill(template) as Record<string, unknown>;
}

/** A description of an operation's input as `client.describe()` gives it: element → type or nested description. */
export type ElementShape = { [element: string]: string | ElementShape };

/**
 * Puts the elements of `args` into the order of the schema's `xsd:sequence` (the `soap` package writes object keys in
 * insertion order, and a strict server rejects a sequence out of order). Elements the schema does not know go last.
 */
export function orderLike(args: Record<string, unknown>, shape: ElementShape | undefined): Record<string, unknown> {
  if (!shape) return args;
  const out: Record<string, unknown> = {};
  for (const [rawKey, sub] of Object.entries(shape)) {
    const key = rawKey.endsWith('[]') ? rawKey.slice(0, -2) : rawKey;
    if (!(key in args)) continue;
    const v = args[key];
    if (typeof sub === 'object' && v && typeof v === 'object') {
      out[key] = Array.isArray(v)
        ? v.map((e) => (e && typeof e === 'object' ? orderLike(e as Record<string, unknown>, sub) : e))
        : orderLike(v as Record<string, unknown>, sub);
    } else {
      out[key] = v;
    }
  }
  for (const [k, v] of Object.entries(args)) if (!(k in out)) out[k] = v;
  return out;
}

/** Element names in `args` (dotted, arrays looked into) that the operation's input does not have. */
export function unknownElements(args: Record<string, unknown>, shape: ElementShape, at = ''): string[] {
  const known = new Map(Object.entries(shape).map(([k, v]) => [k.endsWith('[]') ? k.slice(0, -2) : k, v]));
  const out: string[] = [];
  for (const [k, v] of Object.entries(args)) {
    const sub = known.get(k);
    if (sub === undefined) out.push(`${at}${k}`);
    else if (typeof sub === 'object' && v && typeof v === 'object') {
      for (const e of Array.isArray(v) ? v : [v]) {
        if (e && typeof e === 'object') out.push(...unknownElements(e as Record<string, unknown>, sub, `${at}${k}.`));
      }
    }
  }
  return out;
}

/** Follows a dotted path through objects; `undefined` when a step is missing. */
export function getPath(value: unknown, path: string | undefined): unknown {
  if (path === undefined) return undefined;
  let v = value;
  for (const step of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, step)) return undefined;
    v = (v as Record<string, unknown>)[step];
  }
  return v;
}

/** One element or many as a list (the `soap` package gives a single repeated element as an object). */
export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null || value === '') return [];
  return Array.isArray(value) ? value : [value];
}

/** The text of a simple element (the value of an element with attributes is in `$value`). */
export function textOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && '$value' in value) return textOf((value as { $value: unknown }).$value);
  return undefined;
}

/**
 * A response element → a flat record: nested elements with dotted names (`Address.City`), repeated elements with
 * their index (`Phone.0`, `Phone.1`), attributes as `@name` (`Amount.@currency`). Empty and nil elements are left out.
 * @example flatten({ Name: 'A', Address: { City: 'Köln' } }) // { Name: 'A', 'Address.City': 'Köln' }
 */
export function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  const put = (k: string, v: string) => {
    if (k !== '' && k !== '__proto__') out[k] = v;
  };
  const scalar = textOf(value);
  if (scalar !== undefined && (typeof value !== 'object' || value instanceof Date)) {
    put(prefix, scalar);
    return out;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      flatten(v, prefix ? `${prefix}.${i}` : String(i), out);
    });
    return out;
  }
  if (value === null || typeof value !== 'object') return out;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'attributes' && v && typeof v === 'object') {
      for (const [a, av] of Object.entries(v as Record<string, unknown>)) {
        if (a.includes(':')) continue; // xsi:type, xsi:nil, xmlns:* say nothing about the data
        const t = textOf(av);
        if (t !== undefined) put(prefix ? `${prefix}.@${a}` : `@${a}`, t);
      }
    } else if (k === '$value') {
      const t = textOf(v);
      if (t !== undefined) put(prefix, t);
    } else if (!k.startsWith('$')) {
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    }
  }
  return out;
}

/** Where a pull got to. */
export interface SoapCheckpoint {
  v: 1;
  /** The `changedSince` of the pull in progress, or of the next pull when no `pageToken` is set. */
  changedSince?: string;
  /** The page to read next when a pull was cut; absent when the last pull completed. */
  pageToken?: string;
  /** The latest change time seen so far in the pull in progress. */
  highWater?: string;
  /** Records handed over so far in the pull in progress (their `line`). */
  n?: number;
}

export function encodeCheckpoint(cp: SoapCheckpoint): string {
  return JSON.stringify(cp);
}

/** Reads a checkpoint; anything unreadable (another connector's, a hand edit) means a full read. */
export function decodeCheckpoint(s: string | undefined): SoapCheckpoint | undefined {
  if (!s) return undefined;
  try {
    const v = JSON.parse(s) as Partial<SoapCheckpoint> | null;
    if (typeof v !== 'object' || v === null || v.v !== 1) return undefined;
    const cp: SoapCheckpoint = { v: 1 };
    if (typeof v.changedSince === 'string') cp.changedSince = v.changedSince;
    if (typeof v.pageToken === 'string' && v.pageToken !== '') cp.pageToken = v.pageToken;
    if (typeof v.highWater === 'string') cp.highWater = v.highWater;
    if (Number.isSafeInteger(v.n) && (v.n as number) >= 0) cp.n = v.n as number;
    return cp;
  } catch {
    return undefined;
  }
}

/** The later of two xsd:dateTime texts (compared as instants; text that is no date is ignored). */
export function laterOf(a: string | undefined, b: string | undefined): string | undefined {
  const ta = a === undefined ? Number.NaN : Date.parse(a);
  const tb = b === undefined ? Number.NaN : Date.parse(b);
  if (Number.isNaN(tb)) return Number.isNaN(ta) ? undefined : a;
  if (Number.isNaN(ta)) return b;
  return tb > ta ? b : a;
}

/** Placeholder values of a write-back command. Amounts as plain decimals from minor units ("1190.00"). */
export function writeBackValues(command: WriteBackCommand, idempotencyKey: string): Record<string, string> {
  if (idempotencyKey === '') throw new IntegrationError('must not be empty', 'idempotencyKey');
  const common = {
    documentNumber: command.documentNumber,
    sourceKey: command.sourceKey,
    externalId: command.externalId,
    idempotencyKey,
  };
  switch (command.kind) {
    case 'payment':
      return {
        ...common,
        paymentId: command.paymentId,
        amount: formatMinor(command.amountMinor, command.currency),
        currency: command.currency,
        valueDate: command.valueDate,
        cleared: command.cleared ? 'true' : 'false',
      };
    case 'reversal':
      return {
        ...common,
        paymentId: command.paymentId,
        amount: formatMinor(command.amountMinor, command.currency),
        currency: command.currency,
        reason: command.reason,
      };
    case 'dunning_level':
      if (!Number.isSafeInteger(command.level) || command.level < 0) {
        throw new IntegrationError(`${command.level} is not a dunning level`, 'level');
      }
      return { ...common, level: String(command.level), noticeId: command.noticeId, dunnedOn: command.dunnedOn };
    default: {
      const never: never = command;
      throw new IntegrationError(`unknown write-back command ${JSON.stringify(never)}`, 'kind');
    }
  }
}

/** A SOAP fault as the `soap` package parsed it (1.1 `faultcode`/`faultstring`/`detail`, or 1.2 Code/Reason/Detail). */
export interface SoapFault {
  /**
   * As sent, e.g. `soap:Client.DuplicateReference` or (1.2) `soap:Sender`; a 1.2 subcode is appended in the 1.1 way,
   * so `env:Receiver` with subcode `app:Busy` is `env:Receiver.Busy` and both parts count.
   */
  code: string;
  message: string;
  detail?: unknown;
}

/** The fault inside an error the `soap` client threw, if it is one. */
export function faultOf(err: unknown): SoapFault | undefined {
  const fault = getPath(err, 'root.Envelope.Body.Fault');
  if (!fault || typeof fault !== 'object') return undefined;
  const f = fault as Record<string, unknown>;
  const value = textOf(getPath(f, 'Code.Value'));
  const sub = textOf(getPath(f, 'Code.Subcode.Value'));
  const soap12 = value && sub ? `${value}.${sub.slice(sub.lastIndexOf(':') + 1)}` : (value ?? sub);
  const code = textOf(f.faultcode) ?? soap12 ?? 'unknown';
  const message = textOf(f.faultstring) ?? textOf(getPath(f, 'Reason.Text')) ?? '';
  const detail = f.detail ?? f.Detail;
  return detail === undefined ? { code, message } : { code, message, detail };
}

/** The parts of a fault code that config compares with: without prefix, and each dotted part. */
export function faultCodeParts(code: string): string[] {
  const local = code.includes(':') ? code.slice(code.lastIndexOf(':') + 1) : code;
  return [local, ...local.split('.')];
}

export function faultMatches(code: string, wanted: readonly string[]): boolean {
  if (wanted.length === 0) return false;
  const parts = faultCodeParts(code);
  return wanted.some((w) => parts.includes(w.includes(':') ? w.slice(w.lastIndexOf(':') + 1) : w));
}

/** A secret from config: its value, and the environment variable it came from (for error messages). */
export interface ResolvedSecret {
  value: string;
  variable?: string;
}

const ENV_REF = /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** How `src/runtime.ts` marks a `${env:NAME}` whose variable is unset when it loads a tenant. */

/** The environment variable a configured secret names (`${env:NAME}`, or the runtime's unset marker), if any. */
export function envVariableOf(value: string): string | undefined {
  return value.startsWith(UNSET_MARKER) ? value.slice(UNSET_MARKER.length) : ENV_REF.exec(value)?.[1];
}

/**
 * Resolves a secret written as `${env:NAME}` (options passed from code), or taken as is (a tenant config resolves
 * `${env:…}` when it loads). An unset variable is a configuration error naming it and the field.
 */
export function resolveSecret(value: string, field: string, env: NodeJS.ProcessEnv = process.env): ResolvedSecret {
  const variable = envVariableOf(value);
  if (variable === undefined) return { value };
  const v = value.startsWith(UNSET_MARKER) ? undefined : env[variable];
  if (v === undefined || v === '') {
    throw new IntegrationError(
      `environment variable ${variable} is not set (referenced as \${env:${variable}})`,
      field,
    );
  }
  return { value: v, variable };
}

const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const CARD = /\b(?:\d[ -]?){13,19}\b/g;
const EMAIL = /\b[^\s@,;"<>]+@[^\s@,;"<>]+\.[A-Za-z]{2,}\b/g;
const PASSWORD_ELEMENT = /(<(?:[\w-]+:)?(?:Password|Nonce|BinarySecurityToken)\b[^>]*>)[^<]*(<\/)/gi;
const AUTH_HEADER =
  /\b(Authorization|Proxy-Authorization)(["']?\s*[:=]\s*["']?)(Basic|Bearer|Digest|NTLM)\s+[^\s"',}]+/gi;
const SECRET_FIELD = /\b(password|passwd|secret|token|apiKey|api_key)(["']?\s*[:=]\s*["']?)[^\s"',&<}]+/gi;

/**
 * Masks what must not reach a log from SOAP traffic: WS-Security passwords, nonces and tokens, Authorization
 * headers, `password=`/`token:` pairs, IBANs, card-like digit runs and e-mail addresses.
 * @example scrub('<wsse:Password>s3cret</wsse:Password>') // '<wsse:Password>[SECRET]</wsse:Password>'
 */
export function scrub(text: string): string {
  return text
    .replace(PASSWORD_ELEMENT, '$1[SECRET]$2')
    .replace(AUTH_HEADER, '$1$2$3 [SECRET]')
    .replace(SECRET_FIELD, '$1$2[SECRET]')
    .replace(IBAN, '[IBAN]')
    .replace(CARD, '[CARD]')
    .replace(EMAIL, '[EMAIL]');
}
