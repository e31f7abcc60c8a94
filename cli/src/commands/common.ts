import { Kube } from '../kube/client.js';
import type { KubeHttpOptions } from '../kube/http.js';
import { type KubeTarget, resolveKubeConfig } from '../kube/config.js';
import { validateNamespace, validateReleaseName } from '../manifests.js';
import type { Reporter } from '../output/reporter.js';
import { type ReleaseContext, releaseContext } from '../engine/context.js';

/** Options every release command takes. */
export interface ReleaseOptions extends KubeTarget {
  /** `--release`; default `castle`. */
  readonly release: string;
  /** `--namespace`; default `castle`. */
  readonly namespace: string;
  readonly reporter: Reporter;
  readonly signal?: AbortSignal;
  /** How API calls are timed and retried; by default as `kube/retry.ts` says. */
  readonly http?: KubeHttpOptions;
}

/** Validate the release and namespace names, resolve the kubeconfig, build the context. */
export function contextFor(options: ReleaseOptions): ReleaseContext {
  validateReleaseName(options.release);
  validateNamespace(options.namespace);
  const kube = new Kube(resolveKubeConfig(options), options.http);
  return releaseContext(kube, options.release, options.namespace, options.reporter, options.signal);
}
