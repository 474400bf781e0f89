/**
 * `clearhub init`: a complete tenant from a golden-client profile and a few parameters (DESIGN §9).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parseDocument, visit } from 'yaml';
import { IntegrationError } from '../domain/errors';
import { isKnownCurrency } from '../domain/money';
import { checkSecretsFromEnv, displayPath, loadProfile, profilePath } from './load';
import { isKnownCountry, type ProfileParameter, TENANT_ID, type TenantConfig, tenantConfigSchema } from './schema';
import { loadYamlWithSchema } from './yaml-errors';

/** Parameters of {@link initTenant}. */
export interface InitTenantOptions {
  /** Profile name in `config/profiles`, e.g. `telco-de`. */
  profile: string;
  /** Tenant id, `[a-z0-9-]{2,40}`; also the file name. */
  tenant: string;
  /** Display name, e.g. `Muster Telekom GmbH`. */
  name: string;
  /** ISO 3166-1 alpha-2 (case-insensitive). */
  country: string;
  /** ISO 4217 (case-insensitive). */
  currency: string;
  /**
   * Installation directory: `outDir` and the sources' data folders resolve against it.
   * @defaultValue `process.cwd()`
   */
  home?: string;
  /** @defaultValue `config/tenants` */
  outDir?: string;
  /** Overwrite an existing tenant file. @defaultValue false */
  force?: boolean;
}

/** Option keys of a source that name folders `init` creates (CSV drops). */
const DATA_DIR_KEYS = ['inbound', 'outbound', 'archive'] as const;

/**
 * Creates `<home>/<outDir>/<tenant>.yaml` from the profile with the parameters filled in, keeping the profile's
 * comments, and creates the enabled sources' data folders. The result is validated with the tenant schema before
 * anything is written, so init never leaves an invalid tenant behind (`${env:…}` secrets need not be set yet).
 *
 * @returns the absolute path of the tenant file.
 * @throws IntegrationError for a bad parameter, an unknown profile or an existing file without `force`;
 *   ConfigError when the profile itself is invalid.
 */
export function initTenant(o: InitTenantOptions): string {
  const params = checkParameters(o);
  const home = resolve(o.home ?? process.cwd());
  const outDir = resolve(home, o.outDir ?? join('config', 'tenants'));
  const file = join(outDir, `${params.tenantId}.yaml`);
  if (existsSync(file) && !o.force) {
    throw new IntegrationError(`${file} already exists; pass force (--force) to overwrite it`, 'tenant');
  }

  loadProfile(o.profile); // reports a broken profile against the profile file, not the tenant
  const text = fillProfile(readFileSync(profilePath(o.profile), 'utf8'), params, o.profile);

  const shown = displayPath(file);
  checkSecretsFromEnv(shown, text);
  // Secrets are resolved when the tenant runs, not at init: validate with every referenced variable set.
  const env = Object.fromEntries([...text.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => [m[1]!, 'set']));
  const cfg = loadYamlWithSchema(shown, text, tenantConfigSchema, { env });

  for (const dir of dataDirs(cfg)) mkdirSync(isAbsolute(dir) ? dir : resolve(home, dir), { recursive: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(file, text);
  return file;
}

type Parameters = Record<ProfileParameter, string>;

function checkParameters(o: InitTenantOptions): Parameters {
  const tenantId = String(o.tenant ?? '').trim();
  if (!TENANT_ID.test(tenantId)) {
    throw new IntegrationError(
      `"${tenantId}" is not a valid tenant id: use 2–40 characters of a-z, 0-9 and "-"`,
      'tenant',
    );
  }
  const name = String(o.name ?? '').trim();
  if (name === '' || /[\r\n]/.test(name) || name.length > 200) {
    throw new IntegrationError('the tenant name must be one line of 1–200 characters', 'name');
  }
  const country = String(o.country ?? '')
    .trim()
    .toUpperCase();
  if (!isKnownCountry(country)) {
    throw new IntegrationError(`"${o.country}" is not an ISO 3166-1 alpha-2 country code (e.g. DE, AT, CH)`, 'country');
  }
  const currency = String(o.currency ?? '')
    .trim()
    .toUpperCase();
  if (!isKnownCurrency(currency)) {
    throw new IntegrationError(`"${o.currency}" is not a known ISO 4217 currency code (e.g. EUR, CHF)`, 'currency');
  }
  return { tenantId, name, country, currency };
}

/**
 * Substitutes `{{param}}` in the profile's string values through the YAML document API, so comments stay and
 * quoting is redone correctly for any name (quotes, colons, `#`). Unknown placeholders are left for the schema to
 * report.
 */
function fillProfile(text: string, params: Parameters, profile: string): string {
  const doc = parseDocument(text);
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('{{')) return;
      node.value = node.value.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, p: string) =>
        Object.hasOwn(params, p) ? params[p as ProfileParameter] : whole,
      );
      // Let the stringifier choose the quoting: plain where it can, quotes for e.g. "Foo: Bar #1" or "123".
      node.type = undefined;
    },
  });
  const header = ` Tenant ${params.tenantId}: created by \`clearhub init --profile ${profile}\`; edit freely.`;
  doc.commentBefore = doc.commentBefore ? `${header}\n\n${doc.commentBefore}` : header;
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function dataDirs(cfg: TenantConfig): string[] {
  const dirs: string[] = [];
  for (const s of cfg.sources) {
    if (s.disabled) continue;
    for (const k of DATA_DIR_KEYS) {
      const v = s.options[k];
      if (typeof v === 'string' && v !== '') dirs.push(v);
    }
  }
  if (cfg.channels.letter) dirs.push(cfg.channels.letter.outDir);
  return dirs;
}
