/**
 * The schema of a tenant configuration (`config/tenants/<id>.yaml`) and of the golden-client profiles it is made from
 * (`config/profiles/<name>.yaml`). A tenant is a profile with its parameters filled in, so both share one schema:
 * {@link configSchema} accepts the init placeholders (`{{tenantId}}`, `{{name}}`, `{{country}}`, `{{currency}}`) where
 * a profile needs them, and {@link tenantConfigSchema} is the same schema plus the rule that no placeholder is left.
 *
 * Objects are strict: an unknown key is an error that lists the allowed keys (see `yaml-errors.ts`), and enum errors
 * list the allowed values. Semantic rules (levels in order, channels configured, unique names) are refinements whose
 * issues carry the path of the offending value, so the error points at its line and column.
 */
import { z } from 'zod';
import { isKnownCurrency } from '../domain/money';

/** The init parameters a profile may reference as `{{name}}`. */
export const PROFILE_PARAMETERS = ['tenantId', 'name', 'country', 'currency'] as const;
export type ProfileParameter = (typeof PROFILE_PARAMETERS)[number];

const placeholder = (p: ProfileParameter): string => `{{${p}}}`;
/** Any `{{word}}` left in a string: an unfilled (or misspelt) placeholder. */
const ANY_PLACEHOLDER = /\{\{\s*[A-Za-z_][\w]*\s*\}\}/;

/** ISO 3166-1 alpha-2, the officially assigned codes. */
export const COUNTRY_CODES: ReadonlySet<string> = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ ' +
    'CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR ' +
    'GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO ' +
    'JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR ' +
    'MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO ' +
    'RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV ' +
    'TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

export const TENANT_ID = /^[a-z0-9-]{2,40}$/;

export function isKnownCountry(code: string): boolean {
  return COUNTRY_CODES.has(code);
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** A string that is either the placeholder of `param` (profiles) or passes `check` (returns a message when wrong). */
function parameter(param: ProfileParameter, check: (v: string) => string | undefined) {
  return z.string().superRefine((v, ctx) => {
    if (v === placeholder(param)) return;
    const message = check(v);
    if (message) ctx.addIssue({ code: 'custom', message, input: v });
  });
}

const nonEmpty = z.string().trim().min(1);
const int = z.number().int();
const nonNegativeInt = int.min(0);
/** Amounts in minor units of the tenant currency (integers, DESIGN §3). */
const minor = nonNegativeInt;
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { error: 'expected lower-case letters, digits and "-"' });
const language = z.string().regex(/^[a-z]{2}$/, { error: 'expected a two-letter ISO 639-1 code such as de or en' });
/** `user@host` or `Display Name <user@host>`. */
const mailbox = z.string().regex(/^(?:[^<>@]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/, {
  error: 'expected an e-mail address, e.g. billing@example.com or "Example GmbH <billing@example.com>"',
});

export const tenantInfoSchema = z.strictObject({
  /** Lower-case id, `[a-z0-9-]{2,40}`; the tenant file is named after it. */
  id: parameter('tenantId', (v) => (TENANT_ID.test(v) ? undefined : 'expected 2–40 characters of a-z, 0-9 and "-"')),
  /** Display name, used in notices and the e-mail sender. */
  name: parameter('name', (v) => (v.trim() === '' ? 'must not be empty' : undefined)),
  /** ISO 3166-1 alpha-2, upper case. */
  country: parameter('country', (v) =>
    isKnownCountry(v) ? undefined : `"${v}" is not an ISO 3166-1 alpha-2 country code (e.g. DE, AT, CH)`,
  ),
  /** ISO 4217; must be in the money module's exponent table. */
  currency: parameter('currency', (v) =>
    isKnownCurrency(v) ? undefined : `"${v}" is not a known ISO 4217 currency code (e.g. EUR, CHF)`,
  ),
  /** IANA time zone; dunning dates are computed in it. */
  timezone: z.string().refine(isValidTimeZone, { error: 'expected an IANA time zone such as Europe/Berlin' }),
  /** Languages notices are written in; each needs its templates under `templates.dir/<language>/`. */
  languages: z.array(language).min(1),
  /** Used for debtors whose language is not in `languages`. */
  defaultLanguage: language,
});

export const SOURCE_KINDS = ['csv', 'sap-odata', 'sap-rfc', 'sap-soap', 'soap', 'push'] as const;

export const sourceSchema = z.strictObject({
  /** Unique within the tenant; part of every item's identity `(tenant, source, sourceKey)`. */
  name: slug,
  kind: z.enum(SOURCE_KINDS),
  /** The versioned mapping file, relative to the package root. */
  mapping: z
    .string()
    .regex(/^mappings\/[a-z0-9][a-z0-9.-]*\.yaml$/, { error: 'expected mappings/<name>.v<version>.yaml' }),
  /**
   * Connector options; each connector validates its own (`connectors/<kind>/config.ts`). Relative paths resolve
   * against the installation directory. For `csv`: `inbound` and `outbound` folders, which `clearhub init` creates.
   */
  options: z.looseObject({}).default({}),
  /** How a source's customer is linked to our debtor (DESIGN §3, debtor unification). */
  debtorMatch: z.enum(['externalId', 'email']),
  /** A disabled source is validated but never pulled or written back to (e.g. a connector that is not built yet). */
  disabled: z.boolean().default(false),
  /** Write the dunning level back to the source after each notice (SAP: `A_CustomerDunning`). */
  writeBackDunningLevel: z.boolean().default(false),
  /**
   * A paging connector's pages are grouped until one transaction holds at least this many records: fewer commits and
   * staging rounds, while a sync that fails re-reads at most this many records when it resumes. Defaults in
   * `recordsPerTransaction` (src/sync/sync.ts): 50,000 for the SAP and SOAP connectors, one file batch for csv.
   */
  recordsPerTransaction: z.number().int().min(1).optional(),
});

export const PAYMENT_PROVIDERS = [
  'stripe',
  'adyen',
  'paypal',
  'sepa-direct-debit',
  'bank-transfer',
  'invoice',
  'counter',
] as const;

export const paymentMethodSchema = z.strictObject({
  /** Canonical method id from the gateway's catalogue, e.g. `card`, `paypal`, `sepa_direct_debit`, `klarna`. */
  method: z.string().regex(/^[a-z][a-z0-9_]*$/, { error: 'expected a method id such as card or sepa_direct_debit' }),
  provider: z.enum(PAYMENT_PROVIDERS),
  /** Expected share of payments in percent (for forecasts and the demo); the list order is the routing preference. */
  share: z.number().min(0).max(100).optional(),
});

const smtpSchema = z.strictObject({
  host: nonEmpty,
  port: int.min(1).max(65535),
  /** true: implicit TLS (usually port 465); false: STARTTLS when offered (587, 25). */
  secure: z.boolean(),
  user: nonEmpty.optional(),
  /** Write it as `${env:SMTP_PASSWORD}`: secrets come from the environment. */
  password: z.string().optional(),
});

export const CHANNELS = ['email', 'sms', 'letter'] as const;
export type ChannelName = (typeof CHANNELS)[number];

export const channelsSchema = z.strictObject({
  email: z.strictObject({ from: mailbox, replyTo: mailbox.optional(), smtp: smtpSchema }),
  sms: z
    .strictObject({
      /** Alphanumeric sender id (at most 11 characters) or a phone number in E.164. */
      sender: z.string().regex(/^(?:[A-Za-z0-9 ]{1,11}|\+[1-9]\d{6,14})$/, {
        error: 'expected an alphanumeric sender id of at most 11 characters or an E.164 number',
      }),
      /** The SMS gateway's HTTP endpoint. */
      endpoint: z.url(),
      /** Write it as `${env:…}`. */
      apiKey: z.string().optional(),
    })
    .optional(),
  letter: z
    .strictObject({
      /** Where letter PDFs are written for the print shop. */
      outDir: nonEmpty,
      /** The sender block printed above the address window, one line each. */
      returnAddress: z.array(nonEmpty).min(1),
    })
    .optional(),
  /**
   * TrueType fonts the letter PDF is set in (printed, and attached to e-mails), for names and addresses in scripts the
   * PDF standard fonts lack (Polish, Czech, Turkish, Cyrillic, Greek, …); a relative path is below the installation
   * directory. Without them: Helvetica, other characters transliterated (Ł → L) or printed as "?".
   */
  fonts: z.strictObject({ regular: nonEmpty, bold: nonEmpty }).optional(),
});

export const LEVEL_NAMES = ['reminder', 'first', 'second', 'final'] as const;
export const TONES = ['friendly', 'neutral', 'firm', 'final'] as const;

export const dunningLevelSchema = z.strictObject({
  /** 1, 2, 3, … in order. */
  level: int.min(1),
  name: z.enum(LEVEL_NAMES),
  /** Days relative to the due date at which the level is reached; negative for a reminder before it. */
  daysPastDue: int,
  /** Days that must have passed since the debtor's previous notice. */
  minDaysSinceLastNotice: nonNegativeInt,
  /** A notice at this level is sent only when the debtor's due total reaches this amount. */
  minAmountMinor: minor,
  channel: z.enum(CHANNELS),
  /** Template name: `templates.dir/<language>/<template>.hbs` and `.html.hbs`. */
  template: slug,
  tone: z.enum(TONES),
  /** Dunning fee added by this notice (German law: none on the first reminder). */
  feeMinor: minor,
});

export const dunningSchema = z.strictObject({
  strategy: z.strictObject({
    name: slug,
    /** Every notice records it; a change to the levels is a new version. */
    version: int.min(1),
    levels: z.array(dunningLevelSchema).min(1),
  }),
  /** A debtor whose due total is below this amount is not dunned at all. */
  minTotalMinor: minor.default(0),
  /**
   * The rules-engine strategy (segments, levels, guardrails) that `clearhub dunning run` and the API use, e.g.
   * `config/strategies/telco-de.v1.yaml`; looked up in the installation directory, then in the package. Without it
   * the inline `strategy` runs as one segment.
   */
  strategyFile: z
    .string()
    .regex(/^config\/strategies\/[a-z0-9][a-z0-9-]*\.v\d+\.yaml$/, {
      error: 'expected config/strategies/<name>.v<version>.yaml',
    })
    .optional(),
});

export const writeBackSchema = z.strictObject({
  /** Delivery attempts before a write-back goes to the dead letters. */
  attempts: int.min(1).max(100),
  backoffBaseMs: int.min(1),
  backoffMaxMs: int.min(1),
});

export const gatewaySchema = z.strictObject({
  /** The address debtors and PSPs reach Clearhub at: pay links, return URLs and webhook URLs are built on it. */
  publicUrl: z.url({ error: 'expected an absolute URL such as https://pay.example.com' }),
  /** Signs pay links (HMAC-SHA256); give it as `${env:NAME}`, at least 32 characters. */
  payLinkSecret: z.string().min(1),
  /** How long a pay link works after the notice that carries it. @defaultValue 30 */
  payLinkTtlDays: int.min(1).max(365).default(30),
  /** How long a checkout session can be paid. @defaultValue 60 */
  sessionTtlMinutes: int
    .min(5)
    .max(60 * 24 * 7)
    .default(60),
  /**
   * Methods withdrawn from debtors in arrears (DESIGN §6 eligibility): from this dunning level on, the listed flow
   * kinds (e.g. `bnpl_invoice`) or method ids (e.g. `invoice`) are not offered. The dunning strategy can withdraw more.
   */
  withdraw: z
    .strictObject({ atLevel: int.min(1).max(9), methods: z.array(z.string().min(1)).min(1) })
    .default({ atLevel: 2, methods: ['invoice', 'bnpl_invoice'] }),
  /** Each provider's options, checked by that provider's own schema when the gateway starts (secrets as `${env:…}`). */
  providers: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});

const baseConfigSchema = z.strictObject({
  tenant: tenantInfoSchema,
  sources: z.array(sourceSchema).min(1),
  paymentMethods: z.array(paymentMethodSchema).min(1),
  channels: channelsSchema,
  dunning: dunningSchema,
  templates: z.strictObject({
    /** Folder holding `<language>/<template>.hbs`; relative paths resolve against the package root. */
    dir: nonEmpty,
  }),
  writeBack: writeBackSchema,
  /** The payment gateway (checkout, pay links, providers). Optional: without it nothing is offered online. */
  gateway: gatewaySchema.optional(),
});

type BaseConfig = z.output<typeof baseConfigSchema>;

function checkConfig(cfg: BaseConfig, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });

  const t = cfg.tenant;
  const seenLang = new Set<string>();
  t.languages.forEach((l, i) => {
    if (seenLang.has(l)) issue(['tenant', 'languages', i], `"${l}" is listed twice`);
    seenLang.add(l);
  });
  if (!seenLang.has(t.defaultLanguage)) {
    issue(['tenant', 'defaultLanguage'], `must be one of tenant.languages (${t.languages.join(', ')})`);
  }

  const seenSource = new Set<string>();
  cfg.sources.forEach((s, i) => {
    if (seenSource.has(s.name)) issue(['sources', i, 'name'], `source name "${s.name}" is used twice`);
    seenSource.add(s.name);
  });
  if (cfg.sources.every((s) => s.disabled)) issue(['sources'], 'at least one source must be enabled');

  const seenMethod = new Set<string>();
  let shares = 0;
  cfg.paymentMethods.forEach((m, i) => {
    const key = `${m.method}/${m.provider}`;
    if (seenMethod.has(key)) issue(['paymentMethods', i], `${m.method} via ${m.provider} is listed twice`);
    seenMethod.add(key);
    shares += m.share ?? 0;
  });
  if (shares > 100.0001) issue(['paymentMethods'], `the shares add up to ${shares}%, more than 100%`);

  const levels = cfg.dunning.strategy.levels;
  levels.forEach((l, i) => {
    const path = ['dunning', 'strategy', 'levels', i];
    if (l.level !== i + 1) issue([...path, 'level'], `expected ${i + 1}: levels are numbered 1, 2, 3, … in order`);
    const prev = levels[i - 1];
    if (prev && l.daysPastDue <= prev.daysPastDue) {
      issue(
        [...path, 'daysPastDue'],
        `must be greater than level ${prev.level}'s daysPastDue (${prev.daysPastDue}): levels must be strictly increasing in daysPastDue`,
      );
    }
    if (l.channel !== 'email' && !cfg.channels[l.channel]) {
      issue([...path, 'channel'], `channel "${l.channel}" is not configured under channels.${l.channel}`);
    }
  });

  if (cfg.writeBack.backoffMaxMs < cfg.writeBack.backoffBaseMs) {
    issue(['writeBack', 'backoffMaxMs'], `must be at least backoffBaseMs (${cfg.writeBack.backoffBaseMs})`);
  }
}

/**
 * A profile or a tenant: profiles may use `{{tenantId}}`, `{{name}}`, `{{country}}` and `{{currency}}` as the
 * tenant's id, name, country and currency (and inside any other string, e.g. paths), filled in by `clearhub init`.
 */
export const configSchema = baseConfigSchema.superRefine(checkConfig);

/** An init parameter left unfilled: inside connector options only these count (connectors have templates of their own). */
const PARAM_PLACEHOLDER = new RegExp(`\\{\\{\\s*(${PROFILE_PARAMETERS.join('|')})\\s*\\}\\}`);

/**
 * {@link configSchema} plus: no placeholder may be left (a tenant is a filled-in profile). Inside `sources[].options`
 * only the init parameters count: a connector's request templates (`{{documentNumber}}` in a SOAP operation) are
 * its own and validated by the connector.
 */
export const tenantConfigSchema = configSchema.superRefine((cfg, ctx) => {
  const walk = (v: unknown, path: (string | number)[]): void => {
    if (typeof v === 'string') {
      const inOptions = path[0] === 'sources' && path[2] === 'options';
      const m = (inOptions ? PARAM_PLACEHOLDER : ANY_PLACEHOLDER).exec(v);
      if (m) ctx.addIssue({ code: 'custom', path, message: `unfilled placeholder ${m[0]}; run clearhub init` });
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => {
        walk(x, [...path, i]);
      });
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    }
  };
  walk(cfg, []);
});

/** A validated profile or tenant configuration. */
export type ClearhubConfig = z.output<typeof configSchema>;
/** A validated tenant configuration (no placeholders left). */
export type TenantConfig = ClearhubConfig;
/** A validated profile (placeholders allowed). */
export type ProfileConfig = ClearhubConfig;
export type TenantInfo = ClearhubConfig['tenant'];
export type SourceConfig = z.output<typeof sourceSchema>;
export type SourceKind = (typeof SOURCE_KINDS)[number];
export type PaymentMethodConfig = z.output<typeof paymentMethodSchema>;
export type PaymentProviderName = (typeof PAYMENT_PROVIDERS)[number];
export type ChannelsConfig = z.output<typeof channelsSchema>;
export type DunningConfig = z.output<typeof dunningSchema>;
export type DunningLevelConfig = z.output<typeof dunningLevelSchema>;
export type WriteBackConfig = z.output<typeof writeBackSchema>;
