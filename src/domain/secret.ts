import { inspect } from 'node:util';

/**
 * A secret (API key, HMAC key, client secret, SMS token, webhook signing secret) that cannot end up in a log or an
 * error by accident: `String()`, template literals, JSON and `util.inspect` all give `[REDACTED]`. `reveal()` is the
 * one door, used only where the value goes on the wire or into a signature.
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
