import { IntegrationError } from '../domain/errors';

/**
 * A condition that cannot be compiled: a syntax error, an unknown fact or a type error. `offset` and `length` say
 * where in the condition's text (0-based, in UTF-16 code units); the strategy loader turns them into file:line:column.
 */
export class RuleError extends IntegrationError {
  constructor(
    /** What is wrong, without the position. */
    readonly reason: string,
    readonly offset: number,
    readonly length = 1,
  ) {
    super(`${reason} (at character ${offset + 1})`);
  }
}
