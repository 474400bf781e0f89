import { inspect } from 'node:util';

/**
 * A secret of a channel (SMS token, webhook signing secret) that cannot end up in a log by accident: `String()`,
 * JSON and `util.inspect` all print `[REDACTED]`. Only {@link Secret.reveal} hands out the value, and only the code
 * that authenticates or signs calls it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[REDACTED]';
  }
  toJSON(): string {
    return '[REDACTED]';
  }
  [inspect.custom](): string {
    return '[REDACTED]';
  }
}

/** Removes every given secret (and its base64 form, as in Basic auth) from text bound for a log, an error or a result. */
export function scrubSecrets(text: string, secrets: readonly (Secret | string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    const value = s instanceof Secret ? s.reveal() : s;
    if (!value || value.length < 4) continue;
    for (const form of [value, Buffer.from(value, 'utf8').toString('base64')]) out = out.split(form).join('[redacted]');
  }
  return out;
}
