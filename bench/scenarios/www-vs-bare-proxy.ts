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
    const proxy = await startService(proxySpec(ctx.cores.server, backend.url));
    try {
      const www = await startService(wwwSpec(ctx.cores.server, backend.url, { WWW_CAPACITY_RPS: '0', WWW_MAX_CONCURRENCY: '0' }));
      try {
        const idle = { proxy: readRssMiB(proxy.pid), www: readRssMiB(www.pid) };
        const result = await compareThroughput(ctx, {
          scenario: id,
          baseline: { label: 'bare undici proxy', url: `${proxy.url}/`, path: [proxy, backend] },
          castle: { label: 'castle www (limit off)', url: `${www.url}/`, path: [www, backend] },
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
        const fastify = await startService(fastifyProxySpec(ctx.cores.server, backend.url));
        try {
          const floor = await frameworkFloor(ctx, {
            scenario: id,
            baseline: { label: 'bare undici proxy', url: `${proxy.url}/`, path: [proxy, backend] },
            framework: { label: 'fastify-proxy', url: `${fastify.url}/`, path: [fastify, backend] },
            minRatio: 0.8,
          });
          return { id, title, checks: [...result.checks, floor.check], raw: { idleRssMiB: idle, ...result, framework: floor.rounds } };
        } finally {
          await fastify.stop();
        }
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
