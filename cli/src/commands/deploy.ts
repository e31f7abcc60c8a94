import { DEFAULT_PROMETHEUS_SERVICE } from '@castle/k8s';
import { valid } from 'semver';
import { InterruptedError, UsageError, signalOf } from '../errors.js';
import { type DeployResult, deployRelease } from '../engine/deploy.js';
import type { ManifestSource } from '../manifests.js';
import { preflight } from '../prerequisites/preflight.js';
import { validateLeaseSeconds } from '../release/lock.js';
import type { SmokeTarget } from '../rollout/smoke.js';
import { serviceProxySmoke } from '../rollout/smoke.js';
import type { VerdictOptions } from '../rollout/canary.js';
import { type ReleaseOptions, contextFor } from './common.js';

/** `castle deploy` options. */
export interface DeployOptions extends ReleaseOptions {
  /** The release's version, a semantic version (`1.2.3`, `v` prefix allowed). */
  readonly version: string;
  readonly env: string;
  readonly registry?: string;
  /** Overrides the environment's autoscaler (`--autoscaler`). */
  readonly autoscaler?: 'keda' | 'hpa' | 'none';
  readonly gitSha?: string;
  readonly source: ManifestSource;
  readonly historyMax: number;
  readonly forceConflicts: boolean;
  readonly rollbackOnFailure: boolean;
  readonly progressDeadlineSeconds: number;
  readonly crashRestarts: number;
  readonly leaseSeconds: number;
  /** Undefined: no smoke check. */
  readonly smoke?: SmokeTarget;
  /** Undefined: no verdict. */
  readonly verdict?: VerdictOptions;
  /** Check the prerequisites before the first write (`--no-preflight`: false). @default true */
  readonly preflight?: boolean;
}

/** Deploy the source's manifests as a new revision. */
export async function deploy(options: DeployOptions): Promise<DeployResult> {
  const version = valid(options.version);
  if (!version) throw new UsageError(`version "${options.version}" is not a semantic version`, 'pass --version like 1.4.2 or v1.4.2');
  if (!Number.isInteger(options.historyMax) || options.historyMax < 1) throw new UsageError(`--history-max must be a positive integer, not ${options.historyMax}`);
  if (!(options.progressDeadlineSeconds > 0)) throw new UsageError(`--progress-deadline must be a positive number of seconds, not ${options.progressDeadlineSeconds}`);
  validateLeaseSeconds(options.leaseSeconds);
  const ctx = contextFor(options);
  const objects = await options.source({ env: options.env, version, namespace: options.namespace, registry: options.registry, gitSha: options.gitSha, autoscaler: options.autoscaler });
  if (options.preflight !== false) await preflight(ctx.kube, { env: options.env, namespace: options.namespace, objects, prometheus: DEFAULT_PROMETHEUS_SERVICE }, options.reporter);
  if (options.signal?.aborted) throw new InterruptedError(signalOf(options.signal), 'nothing was changed');
  return deployRelease(ctx, {
    objects,
    version,
    gitSha: options.gitSha,
    historyMax: options.historyMax,
    forceConflicts: options.forceConflicts,
    rollbackOnFailure: options.rollbackOnFailure,
    deadlineMs: options.progressDeadlineSeconds * 1000,
    crashRestarts: options.crashRestarts,
    leaseSeconds: options.leaseSeconds,
    smoke: options.smoke && { check: serviceProxySmoke(options.smoke), service: options.smoke.service },
    verdict: options.verdict,
  });
}
