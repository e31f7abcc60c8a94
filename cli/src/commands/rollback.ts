import { type RollbackResult, rollbackRelease } from '../engine/rollback.js';
import { validateLeaseSeconds } from '../release/lock.js';
import type { SmokeTarget } from '../rollout/smoke.js';
import { serviceProxySmoke } from '../rollout/smoke.js';
import { type ReleaseOptions, contextFor } from './common.js';

/** `castle rollback` options. */
export interface RollbackOptions extends ReleaseOptions {
  /** `--to <revision>`; default: the newest healthy revision other than the current one. */
  readonly to?: number;
  readonly historyMax: number;
  readonly forceConflicts: boolean;
  readonly progressDeadlineSeconds: number;
  readonly crashRestarts: number;
  readonly leaseSeconds: number;
  readonly smoke?: SmokeTarget;
}

/** Roll the release back to an earlier healthy revision (as a new revision). */
export async function rollback(options: RollbackOptions): Promise<RollbackResult> {
  validateLeaseSeconds(options.leaseSeconds);
  const ctx = contextFor(options);
  return rollbackRelease(ctx, {
    to: options.to,
    historyMax: options.historyMax,
    forceConflicts: options.forceConflicts,
    deadlineMs: options.progressDeadlineSeconds * 1000,
    crashRestarts: options.crashRestarts,
    leaseSeconds: options.leaseSeconds,
    smoke: options.smoke && { check: serviceProxySmoke(options.smoke), service: options.smoke.service },
  });
}
