import type { ScenarioResult } from '../lib/checks.js';
import { compareThroughput, frameworkFloor } from '../lib/compare.js';
import { backendSpec, fastifyProxySpec, proxySpec, wwwSpec, type ScenarioContext } from '../lib/context.js';
import { recordMemory } from '../lib/memory.js';
import { idleRss, startService } from '../lib/service.js';
import { round } from '../lib/stats.js';

const id = '2 www';
const title = 'www (limit off) vs a bare node:http + undici Pool proxy, both in front of the same backend';

/**
 * Scenario 2: what www's own work (limiter bookkeeping, retries and breaker, trace headers,
 * metrics, its log line) costs on top of forwarding a request. www and the bare proxy share
 * one backend process and one core; target: >= 0.8x.
 */
export async function wwwVsBareProxy(ctx: ScenarioContext): Promise<ScenarioResult> {
  ctx.progress(`scenario ${id}: ${title}`);
  const backend = await startService(backendSpec(ctx.cores.upstream));
  try {
    const specs = {
      proxy: proxySpec(ctx.cores.server, backend.url),
      www: wwwSpec(ctx.cores.server, backend.url, { WWW_CAPACITY_RPS: '0', WWW_MAX_CONCURRENCY: '0' }),
    };
    const idle = await idleRss(specs.proxy, specs.www);
    // Every measured round starts its own front processes; the backend behind them is shared.
    const result = await compareThroughput(ctx, {
      scenario: id,
      baseline: { label: 'bare undici proxy', spec: specs.proxy, behind: [backend] },
      castle: { label: 'castle www (limit off)', spec: specs.www, behind: [backend] },
      minRatio: 0.8,
    });
    const { baseline, castle } = result.summary;
    recordMemory({ what: 'www idle', baselineLabel: 'bare undici proxy', baselineMiB: round(idle.baseline, 1), castleMiB: round(idle.castle, 1), during: 'after ready, before load' });
    recordMemory({
      what: 'www under load (limit off)',
      baselineLabel: 'bare undici proxy',
      baselineMiB: baseline.rssMaxMiB[specs.proxy.name] ?? null,
      castleMiB: castle.rssMaxMiB[specs.www.name] ?? Number.NaN,
      during: `scenario 2, max over ${ctx.settings.rounds} rounds`,
    });
    const floor = await frameworkFloor(ctx, {
      scenario: id,
      baseline: { label: 'bare undici proxy', spec: specs.proxy, behind: [backend] },
      framework: { label: 'fastify-proxy', spec: fastifyProxySpec(ctx.cores.server, backend.url), behind: [backend] },
      minRatio: 0.8,
    });
    return { id, title, checks: [...result.checks, floor.check], raw: { idleRssMiB: { proxy: idle.baseline, www: idle.castle }, ...result, framework: floor.rounds } };
  } finally {
    await backend.stop();
  }
}
