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
  const hello = await startService(helloSpec(ctx.cores.server));
  try {
    const backend = await startService(backendSpec(ctx.cores.server));
    try {
      const idle = { hello: readRssMiB(hello.pid), backend: readRssMiB(backend.pid) };
      const result = await compareThroughput(ctx, {
        scenario: id,
        baseline: { label: 'node:http hello world', url: hello.url, path: [hello] },
        castle: { label: 'castle backend', url: `${backend.url}/`, path: [backend] },
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
      const fastify = await startService(fastifyHelloSpec(ctx.cores.server));
      try {
        const floor = await frameworkFloor(ctx, {
          scenario: id,
          baseline: { label: 'node:http hello world', url: hello.url, path: [hello] },
          framework: { label: 'fastify-hello', url: `${fastify.url}/`, path: [fastify] },
          minRatio: 0.6,
        });
        return { id, title, checks: [...result.checks, floor.check], raw: { idleRssMiB: idle, ...result, framework: floor.rounds } };
      } finally {
        await fastify.stop();
      }
    } finally {
      await backend.stop();
    }
  } finally {
    await hello.stop();
  }
}
