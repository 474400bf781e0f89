import { z } from 'zod';
import type { Route } from './routes';
import { ProblemSchema, requestSchemas, responseSchemas } from './schemas';

type JsonSchema = Record<string, unknown>;

const COMPONENT = (id: string) => `#/components/schemas/${id}`;
const PROBLEM_REF = { $ref: COMPONENT('Problem') };
const SECURITY_SCHEME = 'apiKey';

/** Strips the document-level keywords zod adds to a standalone schema; OpenAPI embeds schemas without them. */
function embedded(schema: JsonSchema): JsonSchema {
  const { $schema: _s, $id: _i, ...rest } = schema;
  return rest;
}

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const registry = io === 'input' ? requestSchemas : responseSchemas;
  const id = registry.get(schema)?.id;
  if (id) return { $ref: COMPONENT(id) };
  return embedded(z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema);
}

function parametersOf(schema: z.ZodObject, where: 'query' | 'path'): JsonSchema[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === 'path' || (required.has(name) && !('default' in s)),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

const ERROR_RESPONSES = {
  400: 'The request does not match the schema, its JSON is malformed, or a required header is missing',
  401: 'No API key, or a wrong, malformed or revoked one',
  500: 'An unexpected error; the detail carries a request id and nothing else',
} as const;

/**
 * Builds the OpenAPI 3.1 document from the route table: the same zod schemas that validate requests become the
 * document's schemas (JSON Schema 2020-12, which OpenAPI 3.1 uses as is), every error is `application/problem+json`.
 */
export function buildOpenApi(
  routes: readonly Route[],
  info: { title?: string; version?: string } = {},
): Record<string, unknown> {
  const uri = COMPONENT;
  const requests = z.toJSONSchema(requestSchemas, { io: 'input', uri, unrepresentable: 'any' }).schemas;
  const responses = z.toJSONSchema(responseSchemas, { io: 'output', uri, unrepresentable: 'any' }).schemas;
  const schemas: Record<string, JsonSchema> = {};
  for (const [id, s] of Object.entries({ ...requests, ...responses })) schemas[id] = embedded(s as JsonSchema);

  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters = [
      ...(r.params ? parametersOf(r.params, 'path') : []),
      ...(r.query ? parametersOf(r.query, 'query') : []),
      ...r.headers.map((h) => ({
        name: h.name,
        in: 'header',
        required: h.required,
        schema: schemaOf(h.schema, 'input'),
      })),
    ];
    const res: Record<string, unknown> = {};
    const statuses = new Set(Object.keys(r.responses).map(Number));
    const validates = Boolean(r.body || r.query || r.params || r.headers.length);
    if (validates) statuses.add(400);
    if (r.auth) statuses.add(401);
    statuses.add(500);
    for (const status of [...statuses].sort((a, b) => a - b)) {
      const spec = r.responses[status];
      const isError = status >= 400;
      const description = spec?.description ?? ERROR_RESPONSES[status as keyof typeof ERROR_RESPONSES] ?? 'Error';
      const contentType = spec?.contentType ?? (isError ? 'application/problem+json' : 'application/json');
      const schema = isError
        ? PROBLEM_REF
        : spec?.schema
          ? schemaOf(spec.schema, 'output')
          : contentType === 'application/json'
            ? { type: 'object' }
            : { type: 'string' };
      res[String(status)] = { description, content: { [contentType]: { schema } } };
    }
    paths[path] ??= {};
    paths[path][r.method] = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      security: r.auth ? [{ [SECURITY_SCHEME]: [] }] : [],
      ...(parameters.length ? { parameters } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input') } } } }
        : {}),
      responses: res,
    };
  }
  // The problem schema is referenced by every error response whether or not a route names it.
  schemas.Problem ??= embedded(z.toJSONSchema(ProblemSchema, { io: 'output' }) as JsonSchema);

  return {
    openapi: '3.1.1',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: info.title ?? 'Clearhub API',
      version: info.version ?? '1',
      description:
        'Order-to-cash middleware. Every /v1 route needs a tenant API key (Authorization: Bearer chk_<keyId>_<secret>) and sees only that tenant. Errors are RFC 9457 problem details.',
    },
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'chk_<keyId>_<secret>',
          description: 'A tenant API key, created with `clearhub apikey create`; shown once, stored hashed.',
        },
      },
    },
  };
}
