/**
 * The lean HTTP path of provider webhooks (`POST /v1/webhooks/{provider}[/{tenant}]`): the one route a provider may
 * call thousands of times a second, served straight from node:http ahead of express. It does what the generic
 * route chain does for it (request id, raw body up to the limit, the request metrics, problem+json errors) and no
 * more: no generic middleware, no response helpers, no request log line per accepted delivery (every delivery is in
 * `webhook_deliveries` with its headers and time; rejected and failed ones are still logged, each). The route in
 * routes-gateway.ts stays the documented one, and serves every request this path leaves to it: other spellings of
 * the path, unknown providers, compressed bodies, a declared length over the limit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { receiveWebhook } from '../gateway/webhooks';
import type { Logger } from './logger';
import { problems, toProblem } from './problems';
import type { ApiServices } from './services';

/** The body limit of the webhook route (as its `raw.limit`). */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;
/** The route pattern the metrics and logs name. */
const ROUTE_TENANT = '/v1/webhooks/:provider/:tenant';
const ROUTE_SINGLE = '/v1/webhooks/:provider';
const PROVIDERS = new Set(['stripe', 'adyen', 'paypal']);
/** A tenant segment as the route's schema allows it (2–40 characters), without anything that needs decoding. */
const TENANT = /^[A-Za-z0-9._~-]{2,40}$/;

export interface WebhookIntakeDeps {
  gateway: NonNullable<ApiServices['gateway']>;
  logger: Logger;
  /** The request id to answer with (the caller's `X-Request-Id` when acceptable, else a new one). */
  requestId(incoming: string | undefined): string;
  /** Counts one answered request in the API's request metrics. */
  observe(route: string, status: number, seconds: number): void;
}

/**
 * Returns a node:http handler that serves the webhook route and returns `true`, or returns `false` (having touched
 * nothing) for any request it leaves to express.
 */
export function webhookIntake(deps: WebhookIntakeDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url;
    if (url === undefined || !url.startsWith('/v1/webhooks/')) return false;
    const q = url.indexOf('?');
    const parts = (q < 0 ? url : url.slice(0, q)).slice('/v1/webhooks/'.length).split('/');
    if (parts.length > 2 || !PROVIDERS.has(parts[0]!)) return false;
    const tenant = parts[1];
    if (tenant !== undefined && !TENANT.test(tenant)) return false;
    const declared = req.headers['content-length'];
    if (declared !== undefined && !(Number(declared) <= WEBHOOK_BODY_LIMIT)) return false;
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    serve(deps, req, res, parts[0]!, tenant);
    return true;
  };
}

function serve(
  deps: WebhookIntakeDeps,
  req: IncomingMessage,
  res: ServerResponse,
  provider: string,
  tenant: string | undefined,
): void {
  const started = performance.now();
  const route = tenant === undefined ? ROUTE_SINGLE : ROUTE_TENANT;
  const incoming = req.headers['x-request-id'];
  const requestId = deps.requestId(typeof incoming === 'string' ? incoming : undefined);
  let tenantId: string | null = tenant ?? null;
  const answer = (status: number, contentType: string, body: string) => {
    res.writeHead(status, {
      'X-Request-Id': requestId,
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
    deps.observe(route, status, (performance.now() - started) / 1000);
  };
  const fail = (err: unknown) => {
    if (res.headersSent) {
      deps.logger.error('unhandled error', { requestId, method: 'POST', route, tenant: tenantId, err });
      return;
    }
    const { problem, headers, internal } = toProblem(err, requestId);
    if (internal) deps.logger.error('unhandled error', { requestId, method: 'POST', route, tenant: tenantId, err });
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    answer(problem.status, 'application/problem+json; charset=utf-8', JSON.stringify(problem));
    deps.logger.log(problem.status >= 500 ? 'warn' : 'info', 'request', {
      method: 'POST',
      route,
      status: problem.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      tenant: tenantId,
      requestId,
    });
  };

  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    if (tooLarge) return;
    size += chunk.length;
    if (size > WEBHOOK_BODY_LIMIT) {
      tooLarge = true;
      chunks.length = 0;
      fail(problems.payloadTooLarge());
      return;
    }
    chunks.push(chunk);
  });
  req.on('error', () => undefined);
  req.on('end', () => {
    if (tooLarge) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    const headers: Record<string, string> = {};
    for (const k in req.headers) {
      const v = req.headers[k];
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    }
    let pending: Promise<Awaited<ReturnType<typeof receiveWebhook>>>;
    try {
      const g = deps.gateway;
      tenantId ??= g.webhookTenant(provider);
      pending = receiveWebhook(g.ctx, g.queue, { tenantId, provider, raw: { headers, body } });
    } catch (err) {
      fail(err);
      return;
    }
    pending
      .then((r) => {
        if (r.ack.contentType === 'application/json' && r.ack.body.startsWith('{')) {
          answer(
            r.ack.status,
            'application/json; charset=utf-8',
            `{"received":true,"events":${r.events},"fresh":${r.fresh}}`,
          );
        } else {
          answer(r.ack.status, `${r.ack.contentType}; charset=utf-8`, r.ack.body);
        }
      })
      .catch(fail);
  });
}
