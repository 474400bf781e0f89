import { z } from 'zod';
import { IntegrationError } from '../../domain/errors';

/**
 * A zod string checked (and normalised) by one of our validators, which throw IntegrationError: the issue carries the
 * validator's message without its field prefix (zod adds the path), and the output is the normalised value.
 * @example `iban: via((s) => sepaIban(s, 'iban'))`
 */
export const via = (check: (s: string) => string) =>
  z.string().transform((s, ctx) => {
    try {
      return check(s);
    } catch (err) {
      const message =
        err instanceof IntegrationError && err.field ? err.message.slice(err.field.length + 2) : String(err);
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
  });

/**
 * Validates a provider's options with its zod schema, naming every problem with its path.
 * @throws IntegrationError `invalid <provider> provider options: path: message; …`, its field the first bad option
 */
export function parseProviderOptions<S extends z.ZodType>(provider: string, schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new IntegrationError(
      `invalid ${provider} provider options: ${problems.join('; ')}`,
      r.error.issues[0]?.path.map(String).join('.') || 'options',
    );
  }
  return r.data;
}
