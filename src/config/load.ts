/**
 * Loading tenant configurations and golden-client profiles (see `config/README.md`). Every load validates with the
 * schema in `schema.ts`; a mistake is a {@link ConfigError} naming `file:line:col`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { IntegrationError } from '../domain/errors';
import { readTextFile } from './read-file';
import { type ClearhubConfig, configSchema, type TenantConfig, tenantConfigSchema } from './schema';
import { ConfigError, type ConfigProblem, loadYamlWithSchema } from './yaml-errors';

/** Options of {@link loadTenantConfig} and {@link loadProfile}. */
export interface LoadConfigOptions {
  /**
   * Variables for `${env:NAME}` in string values. An unset variable without a `:-fallback` is an error.
   * @defaultValue `process.env` for tenants; for profiles no interpolation (references stay as written)
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Tenants only: the id the file was looked up by (`config/tenants/<id>.yaml`). The file must declare it, or a copied
   * tenant file would act on the tenant it was copied from.
   * @defaultValue undefined (any id)
   */
  tenantId?: string;
}

let cachedRoot: string | undefined;

/**
 * The package root: the nearest directory above this file whose package.json is named `clearhub`. Works from `src/`
 * (jest) and from `dist/src/` (built) alike.
 */
export function repoRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'clearhub') {
          cachedRoot = dir;
          return dir;
        }
      } catch {
        // not our package.json (or not JSON): keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new IntegrationError(`cannot find the clearhub package root above ${__dirname}`);
    }
    dir = parent;
  }
}

/** `config/profiles` in the package root. */
export function profilesDir(): string {
  return join(repoRoot(), 'config', 'profiles');
}

/** Names of the available profiles (`config/profiles/<name>.yaml`), sorted. */
export function listProfiles(): string[] {
  const dir = profilesDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/** The path of a profile; an unknown name is an {@link IntegrationError} listing the known ones. */
export function profilePath(name: string): string {
  const known = listProfiles();
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || !known.includes(name)) {
    throw new IntegrationError(
      `unknown profile "${name}"; available: ${known.join(', ') || '(none)'} (in ${profilesDir()})`,
      'profile',
    );
  }
  return join(profilesDir(), `${name}.yaml`);
}

/**
 * Loads and validates a golden-client profile. Placeholders (`{{tenantId}}` …) are allowed; `${env:…}` references
 * are left as written unless `opts.env` is given.
 */
export function loadProfile(name: string, opts: LoadConfigOptions = {}): ClearhubConfig {
  const file = profilePath(name);
  const shown = displayPath(file, repoRoot());
  const text = readFileSync(file, 'utf8');
  checkSecretsFromEnv(shown, text);
  return loadYamlWithSchema(shown, text, configSchema, opts.env ? { env: opts.env } : {});
}

/**
 * Loads and validates a tenant configuration, resolving `${env:NAME}` from `opts.env` (default `process.env`).
 * @throws ConfigError with `file:line:col: path: message` per problem; IntegrationError when the file is missing.
 */
export function loadTenantConfig(file: string, opts: LoadConfigOptions = {}): TenantConfig {
  const shown = displayPath(file);
  if (!existsSync(file)) throw new IntegrationError(`tenant configuration ${shown} does not exist`, 'tenant');
  return parseTenantConfig(shown, readTextFile(file, 'tenant'), opts);
}

/** {@link loadTenantConfig} on text already read; `file` is the name shown in errors. */
export function parseTenantConfig(file: string, text: string, opts: LoadConfigOptions = {}): TenantConfig {
  checkSecretsFromEnv(file, text);
  const id = opts.tenantId;
  const schema =
    id === undefined
      ? tenantConfigSchema
      : tenantConfigSchema.superRefine((cfg, ctx) => {
          if (cfg.tenant.id !== id) {
            ctx.addIssue({
              code: 'custom',
              path: ['tenant', 'id'],
              message: `the file is named for tenant "${id}": write id: ${id}, or name the file ${cfg.tenant.id}.yaml`,
            });
          }
        });
  return loadYamlWithSchema(file, text, schema, { env: opts.env ?? process.env });
}

/** Keys whose values are secrets: they must be written as `${env:NAME}`, never literally. */
const SECRET_KEY = /^(password|passwd|secret|clientSecret|apiKey|token)$/i;
const ENV_ONLY = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/;

/**
 * STYLE "secrets in the environment": a literal value under a secret key (password, apiKey, …) is an error at its
 * position, so a password never gets committed with a tenant file.
 */
export function checkSecretsFromEnv(file: string, text: string): void {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) return; // syntax errors are reported by loadYamlWithSchema
  const problems: ConfigProblem[] = [];
  const walk = (node: unknown, path: string): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        const p = path ? `${path}.${key}` : key;
        const v = pair.value;
        if (SECRET_KEY.test(key) && isScalar(v) && v.value !== null && !ENV_ONLY.test(String(v.value))) {
          problems.push({
            file,
            ...lineCounter.linePos(v.range?.[0] ?? 0),
            path: p,
            message: `a secret must come from the environment: write \${env:NAME} instead of the value`,
          });
        } else {
          walk(v, p);
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        walk(item, `${path}[${i}]`);
      });
    }
  };
  walk(doc.contents, '');
  if (problems.length > 0) throw new ConfigError(problems);
}

/** `file` relative to `base` (default: the working directory) when it lies inside it, else as given. */
export function displayPath(file: string, base = process.cwd()): string {
  const abs = resolve(file);
  const rel = relative(base, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}
