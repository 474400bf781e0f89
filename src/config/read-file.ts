import { readFileSync } from 'node:fs';
import { IntegrationError } from '../domain/errors';

/**
 * Reads a file a person named (an argument, a flag, a config entry) as UTF-8. A file that is missing, a directory or
 * unreadable is an {@link IntegrationError} naming it and `field`, not a stack trace.
 */
export function readTextFile(file: string, field = 'file'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new IntegrationError(`cannot read ${file}: ${(err as Error).message}`, field);
  }
}
