import type { z } from 'zod';
import { classifyError, type IntegrationError } from '../domain/errors';
import { scrubText } from './logger';

/**
 * Problem types of the API. `type` is a URI that names the kind of problem (RFC 9457 §3.1.1); clients switch on it,
 * never on `title` or `detail`.
 */
export const PROBLEM_TYPE_BASE = 'urn:clearhub:problem:';

export interface FieldProblem {
  /** Dotted path of the offending field, e.g. `amount.value` or `items.0.amount`; a header by its name. */
  path: string;
  message: string;
}

/** An RFC 9457 problem details object, served as `application/problem+json`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldProblem[];
  /** Readiness checks (only on `GET /readyz`). */
  checks?: Record<string, string>;
}

/** An error that carries the problem to answer with. Thrown by handlers and middleware; rendered by the app. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail);
  }
}

function problem(slug: string, title: string, status: number, detail: string, extra: Partial<Problem> = {}): Problem {
  return { type: `${PROBLEM_TYPE_BASE}${slug}`, title, status, detail, ...extra };
}

export const problems = {
  validation: (errors: FieldProblem[], detail = 'the request does not match the schema; see errors') =>
    new ProblemError(problem('validation', 'Invalid request', 400, detail, { errors })),
  malformedJson: (reason: string) =>
    new ProblemError(
      problem('malformed-json', 'Malformed JSON body', 400, `the request body is not valid JSON: ${reason}`),
    ),
  missingHeader: (name: string) =>
    new ProblemError(
      problem('missing-header', 'Missing required header', 400, `send the ${name} header`, {
        errors: [{ path: name, message: 'required' }],
      }),
    ),
  unsupportedMediaType: () =>
    new ProblemError(
      problem(
        'unsupported-media-type',
        'Unsupported media type',
        415,
        'send the body as Content-Type: application/json',
      ),
    ),
  payloadTooLarge: () =>
    new ProblemError(problem('payload-too-large', 'Payload too large', 413, 'the request body is too large')),
  unauthorized: (detail: string, error?: 'invalid_token') =>
    new ProblemError(problem('unauthorized', 'Unauthorized', 401, detail), {
      'WWW-Authenticate': error ? `Bearer realm="clearhub", error="${error}"` : 'Bearer realm="clearhub"',
    }),
  notFound: (detail: string) => new ProblemError(problem('not-found', 'Not found', 404, detail)),
  badRequest: (detail: string) => new ProblemError(problem('bad-request', 'Bad request', 400, detail)),
  /** The provider did not answer clearly; the payment is pending and a status sync or the webhook will settle it. */
  upstream: (detail: string, indeterminate: boolean) =>
    new ProblemError(
      problem(
        indeterminate ? 'outcome-unknown' : 'provider-unavailable',
        indeterminate ? 'Outcome unknown' : 'Provider unavailable',
        indeterminate ? 504 : 502,
        indeterminate
          ? `${detail}; the payment may have been taken: it stays pending until the provider's status or webhook settles it — retry with the same Idempotency-Key, never with a new one`
          : detail,
      ),
    ),
  notImplemented: (detail: string) => new ProblemError(problem('not-implemented', 'Not implemented', 501, detail)),
  conflict: (detail: string, field?: string) =>
    new ProblemError(
      problem('conflict', 'Conflict', 409, detail, field ? { errors: [{ path: field, message: detail }] } : {}),
    ),
  unprocessable: (detail: string, field?: string) =>
    new ProblemError(
      problem(
        'unprocessable',
        'Unprocessable request',
        422,
        detail,
        field ? { errors: [{ path: field, message: detail }] } : {},
      ),
    ),
  unavailable: (detail: string, checks: Record<string, string>) =>
    new ProblemError(problem('unavailable', 'Service unavailable', 503, detail, { checks })),
  internal: (requestId: string) =>
    new ProblemError(
      problem(
        'internal',
        'Internal server error',
        500,
        `an unexpected error occurred; quote request id ${requestId} when reporting it`,
        {
          instance: `urn:uuid:${requestId}`,
        },
      ),
    ),
};

/** Turns zod issues into field problems; an unknown key is reported at its own path. */
export function fieldProblems(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of issues) {
    const base = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...base, key].map(String).join('.'), message: 'unknown field' });
    } else {
      out.push({ path: base.map(String).join('.'), message: issue.message });
    }
  }
  return out;
}

interface BodyParserError {
  type: string;
  status?: number;
  statusCode?: number;
  expose?: boolean;
  message: string;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return (
    typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string' && 'expose' in err
  );
}

/**
 * Maps anything thrown while serving a request to the problem to answer with. `internal` says the error is ours (a
 * bug or an outage): the caller logs it, and the client only sees a generic detail and the request id.
 */
export function toProblem(
  err: unknown,
  requestId: string,
): { problem: Problem; headers: Record<string, string>; internal: boolean } {
  if (err instanceof ProblemError) return { problem: scrubbed(err.problem), headers: err.headers, internal: false };
  if (classifyError(err) === 'integration') {
    const e = err as IntegrationError;
    const field = e.field;
    const message = field && e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message;
    const p =
      e.details?.conflict === true
        ? problems.conflict(message, field)
        : e.details?.notFound === true
          ? problems.notFound(message)
          : problems.unprocessable(message, field);
    return { problem: scrubbed(p.problem), headers: {}, internal: false };
  }
  if (classifyError(err) === 'connector') {
    const e = err as Error & { indeterminate?: boolean };
    return {
      problem: scrubbed(problems.upstream(e.message, e.indeterminate === true).problem),
      headers: {},
      internal: false,
    };
  }
  if (err instanceof Error && err.name === 'WebhookRejected') {
    return {
      problem: scrubbed(problems.badRequest(`webhook rejected: ${err.message}`).problem),
      headers: {},
      internal: false,
    };
  }
  if (err instanceof URIError && (err as { status?: unknown }).status === 400) {
    // The router could not decode a path segment (a bare '%', as in /v1/debtors/50%off).
    return {
      problem: scrubbed(
        problems.badRequest(`the path is not percent-encoded (encode '%' as %25): ${err.message}`).problem,
      ),
      headers: {},
      internal: false,
    };
  }
  if (isBodyParserError(err)) {
    const status = err.status ?? err.statusCode ?? 500;
    if (err.type === 'entity.parse.failed')
      return { problem: scrubbed(problems.malformedJson(err.message).problem), headers: {}, internal: false };
    if (err.type === 'entity.too.large')
      return { problem: problems.payloadTooLarge().problem, headers: {}, internal: false };
    if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') {
      return { problem: problems.unsupportedMediaType().problem, headers: {}, internal: false };
    }
    if (err.expose && status >= 400 && status < 500) {
      return {
        problem: scrubbed({
          type: `${PROBLEM_TYPE_BASE}bad-request`,
          title: 'Bad request',
          status,
          detail: err.message,
        }),
        headers: {},
        internal: false,
      };
    }
  }
  return { problem: problems.internal(requestId).problem, headers: {}, internal: true };
}

function scrubbed(p: Problem): Problem {
  return {
    ...p,
    detail: scrubText(p.detail),
    ...(p.errors ? { errors: p.errors.map((e) => ({ path: e.path, message: scrubText(e.message) })) } : {}),
  };
}
