import type { ScenarioResult } from '../lib/checks.js';
import { compareThroughput, frameworkFloor } from '../lib/compare.js';
import { backendSpec, fastifyProxySpec, proxySpec, wwwSpec, type ScenarioContext } from '../lib/context.js';
import { recordMemory } from '../lib/memory.js';
import { readRssMiB } from '../lib/procfs.js';
import { startService } from '../lib/service.js';
import { round } from '../lib/stats.js';

const id = '2 www';
const title = 'www (limit off) vs a bare node:http + undici Pool proxy, both in front of the same backend';

/**
 * Scenario 2: what www's own work (limiter bookkeeping, retries and breaker, trace headers,
 * metrics, its log line) costs on top of forwarding a request. www and the bare proxy share
 * one backend process and one core, and are loaded in turn; target: >= 0.8x.
 */
export async function wwwVsBareProxy(ctx: ScenarioContext): Promise<ScenarioResult> {
  ctx.progress(`scenario ${id}: ${title}`);
  const backend = await startService(backendSpec(ctx.cores.upstream));
  try {
    const specs = {
      proxy: proxySpec(ctx.cores.server, backend.url),
      www: wwwSpec(ctx.cores.server, backend.url, { WWW_CAPACITY_RPS: '0', WWW_MAX_CONCURRENCY: '0' }),
    };
    const proxy = await startService(specs.proxy);
    try {
      const www = await startService(specs.www);
      try {
        const idle = { proxy: readRssMiB(proxy.pid), www: readRssMiB(www.pid) };
        const result = await compareThroughput(ctx, {
          scenario: id,
          baseline: { label: 'bare undici proxy', url: `${proxy.url}/`, path: [proxy, backend], spec: specs.proxy },
          castle: { label: 'castle www (limit off)', url: `${www.url}/`, path: [www, backend], spec: specs.www },
          minRatio: 0.8,
        });
        const { baseline, castle } = result.summary;
        recordMemory({ what: 'www idle', baselineLabel: 'bare undici proxy', baselineMiB: round(idle.proxy, 1), castleMiB: round(idle.www, 1), during: 'after ready, before load' });
        recordMemory({
          what: 'www under load (limit off)',
          baselineLabel: 'bare undici proxy',
          baselineMiB: baseline.rssMaxMiB[proxy.name] ?? null,
          castleMiB: castle.rssMaxMiB[www.name] ?? Number.NaN,
          during: `scenario 2, max over ${ctx.settings.rounds} rounds`,
        });
        await www.stop();
        await proxy.stop();
        const floor = await frameworkFloor(ctx, {
          scenario: id,
          baseline: { label: 'bare undici proxy', spec: specs.proxy, behind: [backend] },
          framework: { label: 'fastify-proxy', spec: fastifyProxySpec(ctx.cores.server, backend.url), behind: [backend] },
          minRatio: 0.8,
        });
        return { id, title, checks: [...result.checks, floor.check], raw: { idleRssMiB: idle, ...result, framework: floor.rounds } };
      } finally {
        await www.stop();
      }
    } finally {
      await proxy.stop();
    }
  } finally {
    await backend.stop();
  }
}
