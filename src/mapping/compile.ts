/**
 * Compiles a mapping definition once into a function from a source record to a debtor and an open item.
 *
 * Everything that can be decided from the YAML is decided here: each unified field becomes one small getter closure
 * (source accessor → value map → default/required → parser → checks), and the mapper is a fixed sequence of those
 * getters writing into object literals of one shape. Per record there is no look-up in the definition, no Date
 * object and no float: money goes through `parseDecimalToMinor` with the row's currency.
 */
import { IntegrationError } from '../domain/errors';
import { isKnownCurrency, parseDecimalToMinor } from '../domain/money';
import type { DebtorType } from '../domain/types';
import { type DateFormat, dateParser, isInitialDate, parseInt10 } from './parsers';
import {
  type Condition,
  DEBTOR_TARGETS,
  type FieldSpec,
  ITEM_TARGETS,
  type MappingDefinition,
  mappingSchema,
  TAG_TARGET,
  type TargetField,
} from './schema';

/** A source record: column (or property) name to text, as the connector read it. */
export type RecordValues = Readonly<Record<string, string | undefined>>;

/** The debtor side of a mapped record (the source's view of the customer; linking to our debtor happens in sync). */
export interface MappedDebtor {
  /** The source's customer number. */
  externalId: string;
  name: string;
  type: DebtorType;
  email?: string;
  phone?: string;
  /** BCP 47 primary language, lower case. @defaultValue 'de' */
  language: string;
  /** ISO 3166-1 alpha-2, upper case. */
  country?: string;
  /**
   * The postal address below the name, as printed on a letter: street line, then postal code and city. Only when the
   * record has a city (an address without one cannot be posted to).
   */
  address?: string[];
  tags: string[];
}

/** The open item of a mapped record. */
export interface MappedItem {
  /** The mapping's key columns joined with `|`, in the order the mapping lists them. */
  sourceKey: string;
  /** The source's customer number (same as the debtor's). */
  externalId: string;
  documentNumber: string;
  contractRef?: string;
  /** ISO 4217, upper case, known to `domain/money`. */
  currency: string;
  /** Signed minor units (credit memos negative). */
  amountMinor: number;
  /** What is still owed, minor units. @defaultValue amountMinor */
  openMinor: number;
  documentDate?: string;
  /** YYYY-MM-DD. */
  dueDate: string;
  /** @defaultValue 0 */
  dunningLevel: number;
  dunningBlock?: string;
}

export interface MappingOk {
  ok: true;
  debtor: MappedDebtor;
  item: MappedItem;
}

/** The record cannot be mapped: quarantine it with this reason (it names the field and the bad value). */
export interface MappingRejection {
  ok: false;
  skipped?: false;
  /** E.g. `dueDate: "2024-13-01" is not a date (expected YYYY-MM-DD)`. */
  reason: string;
  /** The unified field at fault (`dueDate`, `sourceKey`, ...). */
  field?: string;
  /** From `ctx.line`, for the quarantine entry. */
  line?: number;
}

/** The record is not for us (a `when` condition failed): skip it silently, do not quarantine. */
export interface MappingSkip {
  ok: false;
  skipped: true;
  reason: string;
}

export type MappingResult = MappingOk | MappingRejection | MappingSkip;

/** Per-record context. */
export interface MappingContext {
  /** The record's line (or position) in the source, copied into a rejection. */
  line?: number;
}

/** A compiled mapping. Call it once per record; it never throws for bad data, only returns a rejection. */
export interface CompiledMapping {
  (record: RecordValues, ctx?: MappingContext): MappingResult;
  readonly mappingName: string;
  readonly mappingVersion: number;
  readonly sourceKind: string;
  readonly entity: string;
  /** Every source column the mapping reads, so a connector can check a file header up front. */
  readonly sourceFields: readonly string[];
}

const FAIL: unique symbol = Symbol('fail');
type Fail = typeof FAIL;
type Getter<T> = (rec: RecordValues) => T | Fail;

/** Where a getter leaves the reason before returning FAIL (single-threaded, overwritten per failure). */
interface FailSlot {
  reason: string;
  field: string;
}

const MAX_SHOWN = 80;

function show(v: string): string {
  return JSON.stringify(v.length > MAX_SHOWN ? `${v.slice(0, MAX_SHOWN)}…` : v);
}

/**
 * Compiles a mapping. The definition is validated first (it may come from code rather than `loadMapping`).
 *
 * @throws IntegrationError when the definition is invalid (paths and messages of every problem).
 * @example
 * ```ts
 * const map = compileMapping(loadMappingFile('mappings/csv-generic.v1.yaml'));
 * const r = map(record, { line: 17 });
 * if (r.ok) upsert(r.debtor, r.item); else if (!r.skipped) quarantine(r.reason, r.line);
 * ```
 */
export function compileMapping(input: MappingDefinition): CompiledMapping {
  const parsed = mappingSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new IntegrationError(`invalid mapping: ${lines.join('; ')}`, 'mapping');
  }
  const def = parsed.data;
  const fail: FailSlot = { reason: '', field: '' };
  const fields = new Set<string>();
  const c = new FieldCompiler(fail, fields);

  const key = compileKey(def.key, fail, fields);
  const when = (def.when ?? []).map((cond, i) => ({
    test: compileCondition(cond, fields),
    skip: Object.freeze({ ok: false, skipped: true, reason: `when[${i}]: ${describeCondition(cond)}` }) as MappingSkip,
  }));

  const d = def.debtor;
  const externalId = c.string('externalId', d.externalId, DEBTOR_TARGETS.externalId);
  const name = c.string('name', d.name, DEBTOR_TARGETS.name);
  const type = c.string('type', d.type, DEBTOR_TARGETS.type) as Getter<DebtorType>;
  const email = c.optionalString('email', d.email);
  const phone = c.optionalString('phone', d.phone);
  const language = c.string('language', d.language ?? { value: 'de' }, DEBTOR_TARGETS.language, checkLanguage);
  const country = c.optionalString('country', d.country, checkCountry);
  const street = c.optionalString('street', d.street);
  const postalCode = c.optionalString('postalCode', d.postalCode);
  const city = c.optionalString('city', d.city);
  const tags = (d.tags ?? []).map((spec, i) => c.tag(`tags[${i}]`, spec));

  const it = def.item;
  const documentNumber = c.string('documentNumber', it.documentNumber, ITEM_TARGETS.documentNumber);
  const contractRef = c.optionalString('contractRef', it.contractRef);
  const currency = c.string('currency', it.currency, ITEM_TARGETS.currency, checkCurrency);
  const amountMinor = c.money('amountMinor', it.amountMinor, true);
  const openMinor = it.openMinor ? c.money('openMinor', it.openMinor, false) : undefined;
  const documentDate = c.optionalDate('documentDate', it.documentDate);
  const dueDate = c.date('dueDate', it.dueDate, true);
  const dunningLevel = it.dunningLevel ? c.int('dunningLevel', it.dunningLevel, 0) : () => 0;
  const dunningBlock = c.optionalString('dunningBlock', it.dunningBlock);

  const reject = (ctx: MappingContext | undefined): MappingRejection => ({
    ok: false,
    reason: fail.reason,
    field: fail.field,
    line: ctx?.line,
  });

  const mapper = (rec: RecordValues, ctx?: MappingContext): MappingResult => {
    for (let i = 0; i < when.length; i++) {
      const w = when[i]!;
      if (!w.test(rec)) return w.skip;
    }
    const vKey = key(rec);
    if (vKey === FAIL) return reject(ctx);
    const vExternalId = externalId(rec);
    if (vExternalId === FAIL) return reject(ctx);
    const vName = name(rec);
    if (vName === FAIL) return reject(ctx);
    const vType = type(rec);
    if (vType === FAIL) return reject(ctx);
    const vEmail = email(rec);
    if (vEmail === FAIL) return reject(ctx);
    const vPhone = phone(rec);
    if (vPhone === FAIL) return reject(ctx);
    const vLanguage = language(rec);
    if (vLanguage === FAIL) return reject(ctx);
    const vCountry = country(rec);
    if (vCountry === FAIL) return reject(ctx);
    const vStreet = street(rec);
    if (vStreet === FAIL) return reject(ctx);
    const vPostalCode = postalCode(rec);
    if (vPostalCode === FAIL) return reject(ctx);
    const vCity = city(rec);
    if (vCity === FAIL) return reject(ctx);
    const vTags: string[] = [];
    for (let i = 0; i < tags.length; i++) {
      if (tags[i]!(rec, vTags) === FAIL) return reject(ctx);
    }
    const vDocumentNumber = documentNumber(rec);
    if (vDocumentNumber === FAIL) return reject(ctx);
    const vContractRef = contractRef(rec);
    if (vContractRef === FAIL) return reject(ctx);
    const vCurrency = currency(rec);
    if (vCurrency === FAIL) return reject(ctx);
    const vAmount = amountMinor(rec, vCurrency);
    if (vAmount === FAIL) return reject(ctx);
    let vOpen = vAmount;
    if (openMinor) {
      const o = openMinor(rec, vCurrency);
      if (o === FAIL) return reject(ctx);
      if (o !== undefined) vOpen = o;
    }
    const vDocumentDate = documentDate(rec);
    if (vDocumentDate === FAIL) return reject(ctx);
    const vDueDate = dueDate(rec);
    if (vDueDate === FAIL) return reject(ctx);
    const vLevel = dunningLevel(rec);
    if (vLevel === FAIL) return reject(ctx);
    const vBlock = dunningBlock(rec);
    if (vBlock === FAIL) return reject(ctx);
    return {
      ok: true,
      debtor: {
        externalId: vExternalId,
        name: vName,
        type: vType,
        email: vEmail,
        phone: vPhone,
        language: vLanguage,
        country: vCountry,
        address: vCity ? addressLines(vStreet, vPostalCode, vCity) : undefined,
        tags: vTags,
      },
      item: {
        sourceKey: vKey,
        externalId: vExternalId,
        documentNumber: vDocumentNumber,
        contractRef: vContractRef,
        currency: vCurrency,
        amountMinor: vAmount as number,
        openMinor: vOpen as number,
        documentDate: vDocumentDate,
        dueDate: vDueDate as string,
        dunningLevel: vLevel,
        dunningBlock: vBlock,
      },
    };
  };

  return Object.assign(mapper, {
    mappingName: def.name,
    mappingVersion: def.version,
    sourceKind: def.source.kind,
    entity: def.source.entity,
    sourceFields: Object.freeze([...fields]),
  });
}

function checkCurrency(v: string): string | undefined {
  return isKnownCurrency(v) ? undefined : `${show(v)} is not a known currency (expected an ISO 4217 code such as EUR)`;
}

const LANGUAGE = /^[a-z]{2,3}$/;
function checkLanguage(v: string): string | undefined {
  return LANGUAGE.test(v) ? undefined : `${show(v)} is not a language code (expected e.g. de or en)`;
}

const COUNTRY = /^[A-Z]{2}$/;
/** The lines of a postal address below the name: street (when known), then postal code and city. */
function addressLines(street: string | undefined, postalCode: string | undefined, city: string): string[] {
  const place = postalCode ? `${postalCode} ${city}` : city;
  return street ? [street, place] : [place];
}

function checkCountry(v: string): string | undefined {
  return COUNTRY.test(v) ? undefined : `${show(v)} is not an ISO 3166-1 alpha-2 country code (expected e.g. DE)`;
}

/** Normalisation tried when a value fails its check as written (`eur` → `EUR`), per target. */
const NORMALISE: Record<string, ((v: string) => string) | undefined> = {
  currency: (v) => v.toUpperCase(),
  country: (v) => v.toUpperCase(),
  language: (v) => v.toLowerCase(),
};

function describeCondition(c: Condition): string {
  if (c.equals !== undefined) return `${c.field} must equal ${show(c.equals)}`;
  if (c.notEquals !== undefined) return `${c.field} must not equal ${show(c.notEquals)}`;
  if (c.in !== undefined) return `${c.field} must be one of ${c.in.join(', ')}`;
  if (c.notIn !== undefined) return `${c.field} must not be one of ${c.notIn.join(', ')}`;
  return `${c.field} must ${c.empty ? '' : 'not '}be empty`;
}

type Accessor = (rec: RecordValues) => string;

/**
 * A reader for one column: '' when missing (or not a string), trimmed unless `trim` is false. Built with `new Function` so each column
 * gets its own property-load site (a monomorphic named load on records of one shape, about twice as fast as a shared
 * keyed load); the name is embedded as a JSON string literal, so no column name can inject code. Falls back to a
 * closure where code generation from strings is disabled.
 */
function accessor(name: string, trim: boolean): Accessor {
  // `typeof` rather than `=== undefined`: a column missing from the record must not pick up Object.prototype members
  // (a column named `constructor` or `toString`).
  const body = `const v = rec[${JSON.stringify(name)}]; return typeof v === 'string' ? v${trim ? '.trim()' : ''} : '';`;
  try {
    return new Function('rec', body) as Accessor;
  } catch {
    return (rec) => {
      const v = rec[name];
      return typeof v === 'string' ? (trim ? v.trim() : v) : '';
    };
  }
}

function column(name: string, fields: Set<string>): Accessor {
  fields.add(name);
  return accessor(name, true);
}

function compileCondition(c: Condition, fields: Set<string>): (rec: RecordValues) => boolean {
  const get = column(c.field, fields);
  if (c.equals !== undefined) {
    const x = c.equals;
    return (rec) => get(rec) === x;
  }
  if (c.notEquals !== undefined) {
    const x = c.notEquals;
    return (rec) => get(rec) !== x;
  }
  if (c.in !== undefined) {
    const set = new Set(c.in);
    return (rec) => set.has(get(rec));
  }
  if (c.notIn !== undefined) {
    const set = new Set(c.notIn);
    return (rec) => !set.has(get(rec));
  }
  const empty = c.empty === true;
  return (rec) => (get(rec) === '') === empty;
}

function compileKey(columns: readonly string[], fail: FailSlot, fields: Set<string>): Getter<string> {
  const getters = columns.map((col) => column(col, fields));
  const check = (v: string, i: number): boolean => {
    if (v === '') {
      fail.field = 'sourceKey';
      fail.reason = `sourceKey: key column "${columns[i]}" is empty`;
      return false;
    }
    if (v.includes('|')) {
      fail.field = 'sourceKey';
      fail.reason = `sourceKey: key column "${columns[i]}" value ${show(v)} contains "|", the key separator`;
      return false;
    }
    return true;
  };
  if (getters.length === 1) {
    const g = getters[0]!;
    return (rec) => {
      const v = g(rec);
      return check(v, 0) ? v : FAIL;
    };
  }
  return (rec) => {
    let out = '';
    for (let i = 0; i < getters.length; i++) {
      const v = getters[i]!(rec);
      if (!check(v, i)) return FAIL;
      out = i === 0 ? v : `${out}|${v}`;
    }
    return out;
  };
}

/**
 * Turns field specs into getters. Each getter returns the value, `undefined` for an empty optional value, or FAIL
 * after writing the reason into the fail slot.
 */
class FieldCompiler {
  constructor(
    private readonly fail: FailSlot,
    private readonly fields: Set<string>,
  ) {}

  private failWith(field: string, reason: string): Fail {
    this.fail.field = field;
    this.fail.reason = `${field}: ${reason}`;
    return FAIL;
  }

  /**
   * The raw-text stage shared by every type: source (column, concat or constant), trim, initial-value check,
   * value map, then `default`. Returns the text, '' when empty without default, or FAIL (map miss).
   */
  private text(field: string, spec: FieldSpec, isInitial?: (s: string) => boolean): Getter<string> {
    const trim = spec.trim !== false;
    const read = (name: string): Accessor => {
      this.fields.add(name);
      return accessor(name, trim);
    };
    let source: (rec: RecordValues) => string;
    if (spec.from !== undefined) {
      source = read(spec.from);
    } else if (spec.concat !== undefined) {
      const parts = spec.concat.map(read);
      const sep = spec.separator ?? ' ';
      source = (rec) => {
        let out = '';
        for (let i = 0; i < parts.length; i++) {
          const p = parts[i]!(rec);
          if (p !== '') out = out === '' ? p : out + sep + p;
        }
        return out;
      };
    } else {
      const constant = String(spec.value ?? '');
      source = () => constant;
    }

    const dflt = spec.default === undefined ? '' : String(spec.default);
    let withInitial = source;
    if (isInitial) {
      withInitial = (rec) => {
        const s = source(rec);
        return isInitial(s) ? '' : s;
      };
    }
    if (!spec.map) {
      return dflt === '' ? withInitial : (rec) => withInitial(rec) || dflt;
    }
    const table = new Map(Object.entries(spec.map));
    const star = table.get('*');
    table.delete('*');
    const allowed = [...table.keys()].join(', ');
    return (rec) => {
      const s = withInitial(rec);
      if (s === '') return dflt;
      const m = table.get(s) ?? star;
      if (m === undefined) return this.failWith(field, `${show(s)} is not in the value map (allowed: ${allowed})`);
      return m;
    };
  }

  private describeSource(spec: FieldSpec): string {
    if (spec.from !== undefined) return `column "${spec.from}" is empty`;
    if (spec.concat !== undefined) return `columns ${spec.concat.map((c) => `"${c}"`).join(', ')} are empty`;
    return 'no value';
  }

  /** A string field that must have a value (required targets such as externalId, or language with its default). */
  string(
    field: string,
    spec: FieldSpec,
    target: TargetField,
    check?: (v: string) => string | undefined,
  ): Getter<string> {
    const text = this.text(field, spec);
    const normalise = NORMALISE[field];
    const allowed = target.allowed;
    const missing = `is required but ${this.describeSource(spec)}`;
    return (rec) => {
      let s = text(rec);
      if (s === FAIL) return FAIL;
      if (s === '') return this.failWith(field, missing);
      if (allowed && !allowed.includes(s)) {
        return this.failWith(field, `${show(s)} is not one of ${allowed.join(', ')}`);
      }
      if (check && check(s) !== undefined) {
        if (normalise) s = normalise(s);
        const problem = check(s);
        if (problem) return this.failWith(field, problem);
      }
      return s;
    };
  }

  /** An optional string field; `required: true` in the spec makes it mandatory per record. */
  optionalString(
    field: string,
    spec: FieldSpec | undefined,
    check?: (v: string) => string | undefined,
  ): Getter<string | undefined> {
    if (!spec) return () => undefined;
    if (spec.required) return this.string(field, spec, TAG_TARGET, check);
    const text = this.text(field, spec);
    const normalise = NORMALISE[field];
    return (rec) => {
      let s = text(rec);
      if (s === FAIL) return FAIL;
      if (s === '') return undefined;
      if (check && check(s) !== undefined) {
        if (normalise) s = normalise(s);
        const problem = check(s);
        if (problem) return this.failWith(field, problem);
      }
      return s;
    };
  }

  /** A tag getter pushes zero or more tags. */
  tag(field: string, spec: FieldSpec): (rec: RecordValues, out: string[]) => undefined | Fail {
    const text = this.text(field, spec);
    const split = spec.split;
    const missing = `is required but ${this.describeSource(spec)}`;
    const required = spec.required === true;
    return (rec, out) => {
      const s = text(rec);
      if (s === FAIL) return FAIL;
      if (s === '') return required ? this.failWith(field, missing) : undefined;
      if (split === undefined) {
        out.push(s);
        return undefined;
      }
      for (const part of s.split(split)) {
        const t = part.trim();
        if (t !== '' && !out.includes(t)) out.push(t);
      }
      return undefined;
    };
  }

  private dateGetter(field: string, spec: FieldSpec, required: boolean): Getter<string | undefined> {
    const format: DateFormat = spec.format ?? 'YYYY-MM-DD';
    const parse = dateParser(format);
    const text = this.text(field, spec, isInitialDate);
    const missing = `is required but ${this.describeSource(spec)}`;
    return (rec) => {
      const s = text(rec);
      if (s === FAIL) return FAIL;
      if (s === '') return required ? this.failWith(field, missing) : undefined;
      const iso = parse(s);
      return iso === null ? this.failWith(field, `${show(s)} is not a date (expected ${format})`) : iso;
    };
  }

  date(field: string, spec: FieldSpec, required: true): Getter<string> {
    return this.dateGetter(field, spec, required) as Getter<string>;
  }

  optionalDate(field: string, spec: FieldSpec | undefined): Getter<string | undefined> {
    if (!spec) return () => undefined;
    return this.dateGetter(field, spec, spec.required === true);
  }

  /** The field's sign rule as a function of the parsed value (see the schema's `sign`). */
  private signed(spec: FieldSpec): ((n: number, rec: RecordValues) => number) | undefined {
    const rule = spec.sign;
    if (!rule) return undefined;
    const zero = (n: number) => (n === 0 ? 0 : n); // never -0
    if ('negateWhen' in rule) {
      const when = compileCondition(rule.negateWhen, this.fields);
      return (n, rec) => zero(when(rec) ? -n : n);
    }
    const when = compileCondition(rule.negativeWhen, this.fields);
    return (n, rec) => zero(when(rec) ? -Math.abs(n) : Math.abs(n));
  }

  int(field: string, spec: FieldSpec, fallback: number): Getter<number> {
    const text = this.text(field, spec);
    const sign = this.signed(spec);
    const required = spec.required === true;
    const missing = `is required but ${this.describeSource(spec)}`;
    const min = field === 'dunningLevel' ? 0 : Number.MIN_SAFE_INTEGER;
    return (rec) => {
      const s = text(rec);
      if (s === FAIL) return FAIL;
      if (s === '') return required ? this.failWith(field, missing) : fallback;
      let n = parseInt10(s);
      if (n === null) return this.failWith(field, `${show(s)} is not an integer`);
      if (sign) n = sign(n, rec);
      if (n < min) return this.failWith(field, `${show(s)} must not be below ${min}`);
      return n;
    };
  }

  /**
   * A money getter: parses exactly with the row's currency. `required` amounts fail when empty; an optional one
   * (openMinor) returns undefined so the caller falls back.
   */
  money(
    field: string,
    spec: FieldSpec,
    required: boolean,
  ): (rec: RecordValues, currency: string) => number | undefined | Fail {
    const text = this.text(field, spec);
    const sign = this.signed(spec);
    const mustHave = required || spec.required === true;
    const missing = `is required but ${this.describeSource(spec)}`;
    return (rec, currency) => {
      const s = text(rec);
      if (s === FAIL) return FAIL;
      if (s === '') return mustHave ? this.failWith(field, missing) : undefined;
      let n: number;
      try {
        n = parseDecimalToMinor(s, currency, field);
      } catch (err) {
        this.fail.field = field;
        this.fail.reason = err instanceof Error ? err.message : `${field}: ${show(s)} is not an amount`;
        return FAIL;
      }
      return sign ? sign(n, rec) : n;
    };
  }
}
