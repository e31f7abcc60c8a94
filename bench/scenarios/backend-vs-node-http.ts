import type { ScenarioResult } from '../lib/checks.js';
import { compareThroughput, frameworkFloor } from '../lib/compare.js';
import { backendSpec, fastifyHelloSpec, helloSpec, type ScenarioContext } from '../lib/context.js';
import { recordMemory } from '../lib/memory.js';
import { readRssMiB } from '../lib/procfs.js';
import { startService } from '../lib/service.js';
import { round } from '../lib/stats.js';

const id = '1 backend';
const title = 'backend (Fastify, per-response log on) vs a bare node:http hello world';

/**
 * Scenario 1: how much of bare Node's HTTP throughput the backend keeps once Fastify, the
 * request id, trace context, metrics and one JSON log line per response are paid for.
 * Both servers run on the same core, one loaded at a time; target: >= 0.6x.
 */
export async function backendVsNodeHttp(ctx: ScenarioContext): Promise<ScenarioResult> {
  ctx.progress(`scenario ${id}: ${title}`);
  const specs = { hello: helloSpec(ctx.cores.server), backend: backendSpec(ctx.cores.server) };
  const hello = await startService(specs.hello);
  try {
    const backend = await startService(specs.backend);
    try {
      const idle = { hello: readRssMiB(hello.pid), backend: readRssMiB(backend.pid) };
      const result = await compareThroughput(ctx, {
        scenario: id,
        baseline: { label: 'node:http hello world', url: hello.url, path: [hello], spec: specs.hello },
        castle: { label: 'castle backend', url: `${backend.url}/`, path: [backend], spec: specs.backend },
        minRatio: 0.6,
      });
      const { baseline, castle } = result.summary;
      recordMemory({ what: 'backend idle', baselineLabel: 'node:http hello', baselineMiB: round(idle.hello, 1), castleMiB: round(idle.backend, 1), during: 'after ready, before load' });
      recordMemory({
        what: 'backend under load',
        baselineLabel: 'node:http hello',
        baselineMiB: baseline.rssMaxMiB[hello.name] ?? null,
        castleMiB: castle.rssMaxMiB[backend.name] ?? Number.NaN,
        during: `scenario 1, max over ${ctx.settings.rounds} rounds`,
      });
      await backend.stop();
      await hello.stop();
      const floor = await frameworkFloor(ctx, {
        scenario: id,
        baseline: { label: 'node:http hello world', spec: specs.hello },
        framework: { label: 'fastify-hello', spec: fastifyHelloSpec(ctx.cores.server) },
        minRatio: 0.6,
      });
      return { id, title, checks: [...result.checks, floor.check], raw: { idleRssMiB: idle, ...result, framework: floor.rounds } };
    } finally {
      await backend.stop();
    }
  } finally {
    await hello.stop();
  }
}
