import type { ScenarioResult } from '../lib/checks.js';
import { compare } from '../lib/compare.js';
import { backendSpec, proxySpec, wwwSpec, type ScenarioContext } from '../lib/context.js';
import { startService } from '../lib/service.js';

/**
 * Claim 3: www with its limiter off keeps at least 0.8x of a bare `node:http` + undici Pool
 * proxy (baselines/proxy.mjs), both in front of the same backend process: what www's own
 * work (retry and breaker policy, trace headers, metrics, its log line) costs per forwarded
 * request. Capacity per CPU-second is gated with each server on its core alone: sharing a
 * core costs www more than the bare proxy, so that figure is recorded as information.
 */
export async function wwwVsBareProxy(ctx: ScenarioContext): Promise<ScenarioResult> {
  const backend = await startService(backendSpec(ctx.cores.upstream));
  try {
    const core = ctx.cores.server;
    const behind = [backend];
    return await compare(ctx, {
      id: '3 www',
      title: 'www (limit off) vs a bare node:http + undici Pool proxy, both in front of the same backend',
      baseline: { label: 'bare undici proxy', spec: proxySpec(core, backend.url), behind },
      castle: { label: 'castle www (limit off)', spec: wwwSpec(core, backend.url, { WWW_CAPACITY_RPS: '0', WWW_MAX_CONCURRENCY: '0' }), behind },
      rps: 0.8,
      perCoreAlone: 0.8,
      perCoreShared: 'info',
    });
  } finally {
    await backend.stop();
  }
}
