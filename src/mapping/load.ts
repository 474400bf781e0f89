import { basename } from 'node:path';
import { readTextFile } from '../config/read-file';
import { loadYamlWithSchema } from '../config/yaml-errors';
import { type MappingDefinition, mappingSchema } from './schema';

const VERSIONED_FILE = /^(.+)\.v(\d+)\.ya?ml$/;

/**
 * Validates a mapping YAML. A file named `<name>.v<version>.yaml` must declare that name and version, so a pinned
 * file name always means the same mapping.
 *
 * @param file - shown in errors as given, e.g. `mappings/csv-generic.v1.yaml`.
 * @throws ConfigError with `file:line:col: path: message` per problem.
 */
export function loadMapping(file: string, text: string): MappingDefinition {
  const m = VERSIONED_FILE.exec(basename(file));
  const schema = m
    ? mappingSchema.superRefine((def, ctx) => {
        if (def.name !== m[1]) {
          ctx.addIssue({ code: 'custom', path: ['name'], message: `the file name says "${m[1]}"` });
        }
        if (def.version !== Number(m[2])) {
          ctx.addIssue({ code: 'custom', path: ['version'], message: `the file name says ${m[2]}` });
        }
      })
    : mappingSchema;
  return loadYamlWithSchema(file, text, schema);
}

/** Reads and validates a mapping file (UTF-8). */
export function loadMappingFile(file: string): MappingDefinition {
  return loadMapping(file, readTextFile(file, 'mapping'));
}
