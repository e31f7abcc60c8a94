import { createService, FastCounter, type ServiceDeps, type ServiceParts } from '@castle/runtime';
import type { BackendConfig } from './config.js';
import { cachedRfc850Clock } from './rfc850.js';

/** What the backend takes from outside, so tests can fix time, chance, identity and output. */
export interface BackendDeps extends ServiceDeps {
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * Builds the backend: `GET /` answers the current UTC time in RFC 850 layout, and fails a
 * configured share of requests with `500 ERROR` (or, in legacy mode, `200 ERROR`).
 */
export function buildBackend(config: BackendConfig, deps: BackendDeps = {}): ServiceParts {
  const packageJson = new URL('../package.json', import.meta.url);
  const { app, management, info, logger, metrics, lifecycle } = createService('backend', packageJson, config, deps);

  const clock = cachedRfc850Clock(deps.now);
  const random = deps.random ?? Math.random;
  const injected = new FastCounter(metrics.registry, {
    name: 'backend_injected_errors_total',
    help: 'Requests failed on purpose (BACKEND_ERROR_RATE).',
    labelNames: [],
  }).series();
  const errorStatus = config.legacyErrors ? 200 : 500;

  app.get('/', (_request, reply) => {
    let status = 200;
    let body: string;
    if (config.errorRate > 0 && random() < config.errorRate) {
      injected.inc();
      status = errorStatus;
      body = 'ERROR';
    } else {
      body = clock();
    }
    reply.logFields = { response: body };
    return reply
      .code(status)
      .header('x-castle-instance', info.instance)
      .header('cache-control', 'no-store')
      .type('text/plain; charset=utf-8')
      .send(body);
  });

  return { app, management, lifecycle, logger, config };
}
