import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { UsageError } from '../errors.js';

/** The admin kubeconfig `npm run cluster:up` writes for the hermetic cluster. */
export const HERMETIC_KUBECONFIG = '/var/lib/castle-k8s/kubeconfig';

/** Where the kubeconfig and context come from; flags win over the environment. */
export interface KubeTarget {
  /** `--kubeconfig`; else `KUBECONFIG`; else `~/.kube/config`; else in-cluster; else the hermetic cluster's. */
  readonly kubeconfig?: string;
  /** `--context`; else `CASTLE_CONTEXT`; else the kubeconfig's current context. */
  readonly context?: string;
}

/**
 * The kubeconfig file to read: the flag, `KUBECONFIG`, `~/.kube/config`, or — when none of
 * those exists and this is not a pod — the hermetic cluster's, the default target of
 * `--env local`. Undefined: in-cluster (or client-node's own defaults).
 * @throws UsageError when there is nothing at all to connect with.
 */
export function kubeconfigPath(target: KubeTarget, env: NodeJS.ProcessEnv = process.env, home = homedir()): string | undefined {
  if (target.kubeconfig) return target.kubeconfig;
  if (env.KUBECONFIG) return undefined;
  if (existsSync(join(home, '.kube', 'config')) || env.KUBERNETES_SERVICE_HOST) return undefined;
  if (existsSync(HERMETIC_KUBECONFIG)) return HERMETIC_KUBECONFIG;
  throw new UsageError(
    'no kubeconfig: --kubeconfig is not given, KUBECONFIG is not set, and neither ~/.kube/config nor the hermetic cluster\'s exists',
    `pass --kubeconfig <file>, set KUBECONFIG, or start the hermetic cluster with "npm run cluster:up" (writes ${HERMETIC_KUBECONFIG})`,
  );
}

/**
 * Resolve the kubeconfig and context in the one place that does it: flag, then environment
 * (`KUBECONFIG`, `CASTLE_CONTEXT`), then the defaults ({@link kubeconfigPath}).
 * @throws UsageError when the file cannot be read or the context does not exist.
 */
export function resolveKubeConfig(target: KubeTarget, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  const file = kubeconfigPath(target, env);
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (error) {
    throw new UsageError(
      `cannot read kubeconfig ${file ?? env.KUBECONFIG ?? '~/.kube/config'}: ${error instanceof Error ? error.message : String(error)}`,
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
