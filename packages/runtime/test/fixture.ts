import { LogCapture } from '../../../test/support/log-capture.js';
import { Lifecycle } from '../src/lifecycle.js';
import { createManagementApp } from '../src/management-app.js';
import { createLogger } from '../src/logger.js';
import { createHttpMetrics } from '../src/metrics.js';
import { createServiceApp } from '../src/service-app.js';
import type { BuildInfo } from '../src/version.js';

export const info: BuildInfo = { service: 'demo', version: '1.2.3', gitSha: 'abc1234', buildTime: '2026-01-01T00:00:00Z', instance: 'demo-0' };

export const edge = { requestTimeoutMs: 2000, headersTimeoutMs: 1000, keepAliveTimeoutMs: 5000, maxConnectionAgeMs: 0, maxHeaderBytes: 2048 };

/** A service app with a few routes of its own and its management app, its log captured in memory. */
export function demoApp(config: Partial<typeof edge> = {}) {
  const logs = new LogCapture();
  const logger = createLogger(info, 'info', logs);
  const metrics = createHttpMetrics(info, { runtimeMetrics: false });
  const lifecycle = new Lifecycle();
  const app = createServiceApp({ info, config: { ...edge, ...config }, logger, metrics, lifecycle });
  const management = createManagementApp({ metrics, lifecycle });
  app.get('/hello', (_req, reply) => reply.type('text/plain').send('hi'));
  app.get('/boom', () => {
    throw new Error('secret database password in /srv/app.js');
  });
  return { app, management, logs, lifecycle, logger, metrics };
}
