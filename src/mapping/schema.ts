/**
 * The mapping language: a zod schema for `mappings/*.yaml` (see README.md in this folder), with the semantic checks
 * that need a position (a field's type against its target, defaults that do not parse, map values outside the allowed
 * set) expressed as issues with paths, so `loadYamlWithSchema` reports them as file:line:column.
 */
import { z } from 'zod';
import { DATE_FORMATS, type DateFormat, dateParser, isInitialDate, parseInt10 } from './parsers';

/** Value types a field can have. */
export const FIELD_TYPES = ['string', 'date', 'decimal-money', 'int'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** Operators of a condition; exactly one per condition. */
export const CONDITION_OPERATORS = ['equals', 'notEquals', 'in', 'notIn', 'empty'] as const;

const columnName = z.string().min(1);
const constant = z.union([z.string(), z.number()], { error: 'expected a string or a number' });

/**
 * A test on one source column (its value trimmed; a missing column is empty). Exactly one operator.
 * @example { field: BLART, in: [DR, RV] }
 */
export const conditionSchema = z
  .strictObject({
    field: columnName,
    equals: z.string().optional(),
    notEquals: z.string().optional(),
    in: z.array(z.string()).min(1).optional(),
    notIn: z.array(z.string()).min(1).optional(),
    empty: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    const ops = CONDITION_OPERATORS.filter((k) => c[k] !== undefined);
    if (ops.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          ops.length === 0
            ? `expected one of ${CONDITION_OPERATORS.join(', ')}`
            : `give only one of ${CONDITION_OPERATORS.join(', ')} (found ${ops.join(', ')})`,
      });
    }
  });
export type Condition = z.output<typeof conditionSchema>;

const fieldObjectSchema = z.strictObject(
  {
    /** Source column, taken as is (renamed). */
    from: columnName.optional(),
    /** Several source columns joined with `separator`; empty parts are left out. */
    concat: z.array(columnName).min(2).optional(),
    /** Separator for `concat`. @defaultValue ' ' */
    separator: z.string().optional(),
    /** A constant instead of a source column. */
    value: constant.optional(),
    /** Value type; defaults to the target field's type, and must equal it when given. */
    type: z.enum(FIELD_TYPES).optional(),
    /** Date layout for `type: date`. @defaultValue 'YYYY-MM-DD' */
    format: z.enum(DATE_FORMATS).optional(),
    /** Value map applied to the (trimmed) source value before parsing; `'*'` catches values not listed. */
    map: z.record(z.string(), z.string()).optional(),
    /**
     * Sign rule for money and int fields. `negateWhen`: negate the parsed value when the condition holds (a source
     * that writes amounts unsigned, as SAP's BAPIs do). `negativeWhen`: the condition alone decides the sign, whatever
     * sign the source wrote (SAP's OData writes a credit as "-250.00" with DebitCreditCode H; negating it would make it
     * a receivable).
     */
    sign: z
      .union([z.strictObject({ negateWhen: conditionSchema }), z.strictObject({ negativeWhen: conditionSchema })])
      .optional(),
    /** Used when the source value is empty (or SAP's initial date 00000000). */
    default: constant.optional(),
    /** Reject the record when the value is empty and there is no default. */
    required: z.boolean().optional(),
    /** Trim surrounding white space from source values. @defaultValue true */
    trim: z.boolean().optional(),
    /** `tags` only: split the value into several tags at this separator. */
    split: z.string().min(1).optional(),
  },
  {
    error: (iss) =>
      iss.code === 'invalid_type'
        ? `${iss.input === undefined ? 'required: ' : ''}expected a column name or a field map ({ from, type, format, map, default, ... })`
        : undefined,
  },
);

/** How one unified field comes from the source record. A plain string is short for `{ from: <string> }`. */
export const fieldSpecSchema = z.preprocess((v) => (typeof v === 'string' ? { from: v } : v), fieldObjectSchema);
export type FieldSpec = z.output<typeof fieldObjectSchema>;

/** What a unified field is: its type, whether the mapping must say where it comes from, allowed values. */
export interface TargetField {
  type: FieldType;
  /** The mapping must define it, and every record must have a value. */
  required?: boolean;
  allowed?: readonly string[];
}

export const DEBTOR_TARGETS = {
  externalId: { type: 'string', required: true },
  name: { type: 'string', required: true },
  type: { type: 'string', required: true, allowed: ['B2B', 'B2C'] },
  email: { type: 'string' },
  phone: { type: 'string' },
  language: { type: 'string' },
  country: { type: 'string' },
  /** Postal address for letters: street and house number, postal code, city (with `country`). */
  street: { type: 'string' },
  postalCode: { type: 'string' },
  city: { type: 'string' },
} as const satisfies Record<string, TargetField>;

export const ITEM_TARGETS = {
  documentNumber: { type: 'string', required: true },
  contractRef: { type: 'string' },
  currency: { type: 'string', required: true },
  amountMinor: { type: 'decimal-money', required: true },
  openMinor: { type: 'decimal-money' },
  documentDate: { type: 'date' },
  dueDate: { type: 'date', required: true },
  dunningLevel: { type: 'int' },
  dunningBlock: { type: 'string' },
} as const satisfies Record<string, TargetField>;

export const TAG_TARGET: TargetField = { type: 'string' };

type Shape<T extends Record<string, TargetField>> = {
  [K in keyof T]: T[K] extends { required: true } ? typeof fieldSpecSchema : z.ZodOptional<typeof fieldSpecSchema>;
};

function targetsShape<T extends Record<string, TargetField>>(targets: T): Shape<T> {
  const shape: Record<string, z.ZodType> = {};
  for (const [k, t] of Object.entries(targets)) shape[k] = t.required ? fieldSpecSchema : fieldSpecSchema.optional();
  return shape as Shape<T>;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;

const baseMappingSchema = z.strictObject({
  /** Mapping name, kebab-case; the file is `<name>.v<version>.yaml`. */
  name: z.string().regex(NAME, { error: 'expected a kebab-case name such as sap-fi-ar-odata' }),
  /** Version; a change to a mapping is a new version (a new file). */
  version: z.int().positive(),
  source: z.strictObject({
    /** Connector kind: csv, sap-odata, sap-rfc, soap, ... */
    kind: z.string().min(1),
    /** Entity set, record type or file layout the records come from. */
    entity: z.string().min(1),
  }),
  /** Source columns joined in this order with `|` into `sourceKey`. */
  key: z.array(columnName).min(1),
  /** Conditions that must all hold; other records are skipped (not rejected). */
  when: z.array(conditionSchema).optional(),
  debtor: z.strictObject({ ...targetsShape(DEBTOR_TARGETS), tags: z.array(fieldSpecSchema).optional() }),
  item: z.strictObject(targetsShape(ITEM_TARGETS)),
});

/** A mapping YAML, validated. */
export const mappingSchema = baseMappingSchema.superRefine((def, ctx) => {
  const check = (spec: FieldSpec | undefined, target: TargetField, path: (string | number)[], tag = false) => {
    if (!spec) return;
    for (const issue of checkField(spec, target, tag)) {
      ctx.addIssue({ code: 'custom', path: [...path, ...issue.path], message: issue.message });
    }
  };
  for (const [k, t] of Object.entries(DEBTOR_TARGETS)) {
    check(def.debtor[k as keyof typeof DEBTOR_TARGETS], t, ['debtor', k]);
  }
  def.debtor.tags?.forEach((spec, i) => {
    check(spec, TAG_TARGET, ['debtor', 'tags', i], true);
  });
  for (const [k, t] of Object.entries(ITEM_TARGETS)) {
    check(def.item[k as keyof typeof ITEM_TARGETS], t, ['item', k]);
  }
});
export type MappingDefinition = z.output<typeof mappingSchema>;

interface FieldIssue {
  path: (string | number)[];
  message: string;
}

const MONEY_TEXT = /^[+-]?\d+(?:[.,]\d+)?-?$/;

/** Checks one field spec against its target; paths are relative to the spec. */
function checkField(spec: FieldSpec, target: TargetField, tag: boolean): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const type = spec.type ?? target.type;
  if (spec.type !== undefined && spec.type !== target.type) {
    issues.push({
      path: ['type'],
      message: `this field is ${target.type}; write type: ${target.type} or leave type out`,
    });
  }
  const sources = (['from', 'concat', 'value'] as const).filter((k) => spec[k] !== undefined);
  if (sources.length > 1) {
    issues.push({ path: [sources[1]!], message: `give only one of from, concat, value (found ${sources.join(', ')})` });
  }
  if (sources.length === 0 && spec.default === undefined) {
    issues.push({ path: [], message: 'say where the value comes from: from, concat or value (or give a default)' });
  }
  if (spec.value !== undefined && spec.default !== undefined) {
    issues.push({ path: ['default'], message: 'a constant value needs no default' });
  }
  if (spec.separator !== undefined && spec.concat === undefined) {
    issues.push({ path: ['separator'], message: 'separator only goes with concat' });
  }
  if (spec.format !== undefined && type !== 'date') {
    issues.push({ path: ['format'], message: 'format only goes with type: date' });
  }
  if (spec.sign !== undefined && type !== 'decimal-money' && type !== 'int') {
    issues.push({ path: ['sign'], message: 'a sign rule only goes with type: decimal-money or int' });
  }
  if (spec.split !== undefined && !tag) {
    issues.push({ path: ['split'], message: 'split is only allowed in debtor.tags' });
  }
  if (spec.map && target.allowed) {
    for (const [k, v] of Object.entries(spec.map)) {
      if (!target.allowed.includes(v)) {
        issues.push({ path: ['map', k], message: `expected one of ${target.allowed.join(', ')}` });
      }
    }
  }
  for (const key of ['default', 'value'] as const) {
    const c = spec[key];
    if (c === undefined) continue;
    const problem = checkConstant(c, type, spec.format ?? 'YYYY-MM-DD', target.allowed);
    if (problem) issues.push({ path: [key], message: problem });
  }
  return issues;
}

function checkConstant(
  c: string | number,
  type: FieldType,
  format: DateFormat,
  allowed: readonly string[] | undefined,
): string | undefined {
  switch (type) {
    case 'string':
      if (typeof c !== 'string') return `expected a string (write it in quotes: "${c}")`;
      if (allowed && !allowed.includes(c)) return `expected one of ${allowed.join(', ')}`;
      return undefined;
    case 'date':
      if (typeof c !== 'string') return `expected a date as a string in ${format}`;
      return isInitialDate(c) || dateParser(format)(c) !== null
        ? undefined
        : `"${c}" is not a date (expected ${format})`;
    case 'int':
      return parseInt10(String(c)) === null ? `expected an integer` : undefined;
    case 'decimal-money':
      if (typeof c === 'number' && !Number.isSafeInteger(c)) return 'write a decimal amount in quotes, e.g. "0.00"';
      return MONEY_TEXT.test(String(c)) ? undefined : 'expected a decimal amount such as "0.00"';
    default: {
      const never: never = type;
      return `unknown type ${String(never)}`;
    }
  }
}
