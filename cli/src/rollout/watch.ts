import { CastleError, messageOf } from '../errors.js';
import type { Kube } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import { type FatalState, type PodLike, DEFAULT_CRASH_RESTARTS, PULL_ERROR_TOLERANCE_MS, containerStates, fatalState } from './diagnose.js';
import { type DeploymentState, progressLine, rolloutProgress } from './progress.js';
import { sleep } from './sleep.js';

/** Why one Deployment blocks the rollout. */
export interface Blocker {
  readonly deployment: string;
  readonly pod?: string;
  readonly reason: string;
  readonly message?: string;
  /** The pod's (or Deployment's) latest Warning event. */
  readonly event?: string;
  /** Last log lines of a crashing container. */
  readonly logs?: string;
}

/** The rollout failed (a state that will not recover) or did not finish before the deadline. */
export class RolloutError extends CastleError {
  override readonly name = 'RolloutError';
  constructor(
    readonly blockers: readonly Blocker[],
    readonly timedOut: boolean,
  ) {
    super(
      timedOut ? 'CASTLE_ERR_ROLLOUT_TIMEOUT' : 'CASTLE_ERR_ROLLOUT_FAILED',
      `${timedOut ? 'rollout did not finish before the progress deadline' : 'rollout failed'}: ${blockers
        .map((b) => `Deployment/${b.deployment}${b.pod ? ` pod ${b.pod}` : ''}: ${b.reason}${b.message ? ` (${b.message})` : ''}`)
        .join('; ')}`,
    );
  }
}

/** Options of {@link watchRollout}. */
export interface WatchOptions {
  readonly deadlineMs: number;
  readonly crashRestarts?: number;
  readonly pollMs?: number;
  /** How long a transient image pull error may last before it fails the rollout. @default PULL_ERROR_TOLERANCE_MS */
  readonly pullToleranceMs?: number;
  readonly signal?: AbortSignal;
  /** Called when a Deployment's progress line changes. */
  readonly onProgress?: (deployment: string, line: string, waitingFor?: string) => void;
  readonly onReady?: (deployment: string) => void;
}

interface Deployment extends KubeObject {
  spec?: { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}
interface ReplicaSet extends KubeObject {
  status?: { replicas?: number };
}
interface Pod extends KubeObject {
  status?: PodLike['status'];
}
interface Event {
  type?: string;
  reason?: string;
  message?: string;
  lastTimestamp?: string;
  eventTime?: string;
  metadata: { creationTimestamp?: string };
}

/** The Deployment's state and its newest ReplicaSet's pod-template-hash. */
async function observe(kube: Kube, namespace: string, name: string): Promise<{ state: DeploymentState; hash?: string; deployment: Deployment }> {
  const d = await kube.get<Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name });
  if (!d) throw new CastleError('CASTLE_ERR_ROLLOUT_FAILED', `Deployment/${name} disappeared during the rollout`);
  const selector = Object.entries(d.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  const uid = (d.metadata as { uid?: string }).uid;
  const revision = d.metadata.annotations?.['deployment.kubernetes.io/revision'];
  const sets = (await kube.list<ReplicaSet>('apps/v1', 'ReplicaSet', namespace, { labelSelector: selector })).filter((rs) =>
    ((rs.metadata as { ownerReferences?: { uid: string }[] }).ownerReferences ?? []).some((o) => o.uid === uid),
  );
  const current = sets.find((rs) => revision !== undefined && rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === revision);
  const oldReplicas = sets.filter((rs) => rs !== current).reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);
  const s = d.status ?? {};
  const state: DeploymentState = {
    generation: (d.metadata as { generation?: number }).generation,
    observedGeneration: s.observedGeneration,
    desired: d.spec?.replicas ?? 1,
    updated: s.updatedReplicas ?? 0,
    ready: s.readyReplicas ?? 0,
    available: s.availableReplicas ?? 0,
    total: s.replicas ?? 0,
    // Until the controller has made the new ReplicaSet, every pod is old.
    oldReplicas: current ? oldReplicas : Math.max(oldReplicas, s.replicas ?? 0),
    deadlineExceeded: s.conditions?.some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded'),
  };
  // Until the controller has observed the new generation, the revision annotation still names
  // the previous ReplicaSet: judging its pods would blame the old template (after a rollback,
  // the failed one) for the new rollout.
  const observed = (s.observedGeneration ?? 0) >= (state.generation ?? 0);
  return { state, hash: observed ? current?.metadata.labels?.['pod-template-hash'] : undefined, deployment: d };
}

/** The newest Warning event of an object, as `Reason: message`. */
export async function latestWarning(kube: Kube, namespace: string, kind: string, name: string): Promise<string | undefined> {
  try {
    const events = await kube.list<Event>('v1', 'Event', namespace, { fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name},type=Warning` });
    const at = (e: Event): string => e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '';
    const last = events.sort((a, b) => at(a).localeCompare(at(b))).at(-1);
    return last ? `${last.reason}: ${last.message}` : undefined;
  } catch {
    return undefined;
  }
}

async function blockerFor(kube: Kube, namespace: string, deployment: string, pod: string, fatal: FatalState): Promise<Blocker> {
  let logs: string | undefined;
  if (fatal.crashed) {
    logs = await kube.logs(namespace, pod, fatal.container, 10, true).catch((error: unknown) => `(logs unavailable: ${messageOf(error)})`);
  }
  return { deployment, pod, reason: fatal.reason, message: fatal.message, event: await latestWarning(kube, namespace, 'Pod', pod), logs: logs?.trimEnd() };
}

/** What blocks a Deployment that is not done: its first unready new pod's state, or the controller's condition. */
async function diagnose(kube: Kube, namespace: string, name: string, d: Deployment, hash: string | undefined, waitingFor: string): Promise<Blocker> {
  if (hash) {
    const pods = await kube.list<Pod>('v1', 'Pod', namespace, { labelSelector: `pod-template-hash=${hash}` });
    for (const pod of pods) {
      const states = containerStates(pod);
      const waiting = states.find((c) => c.waitingReason);
      if (waiting) {
        return { deployment: name, pod: pod.metadata.name, reason: waiting.waitingReason ?? 'Waiting', message: waiting.waitingMessage, event: await latestWarning(kube, namespace, 'Pod', pod.metadata.name) };
      }
      const event = await latestWarning(kube, namespace, 'Pod', pod.metadata.name);
      if (event) return { deployment: name, pod: pod.metadata.name, reason: 'NotReady', message: waitingFor, event };
    }
  }
  const cond = d.status?.conditions?.find((c) => c.status === 'False');
  return { deployment: name, reason: cond?.reason ?? 'Waiting', message: cond?.message ?? waitingFor, event: await latestWarning(kube, namespace, 'Deployment', name) };
}

/**
 * Since when each pod's container has had a transient pull error, seen round by round: an
 * error not seen in a round has cleared, and starts afresh if it comes back.
 */
function pullErrorClock(toleranceMs: number): {
  round(): void;
  /** The error, worded as having persisted, once it has lasted `toleranceMs`; undefined before (the first sighting is reported). */
  persisted(pod: string, fatal: FatalState, report: (line: string) => void): FatalState | undefined;
} {
  let since = new Map<string, number>();
  let previous = new Map<string, number>();
  return {
    round() {
      previous = since;
      since = new Map();
    },
    persisted(pod, fatal, report) {
      const key = `${pod}/${fatal.container}`;
      const now = Date.now();
      const first = previous.get(key) ?? since.get(key);
      since.set(key, first ?? now);
      if (first === undefined) {
        report(`pod ${pod}: ${fatal.reason} (${fatal.message ?? 'no message'}); waiting up to ${toleranceMs / 1000} s for it to clear`);
        return undefined;
      }
      if (now - first < toleranceMs) return undefined;
      return { ...fatal, message: `${fatal.message ?? fatal.reason}; persisted ${((now - first) / 1000).toFixed(1)} s, longer than the ${toleranceMs / 1000} s a registry is given to recover` };
    },
  };
}

/** How often a rollout is observed: a few reads per Deployment, cheap next to a pod's start-up. */
const POLL_MS = 250;

/**
 * Follow the rollout of every Deployment until all are complete (see {@link rolloutProgress}).
 * Fails early when a new pod is in a state that will not recover, naming the Deployment, the
 * pod, the reason, the latest Warning event and (for a crash) the last log lines; fails at
 * the deadline naming what still blocks.
 */
export async function watchRollout(kube: Kube, namespace: string, deployments: readonly string[], options: WatchOptions): Promise<void> {
  const deadline = Date.now() + options.deadlineMs;
  const pending = new Set(deployments);
  const lines = new Map<string, string>();
  const crashRestarts = options.crashRestarts ?? DEFAULT_CRASH_RESTARTS;
  const pulls = pullErrorClock(options.pullToleranceMs ?? PULL_ERROR_TOLERANCE_MS);
  while (pending.size > 0) {
    if (options.signal?.aborted) return;
    pulls.round();
    const waiting: { name: string; d: Deployment; hash?: string; waitingFor: string }[] = [];
    for (const name of [...pending]) {
      const { state, hash, deployment } = await observe(kube, namespace, name);
      const progress = rolloutProgress(state);
      if (progress.done) {
        pending.delete(name);
        options.onReady?.(name);
        continue;
      }
      const line = progressLine(state);
      if (lines.get(name) !== `${line}|${progress.waitingFor}`) {
        lines.set(name, `${line}|${progress.waitingFor}`);
        options.onProgress?.(name, line, progress.waitingFor);
      }
      if (hash) {
        for (const pod of await kube.list<Pod>('v1', 'Pod', namespace, { labelSelector: `pod-template-hash=${hash}` })) {
          const fatal = fatalState(containerStates(pod), crashRestarts);
          if (!fatal) continue;
          if (!fatal.transient) throw new RolloutError([await blockerFor(kube, namespace, name, pod.metadata.name, fatal)], false);
          const persisted = pulls.persisted(pod.metadata.name, fatal, (line) => options.onProgress?.(name, line));
          if (persisted) throw new RolloutError([await blockerFor(kube, namespace, name, pod.metadata.name, persisted)], false);
        }
      }
      if (state.deadlineExceeded) {
        throw new RolloutError([await diagnose(kube, namespace, name, deployment, hash, progress.waitingFor ?? '')], true);
      }
      waiting.push({ name, d: deployment, hash, waitingFor: progress.waitingFor ?? '' });
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      throw new RolloutError(await Promise.all(waiting.map((w) => diagnose(kube, namespace, w.name, w.d, w.hash, w.waitingFor))), true);
    }
    await sleep(options.pollMs ?? POLL_MS, options.signal);
  }
}
