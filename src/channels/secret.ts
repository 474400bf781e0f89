import { Secret } from '../domain/secret';

export { Secret };

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
