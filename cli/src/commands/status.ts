import { releaseStatus } from '../engine/inspect.js';
import { checkReachable } from '../engine/preflight.js';
import { describeTarget, prometheusQuery, prometheusTarget } from '../traffic/prometheus.js';
import { type StatusReport, liveTraffic } from '../traffic/traffic.js';
import { type ReleaseOptions, contextFor } from './common.js';

/** `castle status` options. */
export interface StatusOptions extends ReleaseOptions {
  /** `--prometheus`: Prometheus' URL; default the API server's proxy to monitoring/prometheus:9090. */
  readonly prometheus?: string;
}

/** The release's current revision, live Deployments and live traffic per tier. */
export async function status(options: StatusOptions): Promise<StatusReport> {
  const target = prometheusTarget(options.prometheus);
  const ctx = contextFor(options);
  await checkReachable(ctx.kube, ctx.reporter);
  const report = await releaseStatus(ctx);
  const tiers = report.deployments.filter((d) => d.exists).map((d) => d.name);
  if (tiers.length === 0) return report;
  return { ...report, traffic: await liveTraffic(prometheusQuery(ctx.kube, target), describeTarget(target), ctx.namespace, tiers) };
}
