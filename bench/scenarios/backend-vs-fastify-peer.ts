import type { ScenarioResult } from '../lib/checks.js';
import { compare } from '../lib/compare.js';
import { backendSpec, fastifyPeerSpec, type ScenarioContext } from '../lib/context.js';

/**
 * Claim 2: the backend does at least as much per CPU-second as the stack a Node developer
 * would write for the same contract instead (Fastify with `logger: true` and fastify-metrics;
 * baselines/fastify-peer.mjs): the peer users would pick, so Castle must stay ahead of it.
 */
export function backendVsFastifyPeer(ctx: ScenarioContext): Promise<ScenarioResult> {
  const core = ctx.cores.server;
  return compare(ctx, {
    id: '2 backend',
    title: 'backend vs Fastify with its request logging and fastify-metrics',
    baseline: { label: 'Fastify + logger + fastify-metrics', spec: fastifyPeerSpec(core) },
    castle: { label: 'castle backend', spec: backendSpec(core) },
    perCoreShared: 1.0,
  });
}
