import { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from '../errors.js';

/** Where the kubeconfig and context come from; flags win over the environment. */
export interface KubeTarget {
  /** `--kubeconfig`; else `KUBECONFIG`; else `~/.kube/config` (or in-cluster). */
  readonly kubeconfig?: string;
  /** `--context`; else `CASTLE_CONTEXT`; else the kubeconfig's current context. */
  readonly context?: string;
}

/**
 * Resolve the kubeconfig and context in the one place that does it: flag, then environment
 * (`KUBECONFIG`, `CASTLE_CONTEXT`), then the kubeconfig's defaults.
 * @throws UsageError when the file cannot be read or the context does not exist.
 */
export function resolveKubeConfig(target: KubeTarget, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (target.kubeconfig) kc.loadFromFile(target.kubeconfig);
    else kc.loadFromDefault();
  } catch (error) {
    throw new UsageError(
      `cannot read kubeconfig ${target.kubeconfig ?? env.KUBECONFIG ?? '~/.kube/config'}: ${error instanceof Error ? error.message : String(error)}`,
      'pass --kubeconfig <file> or set KUBECONFIG',
    );
  }
  const context = target.context ?? env.CASTLE_CONTEXT;
  if (context) {
    if (!kc.getContextObject(context)) {
      throw new UsageError(
        `context "${context}" is not in the kubeconfig (known: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`,
        'pass --context <name> or set CASTLE_CONTEXT to one of those',
      );
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) {
    throw new UsageError(
      `the kubeconfig has no cluster for context "${kc.getCurrentContext()}"`,
      'pass --kubeconfig <file> or set KUBECONFIG to a kubeconfig with a cluster',
    );
  }
  return kc;
}
