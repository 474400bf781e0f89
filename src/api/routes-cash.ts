import type { Route, RouteDeps } from './routes';

/** Cash application: statement upload and import, the matching worklist, manual allocation. */
export function cashRoutes(_deps: RouteDeps): Route[] {
  return [];
}
