import { fileURLToPath } from 'node:url';
import type { CorePlan } from './machine.js';
import type { ServiceSpec } from './service.js';
import type { BenchSettings } from './settings.js';

/** What every scenario gets from the runner. */
export interface ScenarioContext {
  readonly settings: BenchSettings;
  readonly cores: CorePlan;
  /** Progress for humans, on stderr. */
  progress(message: string): void;
}

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Where a repository file is, from the repository root. */
export function repoPath(relative: string): string {
  return `${root}${relative}`;
}

/**
 * Every variable the bench sets on Castle's services about /metrics, in one place. The bench
 * never reads /metrics; it only moves each service's management listener off its fixed
 * default port (9080, 9081), which other work on the machine may hold, to a free one.
 */
const metricsEnv = { backend: { BACKEND_METRICS_PORT: '0' }, www: { WWW_METRICS_PORT: '0' } } as const;

/** The Castle backend as built by `npm run build`: logging on (info), no injected errors. */
export function backendSpec(core: number | undefined, env: Readonly<Record<string, string>> = {}): ServiceSpec {
  return {
    name: 'backend',
    script: repoPath('apps/backend/dist/server.js'),
    core,
    env: { BACKEND_PORT: '0', BACKEND_HOST: '127.0.0.1', BACKEND_ERROR_RATE: '0', BACKEND_LOG_LEVEL: 'info', ...metricsEnv.backend, ...env },
  };
}

/** Castle www in front of `backendUrl`, logging on; `env` sets the limiter. */
export function wwwSpec(core: number | undefined, backendUrl: string, env: Readonly<Record<string, string>> = {}): ServiceSpec {
  return {
    name: 'www',
    script: repoPath('apps/www/dist/server.js'),
    core,
    env: { WWW_PORT: '0', WWW_HOST: '127.0.0.1', WWW_BACKEND_URL: backendUrl, WWW_LOG_LEVEL: 'info', ...metricsEnv.www, ...env },
  };
}

/** The bare node:http hello-world server. */
export function helloSpec(core: number | undefined): ServiceSpec {
  return { name: 'node-http-hello', script: repoPath('bench/baselines/hello.mjs'), core, env: { PORT: '0' } };
}

/** The backend's contract as a Node developer would write it: Fastify, its request logging, fastify-metrics. */
export function fastifyPeerSpec(core: number | undefined): ServiceSpec {
  return { name: 'fastify-peer', script: repoPath('bench/baselines/fastify-peer.mjs'), core, env: { PORT: '0' } };
}

/** The bare node:http + undici Pool proxy. */
export function proxySpec(core: number | undefined, backendUrl: string): ServiceSpec {
  return {
    name: 'bare-undici-proxy',
    script: repoPath('bench/baselines/proxy.mjs'),
    core,
    env: { PORT: '0', PROXY_BACKEND_URL: backendUrl, PROXY_CONNECTIONS: '64' },
  };
}
