import type { ScenarioResult } from '../lib/checks.js';
import { runThroughputScenario } from '../lib/compare.js';
import { backendSpec, fastifyHelloSpec, helloSpec, type ScenarioContext } from '../lib/context.js';

/**
 * Scenario 1: how much of bare Node's HTTP throughput the backend keeps once Fastify, the
 * request id, trace context, metrics and one JSON log line per response are paid for.
 * Both servers run on the same core; target: >= 0.6x.
 */
export function backendVsNodeHttp(ctx: ScenarioContext): Promise<ScenarioResult> {
  const core = ctx.cores.server;
  return runThroughputScenario(ctx, {
    id: '1 backend',
    title: 'backend (Fastify, per-response log on) vs a bare node:http hello world',
    baseline: { label: 'node:http hello world', spec: helloSpec(core) },
    castle: { label: 'castle backend', spec: backendSpec(core) },
    framework: { label: 'fastify-hello', spec: fastifyHelloSpec(core) },
    minRatio: 0.6,
    memory: { idle: 'backend idle', load: 'backend under load', baselineLabel: 'node:http hello' },
  });
}
