/** The fields of a Deployment and its ReplicaSets that readiness depends on. */
export interface DeploymentState {
  readonly generation?: number;
  readonly observedGeneration?: number;
  readonly desired: number;
  readonly updated: number;
  readonly ready: number;
  readonly available: number;
  /** Total pods of the Deployment (status.replicas), old ones included. */
  readonly total: number;
  /** Pods still held by ReplicaSets other than the newest. */
  readonly oldReplicas: number;
  /** The Deployment controller gave up (Progressing=False, ProgressDeadlineExceeded). */
  readonly deadlineExceeded?: boolean;
}

/** Where a rollout stands. */
export interface Progress {
  readonly done: boolean;
  /** Why it is not done, for the `^ reason` line. */
  readonly waitingFor?: string;
}

/**
 * Whether a Deployment's rollout is complete. Never from stale status: the controller must
 * have observed the current generation, every desired pod must be updated, ready and
 * available, and no old ReplicaSet may still have pods.
 */
export function rolloutProgress(s: DeploymentState): Progress {
  if (s.generation !== undefined && (s.observedGeneration ?? 0) < s.generation) {
    return { done: false, waitingFor: `the controller to observe generation ${s.generation} (seen ${s.observedGeneration ?? 0})` };
  }
  if (s.updated < s.desired) return { done: false, waitingFor: `${s.updated} of ${s.desired} pods updated` };
  if (s.ready < s.desired) return { done: false, waitingFor: `${s.ready} of ${s.desired} pods ready` };
  if (s.available < s.desired) return { done: false, waitingFor: `${s.available} of ${s.desired} pods available` };
  if (s.oldReplicas > 0 || s.total > s.desired) {
    return { done: false, waitingFor: `${Math.max(s.oldReplicas, s.total - s.desired)} old pods to terminate` };
  }
  return { done: true };
}

/** `updated/ready/available of desired`, for progress lines. */
export function progressLine(s: DeploymentState): string {
  return `${s.updated} updated, ${s.ready} ready, ${s.available} available of ${s.desired}`;
}
