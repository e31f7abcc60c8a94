import type { ScenarioResult } from '../lib/checks.js';
import { compareThroughput, frameworkFloor } from '../lib/compare.js';
import { backendSpec, fastifyHelloSpec, helloSpec, type ScenarioContext } from '../lib/context.js';
import { recordMemory } from '../lib/memory.js';
import { idleRss } from '../lib/service.js';
import { round } from '../lib/stats.js';

const id = '1 backend';
const title = 'backend (Fastify, per-response log on) vs a bare node:http hello world';

/**
 * Scenario 1: how much of bare Node's HTTP throughput the backend keeps once Fastify, the
 * request id, trace context, metrics and one JSON log line per response are paid for.
 * Both servers run on the same core; target: >= 0.6x.
 */
export async function backendVsNodeHttp(ctx: ScenarioContext): Promise<ScenarioResult> {
  ctx.progress(`scenario ${id}: ${title}`);
  const specs = { hello: helloSpec(ctx.cores.server), backend: backendSpec(ctx.cores.server) };
  const idle = await idleRss(specs.hello, specs.backend);
  // Every measured round starts its own processes (compareThroughput, frameworkFloor).
  const result = await compareThroughput(ctx, {
    scenario: id,
    baseline: { label: 'node:http hello world', spec: specs.hello },
    castle: { label: 'castle backend', spec: specs.backend },
    minRatio: 0.6,
  });
  const { baseline, castle } = result.summary;
  recordMemory({ what: 'backend idle', baselineLabel: 'node:http hello', baselineMiB: round(idle.baseline, 1), castleMiB: round(idle.castle, 1), during: 'after ready, before load' });
  recordMemory({
    what: 'backend under load',
    baselineLabel: 'node:http hello',
    baselineMiB: baseline.rssMaxMiB[specs.hello.name] ?? null,
    castleMiB: castle.rssMaxMiB[specs.backend.name] ?? Number.NaN,
    during: `scenario 1, max over ${ctx.settings.rounds} rounds`,
  });
  const floor = await frameworkFloor(ctx, {
    scenario: id,
    baseline: { label: 'node:http hello world', spec: specs.hello },
    framework: { label: 'fastify-hello', spec: fastifyHelloSpec(ctx.cores.server) },
    minRatio: 0.6,
  });
  return { id, title, checks: [...result.checks, floor.check], raw: { idleRssMiB: { hello: idle.baseline, backend: idle.castle }, ...result, framework: floor.rounds } };
}
