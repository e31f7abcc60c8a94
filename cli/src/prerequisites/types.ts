import type { CastleCommand, PrometheusService } from '@castle/k8s';
import { UnreachableError } from '../errors.js';
import { KubeApiError } from '../kube/http.js';
import type { KubeObject } from '../kube/objects.js';

/** The checks `castle doctor` makes. */
export type CheckName = 'kinds' | 'metrics-scrape' | 'load-balancer' | 'images' | 'permissions';

/** `ok`: there; `missing`: not there; `unknown`: castle cannot tell from where it runs. */
export type CheckStatus = 'ok' | 'missing' | 'unknown';

/** One thing the release needs on the cluster, and whether it is there. */
export interface Prerequisite {
  readonly check: CheckName;
  /** What is needed, e.g. `KEDA's CRDs: ScaledObject (keda.sh/v1alpha1)`. */
  readonly what: string;
  readonly status: CheckStatus;
  /** How it was decided. */
  readonly detail: string;
  /** The command or chart that provides it, when it is not `ok`. */
  readonly fix?: string;
}

/** What the checks look at. */
export interface PrerequisiteInput {
  /** The environment rendered, for the hints (undefined for `--manifests`). */
  readonly env?: string;
  /** The release's namespace. */
  readonly namespace: string;
  /** The release's objects as rendered (or read from `--manifests`). */
  readonly objects: readonly KubeObject[];
  /** Where Prometheus runs and `castle status` asks it. */
  readonly prometheus: PrometheusService;
  /** Only the permissions of this command (a deploy's preflight); every rule when unset. */
  readonly command?: CastleCommand;
}

/** What the checks reach beyond the API server: the image registries. */
export interface PrerequisiteDeps {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Time for one registry request. @default 5000 */
  readonly registryTimeoutMs?: number;
}

/**
 * Why an API call made for a check failed, for an `unknown` verdict: a refusal or an error
 * answer of the API server. An API server that cannot be reached is not a check's result: it
 * is thrown on (exit 5, as for every command).
 */
export function unknownBecause(error: unknown): string {
  if (error instanceof UnreachableError || !(error instanceof KubeApiError) || error.status === 401) throw error;
  return error.status === 403 ? `the API server refused: ${error.message}` : error.message;
}
