import { IntegrationError } from '../domain/errors';

/**
 * What the tenant loader puts in place of an unset `${env:NAME}`: secrets are resolved when the part that needs them
 * starts (a sync needs no SMTP password), and {@link secret} turns the marker into a clear error naming the variable.
 */
export const UNSET_SECRET = '\u0000unset:';

/** An environment that answers an unset variable with the marker instead of failing the whole tenant file. */
export function lenientEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return new Proxy(env, { get: (t, k: string) => t[k] ?? `${UNSET_SECRET}${k}` });
}

/** A configured secret, or a clear error when its environment variable is not set. */
export function secret(value: string | undefined, field: string): string | undefined {
  if (value?.startsWith(UNSET_SECRET)) {
    throw new IntegrationError(
      `environment variable ${value.slice(UNSET_SECRET.length)} is not set (referenced by ${field})`,
      field,
    );
  }
  return value;
}
