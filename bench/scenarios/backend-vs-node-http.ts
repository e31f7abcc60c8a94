import type { ScenarioResult } from '../lib/checks.js';
import { compare } from '../lib/compare.js';
import { backendSpec, helloSpec, type ScenarioContext } from '../lib/context.js';

/**
 * Claim 1: the backend (Fastify, request id, trace context, metrics, one JSON log line per
 * response to a file) keeps at least 0.55x of a bare `node:http` hello world, in req/s and
 * in capacity per CPU-second: what the framework and observability cost on the cheapest
 * possible route.
 */
export function backendVsNodeHttp(ctx: ScenarioContext): Promise<ScenarioResult> {
  const core = ctx.cores.server;
  return compare(ctx, {
    id: '1 backend',
    title: 'backend vs a bare node:http hello world',
    baseline: { label: 'node:http hello world', spec: helloSpec(core) },
    castle: { label: 'castle backend', spec: backendSpec(core) },
    rps: 0.55,
    perCoreShared: 0.55,
  });
}
