import { ManifestError, environmentNames, render } from '@castle/k8s';
import { UsageError } from './errors.js';
import type { KubeObject } from './kube/objects.js';
import type { ManifestSource } from './manifests.js';

/**
 * The manifests of `--env`, rendered by `@castle/k8s` into the release's namespace. Render
 * problems (unknown environment, bad version or registry) are bad input: exit 2, nothing
 * changed.
 */
export const renderSource: ManifestSource = (request) => {
  try {
    return render({
      env: request.env,
      version: request.version,
      namespace: request.namespace,
      ...(request.registry ? { registry: request.registry } : {}),
      ...(request.gitSha ? { gitSha: request.gitSha } : {}),
      ...(request.autoscaler ? { autoscaling: { autoscaler: request.autoscaler } } : {}),
    }) as unknown as KubeObject[];
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    throw new UsageError(
      `cannot render environment "${request.env}":\n  ${error.problems.join('\n  ')}`,
      `environments: ${environmentNames.join(', ')}; or pass --manifests <file>`,
    );
  }
};
