import { type ReleaseStatusReport, releaseStatus } from '../engine/inspect.js';
import { checkReachable } from '../engine/preflight.js';
import { type ReleaseOptions, contextFor } from './common.js';

/** `castle status` options. */
export type StatusOptions = ReleaseOptions;

/** The release's current revision and live Deployments. */
export async function status(options: StatusOptions): Promise<ReleaseStatusReport> {
  const ctx = contextFor(options);
  await checkReachable(ctx.kube, ctx.reporter);
  return releaseStatus(ctx);
}
