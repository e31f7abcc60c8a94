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

/** The Castle backend as built by `npm run build`: logging on (info), no injected errors. */
export function backendSpec(core: number | undefined, env: Readonly<Record<string, string>> = {}): ServiceSpec {
  return {
    name: 'backend',
    script: repoPath('apps/backend/dist/server.js'),
    core,
    env: { BACKEND_PORT: '0', BACKEND_METRICS_PORT: '0', BACKEND_HOST: '127.0.0.1', BACKEND_ERROR_RATE: '0', BACKEND_LOG_LEVEL: 'info', ...env },
  };
}

/** Castle www in front of `backendUrl`, logging on; `env` sets the limiter. */
export function wwwSpec(core: number | undefined, backendUrl: string, env: Readonly<Record<string, string>> = {}): ServiceSpec {
  return {
    name: 'www',
    script: repoPath('apps/www/dist/server.js'),
    core,
    env: { WWW_PORT: '0', WWW_METRICS_PORT: '0', WWW_HOST: '127.0.0.1', WWW_BACKEND_URL: backendUrl, WWW_LOG_LEVEL: 'info', ...env },
  };
}

/** The bare node:http hello-world server (baseline of scenario 1). */
export function helloSpec(core: number | undefined): ServiceSpec {
  return { name: 'node-http-hello', script: repoPath('bench/baselines/hello.mjs'), core, env: { PORT: '0' } };
}

/** Fastify alone, serving the same hello world (the framework's share of scenario 1). */
export function fastifyHelloSpec(core: number | undefined): ServiceSpec {
  return { name: 'fastify-hello', script: repoPath('bench/baselines/fastify-hello.mjs'), core, env: { PORT: '0' } };
}

/** Fastify alone in front of an undici Pool (the framework's share of scenario 2). */
export function fastifyProxySpec(core: number | undefined, backendUrl: string): ServiceSpec {
  return { ...proxySpec(core, backendUrl), name: 'fastify-proxy', script: repoPath('bench/baselines/fastify-proxy.mjs') };
}

/** The bare node:http + undici Pool proxy (baseline of scenario 2). */
export function proxySpec(core: number | undefined, backendUrl: string): ServiceSpec {
  return {
    name: 'bare-undici-proxy',
    script: repoPath('bench/baselines/proxy.mjs'),
    core,
    env: { PORT: '0', PROXY_BACKEND_URL: backendUrl, PROXY_CONNECTIONS: '64' },
  };
}
