import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { sql } from 'kysely';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Store } from '../store/db';
import { requireApiKey } from './api-keys';
import { type Logger, requestLogger, routeOf } from './logger';
import { buildOpenApi } from './openapi';
import { payPageRouter } from './pages/pay';
import { problems, toProblem } from './problems';
import { buildRoutes, type Reply, type Route } from './routes';
import type { ApiServices } from './services';
import { webhookIntake } from './webhook-intake';

export interface AppDeps {
  store: Store;
  services: ApiServices;
  logger: Logger;
  /** Where the metrics go. @defaultValue a new registry per app, with the default process metrics */
  metricsRegistry?: Registry;
  /** Extra readiness checks (queue, connectors); `GET /readyz` also runs `SELECT 1` on the store. */
  readiness?: () => Promise<{ ok: boolean; checks: Record<string, string> }>;
}

type Handle = (req: IncomingMessage, res: ServerResponse, next?: NextFunction) => void;

const STORE_CHECK_TIMEOUT_MS = 2000;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The HTTP API: `/healthz`, `/readyz`, `/metrics`, `/openapi.json` and the tenant-scoped `/v1/*` routes. Thin by
 * design: each route validates with its zod schema, calls a service or reads the store, and formats the answer;
 * every error is an RFC 9457 problem.
 */
export function createApp(deps: AppDeps): express.Application {
  const { store, logger } = deps;
  const registry = deps.metricsRegistry ?? new Registry();
  const { requests, duration } = httpMetrics(registry);

  const readiness = async (): Promise<{ ok: boolean; checks: Record<string, string> }> => {
    const checks: Record<string, string> = {};
    let ok = true;
    try {
      await withTimeout(sql`SELECT 1`.execute(store.db), STORE_CHECK_TIMEOUT_MS);
      checks.store = 'ok';
    } catch (err) {
      ok = false;
      checks.store = 'failed';
      logger.warn('readiness: store check failed', { err });
    }
    if (deps.readiness) {
      try {
        const r = await deps.readiness();
        Object.assign(checks, r.checks);
        ok &&= r.ok;
      } catch (err) {
        ok = false;
        checks.readiness = 'failed';
        logger.warn('readiness: check failed', { err });
      }
    }
    return { ok, checks };
  };

  let openapi: Record<string, unknown> | undefined;
  const routes: Route[] = buildRoutes({
    store,
    services: deps.services,
    metricsRegistry: registry,
    readiness,
    openapi: () => openapi,
  });
  openapi = buildOpenApi(routes);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Provider webhooks take a lean path ahead of the generic chain (webhook-intake.ts); what it leaves goes on below.
  if (deps.services.gateway) {
    const intake = webhookIntake({
      gateway: deps.services.gateway,
      logger,
      requestId: (incoming) => (incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID()),
      observe: (route, status, seconds) => {
        const labels = { method: 'POST', route, status: String(status) };
        requests.inc(labels);
        duration.observe(labels, seconds);
      },
    });
    // Ahead of express itself: its request set-up (prototype swaps, final handler) costs more than the intake.
    const viaExpress = (app as unknown as { handle: Handle }).handle.bind(app);
    (app as unknown as { handle: Handle }).handle = (req, res, next) => {
      if (!intake(req, res)) viaExpress(req, res, next);
    };
  }

  app.use((req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = performance.now();
    res.once('finish', () => {
      const labels = { method: req.method, route: routeOf(req), status: String(res.statusCode) };
      requests.inc(labels);
      duration.observe(labels, (performance.now() - started) / 1000);
    });
    next();
  });
  app.use(requestLogger(logger));

  const json = express.json({ limit: '256kb', type: ['application/json', 'application/*+json'] });
  const auth = requireApiKey(store);
  for (const route of routes) {
    const chain: RequestHandler[] = [];
    if (route.auth) chain.push(auth);
    if (route.raw) chain.push(express.raw({ type: () => true, limit: route.raw.limit }));
    else if (route.body) chain.push(json);
    chain.push(async (req: Request, res: Response) => {
      if (route.body && !route.raw && req.body === undefined) throw problems.unsupportedMediaType();
      const reply = await route.run({
        tenantId: req.tenantId ?? '',
        body: req.body,
        query: req.query,
        params: req.params,
        header: (name) => req.get(name),
        headers: lowerCaseHeaders(req),
      });
      send(res, reply);
    });
    app[route.method](route.path, ...chain);
  }

  if (deps.services.gateway) app.use(payPageRouter(deps.services.gateway.ctx));

  app.use((req: Request) => {
    throw problems.notFound(
      `no route ${req.method} ${req.path.length > 200 ? `${req.path.slice(0, 200)}…` : req.path}`,
    );
  });

  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const requestId = String(res.locals.requestId ?? randomUUID());
    const { problem, headers, internal } = toProblem(err, requestId);
    if (internal)
      logger.error('unhandled error', {
        requestId,
        method: req.method,
        route: routeOf(req),
        tenant: req.tenantId ?? null,
        err,
      });
    res.set(headers);
    res.status(problem.status).type('application/problem+json').json(problem);
  });

  return app;
}

function lowerCaseHeaders(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function send(res: Response, reply: Reply): void {
  if (reply.headers) res.set(reply.headers);
  res.status(reply.status);
  if (reply.text !== undefined) {
    res.type(reply.contentType ?? 'text/plain').send(reply.text);
  } else if (reply.json !== undefined) {
    res.json(reply.json);
  } else {
    res.end();
  }
}

/** The request counter and duration histogram, registered once per registry (several apps may share one). */
function httpMetrics(registry: Registry): {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route' | 'status'>;
} {
  if (!registry.getSingleMetric('process_cpu_seconds_total')) collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests =
    (registry.getSingleMetric('clearhub_http_requests_total') as Counter<'method' | 'route' | 'status'> | undefined) ??
    new Counter({
      name: 'clearhub_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames,
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric('clearhub_http_request_duration_seconds') as
      | Histogram<'method' | 'route' | 'status'>
      | undefined) ??
    new Histogram({
      name: 'clearhub_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
  return { requests, duration };
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
