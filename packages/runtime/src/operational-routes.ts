import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Lifecycle } from './lifecycle.js';
import type { HttpMetrics } from './metrics.js';
import type { BuildInfo } from './version.js';

/** What the operational routes report on. */
export interface OperationalSources {
  readonly info: BuildInfo;
  readonly metrics: HttpMetrics;
  readonly lifecycle: Lifecycle;
}

function text(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(body);
}

/** /healthz (the process is alive) and /readyz (it wants traffic: 503 while starting or draining). */
export function registerHealthRoutes(app: FastifyInstance, { lifecycle }: Pick<OperationalSources, 'lifecycle'>): void {
  app.get('/healthz', (_request, reply) => text(reply, 200, 'ok\n'));
  app.get('/readyz', (_request, reply) =>
    lifecycle.ready ? text(reply, 200, 'ready\n') : text(reply, 503, `${lifecycle.phase}\n`),
  );
}

/** /version: the build metadata as JSON, serialised once. */
export function registerVersionRoute(app: FastifyInstance, { info }: Pick<OperationalSources, 'info'>): void {
  const version = JSON.stringify({
    service: info.service,
    version: info.version,
    gitSha: info.gitSha,
    buildTime: info.buildTime,
    instance: info.instance,
    node: process.version,
  });
  app.get('/version', (_request, reply) => reply.type('application/json; charset=utf-8').send(version));
}

/** /metrics: the registry in Prometheus text format. */
export function registerMetricsRoute(app: FastifyInstance, { metrics }: Pick<OperationalSources, 'metrics'>): void {
  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('cache-control', 'no-store').type(metrics.registry.contentType).send(body);
  });
}
