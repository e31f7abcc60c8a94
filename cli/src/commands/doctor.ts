import { DEFAULT_PROMETHEUS_SERVICE } from '@castle/k8s';
import { valid } from 'semver';
import { UsageError } from '../errors.js';
import type { ManifestSource } from '../manifests.js';
import { checkPrerequisites } from '../prerequisites/check.js';
import type { Prerequisite, PrerequisiteDeps } from '../prerequisites/types.js';
import { type ReleaseOptions, contextFor } from './common.js';
import { version as cliVersion } from './version.js';

/** `castle doctor` options. */
export interface DoctorOptions extends ReleaseOptions {
  /** The environment rendered; undefined when `source` reads `--manifests`. */
  readonly env?: string;
  /** The release's version, for its images. @default this CLI's version */
  readonly version?: string;
  readonly registry?: string;
  readonly source: ManifestSource;
  /** The image registries' client (tests). */
  readonly deps?: PrerequisiteDeps;
}

/** `castle doctor`'s data. */
export interface DoctorReport {
  readonly env?: string;
  readonly namespace: string;
  readonly context: string;
  readonly version: string;
  readonly prerequisites: readonly Prerequisite[];
  /** How many are missing: the exit code is 8 when any is. */
  readonly missing: number;
}

/** What the release needs on the cluster, whether each is there, and what provides what is missing. Changes nothing. */
export async function doctor(options: DoctorOptions): Promise<DoctorReport> {
  const version = options.version === undefined ? cliVersion().version.replace(/\+.*$/, '') : valid(options.version);
  if (!version) throw new UsageError(`version "${options.version}" is not a semantic version`, 'pass --version like 1.4.2 or v1.4.2');
  const ctx = contextFor(options);
  const objects = await options.source({ env: options.env ?? '', version, namespace: options.namespace, registry: options.registry });
  // The Prometheus that `castle status` asks by default (a test checks they agree).
  const prerequisites = await checkPrerequisites(ctx.kube, { env: options.env, namespace: options.namespace, objects, prometheus: DEFAULT_PROMETHEUS_SERVICE }, options.deps);
  return {
    ...(options.env === undefined ? {} : { env: options.env }),
    namespace: options.namespace,
    context: ctx.kube.context,
    version,
    prerequisites,
    missing: prerequisites.filter((p) => p.status === 'missing').length,
  };
}
