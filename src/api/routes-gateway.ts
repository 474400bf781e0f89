import type { Route, RouteDeps } from './routes';

/** The gateway: checkout sessions, payments (capture, cancel, refunds), provider webhooks. */
export function gatewayRoutes(_deps: RouteDeps): Route[] {
  return [];
}
