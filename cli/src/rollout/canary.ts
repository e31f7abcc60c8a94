import { CastleError } from '../errors.js';
import type { Kube } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import { type Counters, type JudgedPod, podProxyCounters, prometheusCounters } from './counters.js';
import { containerStates, fatalState, type PodLike } from './diagnose.js';
import { sleep } from './sleep.js';
import type { CounterSource } from './verdict-source.js';
import { type Verdict, type VerdictPolicy, describeExcluded, groupIncreases, judge } from './verdict.js';

/** How the verdict is taken. */
export interface VerdictOptions {
  /** The Deployment judged (its new pods against its old pods). */
  readonly deployment: string;
  readonly windowSeconds: number;
  /** The pods' metrics port (number or name) and path, read through the API server's pod proxy. */
  readonly port: number | string;
  readonly path: string;
  /** Where the counters are read. @default the pod proxy */
  readonly source?: CounterSource;
  readonly policy: VerdictPolicy;
  /** What an inconclusive verdict does: go on with the rollout, or fail it (and roll back). */
  readonly onInconclusive: 'continue' | 'fail';
}

interface Pod extends KubeObject {
  status?: PodLike['status'] & { conditions?: { type: string; status: string }[] };
}

const ready = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Open the window's counters where the options say, falling back to the pod proxy when they allow it. */
async function openCounters(kube: Kube, namespace: string, o: VerdictOptions, pods: readonly JudgedPod[], newHash: string, onProgress?: (line: string) => void): Promise<Counters> {
  const source = o.source ?? { kind: 'pod-proxy' };
  if (source.kind === 'prometheus') {
    const counters = await prometheusCounters(kube, namespace, source.target, pods, { deployment: o.deployment, windowSeconds: o.windowSeconds, newHash, fallback: source.fallback });
    if (!('fallback' in counters)) return counters;
    onProgress?.(`${counters.fallback}: reading the pods through the API server's pod proxy instead`);
  }
  return podProxyCounters(kube, namespace, o.port, o.path, pods);
}

/**
 * Wait for the first new pod of the held Deployment to be ready, sample every ready pod's
 * request counters at the start and end of the window (from Prometheus or through the pod
 * proxy, see {@link VerdictOptions.source}), and judge new against old. A pod whose counters
 * could not be read at either end is left out, and named in the verdict.
 */
export async function takeVerdict(
  kube: Kube,
  namespace: string,
  o: VerdictOptions,
  { deadlineMs, signal, onProgress }: { deadlineMs: number; signal?: AbortSignal; onProgress?: (line: string) => void },
): Promise<Verdict> {
  const deadline = Date.now() + deadlineMs;
  let newHash: string | undefined;
  let pods: Pod[] = [];
  for (;;) {
    if (signal?.aborted) throw new CastleError('CASTLE_ERR_VERDICT', 'interrupted');
    const d = await kube.get<KubeObject & { spec?: { selector?: { matchLabels?: Record<string, string> } }; status?: { observedGeneration?: number } }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: o.deployment });
    // Until the controller has seen the new template, its "current" ReplicaSet is the old one.
    const observed = (d?.status?.observedGeneration ?? 0) >= ((d?.metadata as { generation?: number } | undefined)?.generation ?? 0);
    const revision = d?.metadata.annotations?.['deployment.kubernetes.io/revision'];
    const selector = Object.entries(d?.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    const sets = await kube.list('apps/v1', 'ReplicaSet', namespace, { labelSelector: selector });
    newHash = !observed ? undefined : sets.find((rs) => revision && rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision)?.metadata.labels?.['pod-template-hash'];
    pods = await kube.list<Pod>('v1', 'Pod', namespace, { labelSelector: selector });
    const fresh = pods.filter((p) => newHash && p.metadata.labels?.['pod-template-hash'] === newHash);
    for (const p of fresh) {
      const fatal = fatalState(containerStates(p));
      if (fatal) throw new CastleError('CASTLE_ERR_ROLLOUT_FAILED', `Deployment/${o.deployment} pod ${p.metadata.name}: ${fatal.reason}${fatal.message ? ` (${fatal.message})` : ''}`);
    }
    if (fresh.some(ready)) break;
    if (Date.now() > deadline) throw new CastleError('CASTLE_ERR_ROLLOUT_TIMEOUT', `Deployment/${o.deployment}: no new pod became ready for the verdict before the deadline`);
    await sleep(1000, signal);
  }
  const hash = newHash ?? '';
  const judged = pods.filter(ready).map((p) => ({ pod: p.metadata.name, hash: p.metadata.labels?.['pod-template-hash'] ?? '' }));
  const counters = await openCounters(kube, namespace, o, judged, hash, onProgress);
  const groups = `${judged.filter((s) => s.hash === hash).length} new and ${judged.filter((s) => s.hash !== hash).length} old pods`;
  if (counters.unusable) onProgress?.(`no window over ${groups}: ${counters.unusable}`);
  else {
    onProgress?.(`window of ${o.windowSeconds} s over ${groups}; counters ${counters.describe}`);
    await sleep(o.windowSeconds * 1000, signal);
  }
  if (signal?.aborted) throw new CastleError('CASTLE_ERR_VERDICT', 'interrupted');
  const samples = await counters.finish(signal);
  if (signal?.aborted) throw new CastleError('CASTLE_ERR_VERDICT', 'interrupted');
  const result = groupIncreases(samples, hash);
  if (result.excluded.length > 0) onProgress?.(`left out of the verdict: ${describeExcluded(result.excluded)}; ${counters.hint}`);
  return { ...judge(result, o.policy), source: counters.kind };
}
