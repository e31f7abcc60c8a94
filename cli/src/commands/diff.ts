import { type DiffReport, diffRelease } from '../engine/diff.js';
import type { ManifestSource } from '../manifests.js';
import { type ReleaseOptions, contextFor } from './common.js';

/** `castle diff` options. */
export interface DiffOptions extends ReleaseOptions {
  readonly version: string;
  readonly env: string;
  readonly registry?: string;
  /** Overrides the environment's autoscaler (`--autoscaler`). */
  readonly autoscaler?: 'keda' | 'hpa' | 'none';
  readonly gitSha?: string;
  readonly source: ManifestSource;
  readonly forceConflicts: boolean;
}

/** What a deploy would change; writes nothing. */
export async function diff(options: DiffOptions): Promise<DiffReport> {
  const ctx = contextFor(options);
  const objects = await options.source({ env: options.env, version: options.version, namespace: options.namespace, registry: options.registry, gitSha: options.gitSha, autoscaler: options.autoscaler });
  return diffRelease(ctx, objects, options.forceConflicts);
}
