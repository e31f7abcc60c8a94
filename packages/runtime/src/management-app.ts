import Fastify, { type FastifyInstance } from 'fastify';
import type { Lifecycle } from './lifecycle.js';
import type { HttpMetrics } from './metrics.js';
import { registerHealthRoutes, registerMetricsRoute } from './operational-routes.js';
import { clientErrorHandler, setCommonHeaders } from './response-headers.js';

/**
 * Builds the management app: /metrics for Prometheus, and /healthz and /readyz beside it,
 * on a port of its own that the public Service does not expose. Nothing else is served
 * here, and its requests are neither logged nor counted: scrapes are not traffic.
 */
export function createManagementApp({ metrics, lifecycle }: { readonly metrics: HttpMetrics; readonly lifecycle: Lifecycle }): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: true, bodyLimit: 1024, clientErrorHandler });
  setCommonHeaders(app);
  registerMetricsRoute(app, { metrics });
  registerHealthRoutes(app, { lifecycle });
  return app;
}
