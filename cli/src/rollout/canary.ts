import { CastleError } from '../errors.js';
import type { Kube } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import { containerStates, fatalState, type PodLike } from './diagnose.js';
import { type Counts, type PodSample, type ReadFailure, type Verdict, type VerdictPolicy, describeExcluded, groupIncreases, judge, parseRequestCounts } from './verdict.js';
import { sleep } from './sleep.js';

/** How the verdict is taken. */
export interface VerdictOptions {
  /** The Deployment judged (its new pods against its old pods). */
  readonly deployment: string;
  readonly windowSeconds: number;
  /** The pods' metrics port (number or name) and path, read through the API server's pod proxy. */
  readonly port: number | string;
  readonly path: string;
  readonly policy: VerdictPolicy;
  /** What an inconclusive verdict does: go on with the rollout, or fail it (and roll back). */
  readonly onInconclusive: 'continue' | 'fail';
}

/**
 * The Deployment as applied while the verdict is taken: one new pod at a time
 * (maxSurge 1, maxUnavailable 0) and that pod counted available only after the window, so the
 * controller holds the rollout with the first new pod serving next to the old ones. Applying
 * the plain object afterwards releases the hold without a new ReplicaSet (the pod template is
 * the same).
 */
export function heldDeployment(object: KubeObject, windowSeconds: number): KubeObject {
  const spec = { ...(object.spec as Record<string, unknown>) };
  spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
  spec.minReadySeconds = windowSeconds + 60;
  return { ...object, spec };
}

interface Pod extends KubeObject {
  status?: PodLike['status'] & { conditions?: { type: string; status: string }[] };
}

const ready = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function counts(kube: Kube, namespace: string, pod: string, o: VerdictOptions): Promise<Counts | ReadFailure> {
  const { status, body } = await kube.proxyGet(`/api/v1/namespaces/${namespace}/pods/${pod}:${o.port}/proxy/${o.path.replace(/^\//, '')}`);
  return status === 200 ? parseRequestCounts(body) : { failure: `HTTP ${status}` };
}

/**
 * Wait for the first new pod of the held Deployment to be ready, sample every ready pod's
 * request counters at the start and end of the window, and judge new against old. A pod
 * whose counters could not be read at either end is left out, and named in the verdict.
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
  const live = pods.filter(ready);
  const begun: Omit<PodSample, 'end'>[] = [];
  for (const p of live) begun.push({ pod: p.metadata.name, hash: p.metadata.labels?.['pod-template-hash'] ?? '', start: await counts(kube, namespace, p.metadata.name, o) });
  onProgress?.(`window of ${o.windowSeconds} s over ${begun.filter((s) => s.hash === hash).length} new and ${begun.filter((s) => s.hash !== hash).length} old pods`);
  await sleep(o.windowSeconds * 1000, signal);
  if (signal?.aborted) throw new CastleError('CASTLE_ERR_VERDICT', 'interrupted');
  const samples: PodSample[] = [];
  for (const s of begun) samples.push({ ...s, end: await counts(kube, namespace, s.pod, o) });
  const groups = groupIncreases(samples, hash);
  if (groups.excluded.length > 0) onProgress?.(`left out of the verdict: ${describeExcluded(groups.excluded)}; is port ${o.port} path ${o.path} right?`);
  return judge(groups, o.policy);
}
