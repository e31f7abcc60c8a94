import type { ScenarioResult } from '../lib/checks.js';
import { runThroughputScenario } from '../lib/compare.js';
import { backendSpec, fastifyProxySpec, proxySpec, wwwSpec, type ScenarioContext } from '../lib/context.js';
import { startService } from '../lib/service.js';

/**
 * Scenario 2: what www's own work (limiter bookkeeping, retries and breaker, trace headers,
 * metrics, its log line) costs on top of forwarding a request. www and the bare proxy share
 * one backend process and one core; target: >= 0.8x.
 */
export async function wwwVsBareProxy(ctx: ScenarioContext): Promise<ScenarioResult> {
  const backend = await startService(backendSpec(ctx.cores.upstream));
  try {
    const core = ctx.cores.server;
    const behind = [backend];
    return await runThroughputScenario(ctx, {
      id: '2 www',
      title: 'www (limit off) vs a bare node:http + undici Pool proxy, both in front of the same backend',
      baseline: { label: 'bare undici proxy', spec: proxySpec(core, backend.url), behind },
      castle: { label: 'castle www (limit off)', spec: wwwSpec(core, backend.url, { WWW_CAPACITY_RPS: '0', WWW_MAX_CONCURRENCY: '0' }), behind },
      framework: { label: 'fastify-proxy', spec: fastifyProxySpec(core, backend.url), behind },
      minRatio: 0.8,
      memory: { idle: 'www idle', load: 'www under load (limit off)', baselineLabel: 'bare undici proxy' },
    });
  } finally {
    await backend.stop();
  }
}
