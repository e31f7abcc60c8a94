import { type KubernetesObject, ManifestError, environmentNames, renderDeployer } from '@castle/k8s';
import { UsageError } from '../errors.js';

/** `castle rbac` options. */
export interface RbacOptions {
  readonly env: string;
  /** The release's namespace. @default the environment's */
  readonly namespace?: string;
  /** `<namespace>/<name>` of the identity to bind. @default castle-deployer/castle-deployer */
  readonly serviceAccount?: string;
}

/**
 * The deployer's identity and rules for a release of `env` in `namespace` (`@castle/k8s`'s
 * renderDeployer), for a cluster admin to apply once. Needs no cluster.
 */
export function rbac(options: RbacOptions): { objects: KubernetesObject[] } {
  let serviceAccount: { namespace: string; name: string } | undefined;
  if (options.serviceAccount !== undefined) {
    const [namespace, name, ...rest] = options.serviceAccount.split('/');
    if (!namespace || !name || rest.length > 0) throw new UsageError(`--service-account must be <namespace>/<name>, not "${options.serviceAccount}"`);
    serviceAccount = { namespace, name };
  }
  try {
    return { objects: renderDeployer({ env: options.env, ...(options.namespace ? { namespace: options.namespace } : {}), ...(serviceAccount ? { serviceAccount } : {}) }) };
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
    throw new UsageError(`cannot render the deployer of environment "${options.env}":\n  ${error.problems.join('\n  ')}`, `environments: ${environmentNames.join(', ')}`);
  }
}
