import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseCsvConnectorConfig } from '../../connectors/csv/config';
import { CsvConnector } from '../../connectors/csv/connector';
import { createSapOdataConnector } from '../../connectors/sap-odata/connector';
import { createSapRfcConnector } from '../../connectors/sap-rfc/connector';
import { createSapSoapConnector } from '../../connectors/sap-soap/connector';
import { createSoapConnector } from '../../connectors/soap/connector';
import type { SourceConfig } from '../config/schema';
import { IntegrationError } from '../domain/errors';
import type { WriteBackCommand } from '../domain/write-back';
import { compileMapping } from '../mapping/compile';
import { loadMappingFile } from '../mapping/load';
import { packageRoot } from '../runtime';
import type { SourceConnector } from './connector';
import type { MapOutcome } from './sync';

/** Source as the registry needs it: the tenant schema's source, or the same shape built by hand (benchmarks). */
export type SourceSpec = Pick<SourceConfig, 'name' | 'kind' | 'mapping' | 'options' | 'debtorMatch'>;

/**
 * Creates the connector of a configured source; `log` receives the connector's one line per external call where the
 * connector offers it (sap-odata, soap). Relative paths in its options resolve against the installation
 * directory. A kind whose connector is not built yet is a configuration error that says so.
 */
export function createSourceConnector(src: SourceSpec, home: string, log?: (line: object) => void): SourceConnector {
  switch (src.kind) {
    case 'csv':
      return new CsvConnector(parseCsvConnectorConfig({ kind: 'csv', ...src.options }, home));
    case 'sap-soap':
      return createSapSoapConnector({ kind: 'sap-soap', ...src.options }, home);
    case 'sap-rfc':
      return createSapRfcConnector({ kind: 'sap-rfc', ...src.options }, home);
    case 'soap':
      return createSoapConnector({ kind: 'soap', ...withPackageFile(src.options, 'wsdl', home) }, home, {
        source: src.name,
        ...(log ? { log } : {}),
      });
    case 'sap-odata': {
      const { postings, ...odata } = src.options as { postings?: Record<string, unknown> };
      const odataConnector = createSapOdataConnector(
        { kind: 'sap-odata', ...odata },
        { source: src.name, ...(log ? { log } : {}) },
      );
      const reader: SourceConnector = Object.assign(odataConnector, {
        async *cleared({ since, signal }: { since?: string; signal: AbortSignal }) {
          for await (const b of odataConnector.clearedSince(since, signal)) {
            yield {
              checkpoint: b.checkpoint,
              items: b.items.map((i) => ({
                sourceKey: i.sourceKey,
                evidence: `SAP clearing document ${i.clearingDocument}/${i.clearingFiscalYear}`,
                ...(i.clearedOn ? { clearedOn: i.clearedOn } : {}),
              })),
            };
          }
        },
      });
      if (!postings) return reader;
      // FI-AR over OData reads items and writes dunning; payments and reversals are posted through SOAP.
      return composite(reader, createSapSoapConnector({ kind: 'sap-soap', ...postings }, home), [
        'payment',
        'reversal',
      ]);
    }
    case 'push':
      return pushSource(src.name);
    default: {
      const never: never = src.kind;
      throw new IntegrationError(`unknown source kind ${String(never)}`, 'sources.kind');
    }
  }
}

/**
 * A push source (`POST /v1/items`): nothing to pull (the records arrive through the API) and nowhere to write back;
 * the platform that pushes reads its items' state from the API.
 */
function pushSource(name: string): SourceConnector {
  return {
    kind: 'push',
    async *pull() {},
    async writeBack(command) {
      throw new IntegrationError(
        `source "${name}" is a push source: it has no system to write the ${command.kind} back to; read it from GET /v1/items`,
        'sources.kind',
      );
    },
    async check() {
      return { ok: true, checks: [{ name: 'push', ok: true, detail: 'records arrive through POST /v1/items' }] };
    },
  };
}

/**
 * One source served by two connectors: `reader` pulls and takes every write-back except `kinds`, which go to `poster`.
 * Health is both reports together.
 */
function composite(
  reader: SourceConnector,
  poster: SourceConnector,
  kinds: readonly WriteBackCommand['kind'][],
): SourceConnector {
  return {
    kind: reader.kind,
    pull: (opts) => reader.pull(opts),
    ...(reader.cleared
      ? { cleared: (opts: Parameters<NonNullable<SourceConnector['cleared']>>[0]) => reader.cleared!(opts) }
      : {}),
    writeBack: (command, ctx) => (kinds.includes(command.kind) ? poster : reader).writeBack(command, ctx),
    async check() {
      const [a, b] = await Promise.all([reader.check(), poster.check()]);
      return {
        ok: a.ok && b.ok,
        checks: [...a.checks, ...b.checks.map((c) => ({ ...c, name: `postings ${c.name}` }))],
      };
    },
    async close() {
      await reader.close?.();
      await poster.close?.();
    },
  };
}

/**
 * A file option (e.g. a WSDL) that names a file shipped with Clearhub (`connectors/soap/wsdl/…`) resolves against the
 * package when it does not exist under the installation directory.
 */
function withPackageFile(options: Record<string, unknown>, key: string, home: string): Record<string, unknown> {
  const v = options[key];
  if (typeof v !== 'string' || /^https?:\/\//.test(v) || isAbsolute(v) || existsSync(resolve(home, v))) return options;
  const shipped = resolve(packageRoot(), v);
  return existsSync(shipped) ? { ...options, [key]: shipped } : options;
}

const compiled = new Map<string, (record: Record<string, string>, ctx: { line?: number }) => MapOutcome>();

/** Loads and compiles a mapping once per process (mapping paths are relative to the package root). */
export function loadCompiledMapping(mappingPath: string) {
  const file = resolve(packageRoot(), mappingPath);
  let fn = compiled.get(file);
  if (!fn) {
    const mapping = compileMapping(loadMappingFile(file));
    fn = (record, ctx) => mapping(record, ctx) as MapOutcome;
    compiled.set(file, fn);
  }
  return fn;
}
