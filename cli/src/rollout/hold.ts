/**
 * The verdict's hold on a Deployment's rollout, as objects to apply and as read back from a live
 * Deployment. Pure: applying them is the engine's job.
 */
import type { KubeObject } from '../kube/objects.js';

/** Annotation naming the revision whose verdict holds the Deployment (or, that revision failed, paused it). */
export const HOLD_ANNOTATION = 'castle.dev/verdict-hold';

/**
 * `progressDeadlineSeconds` while held: the largest int32, which the Deployment controller reads
 * as no deadline at all (it drops the `Progressing` condition instead of ever reporting
 * `ProgressDeadlineExceeded`). The API server requires it to be greater than `minReadySeconds`
 * (600 when the manifests leave it out), so the hold must set it too.
 */
export const HOLD_PROGRESS_DEADLINE_SECONDS = 2 ** 31 - 1;

/**
 * `minReadySeconds` while held: the largest the API server takes below
 * {@link HOLD_PROGRESS_DEADLINE_SECONDS} (2³¹ − 2 s, 68 years), so the hold never lapses by
 * itself. A hold that lapsed would let the controller finish a rollout whose deploy died or lost
 * its lock, of a revision the history calls failed.
 */
export const HOLD_MIN_READY_SECONDS = HOLD_PROGRESS_DEADLINE_SECONDS - 1;

type Spec = Record<string, unknown>;

const annotated = (object: KubeObject, revision: number): KubeObject['metadata'] => ({
  ...object.metadata,
  annotations: { ...object.metadata.annotations, [HOLD_ANNOTATION]: String(revision) },
});

/**
 * The Deployment as applied while the verdict is taken: one new pod at a time (maxSurge 1,
 * maxUnavailable 0), counted available only when castle says so, so the controller holds the
 * rollout with the first new pod serving next to the old ones, with no progress deadline to run
 * out meanwhile. Applying the plain object afterwards releases the hold without a new ReplicaSet
 * (the pod template is the same), and gives back the manifests' `minReadySeconds` and
 * `progressDeadlineSeconds` (server-side apply drops what castle no longer sends: the API server's
 * defaults come back, 0 and 600).
 */
export function heldDeployment(object: KubeObject, revision: number): KubeObject {
  const spec: Spec = { ...(object.spec as Spec) };
  spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
  spec.minReadySeconds = HOLD_MIN_READY_SECONDS;
  spec.progressDeadlineSeconds = HOLD_PROGRESS_DEADLINE_SECONDS;
  return { ...object, metadata: annotated(object, revision), spec };
}

/**
 * The Deployment of a revision that failed while held and is not rolled back: its own spec
 * (strategy, minReadySeconds, progressDeadlineSeconds) back, and paused, so the controller
 * leaves the new pods it made beside the old ones and goes no further. The next apply without
 * `paused` (a deploy, a rollback) resumes it.
 */
export function pausedDeployment(object: KubeObject, revision: number): KubeObject {
  return { ...object, metadata: annotated(object, revision), spec: { ...(object.spec as Spec), paused: true } };
}

/** A hold of castle's found on a live Deployment. */
export interface DeploymentHold {
  /** The revision whose verdict set it. */
  readonly revision: number;
  /** `held`: the verdict's hold, not released; `paused`: the revision failed and was not rolled back. */
  readonly state: 'held' | 'paused';
}

/** Castle's hold on a live Deployment, if it has one (an annotation alone, the rollout resumed by hand, is none). */
export function holdOf(live: KubeObject | undefined): DeploymentHold | undefined {
  const revision = Number(live?.metadata.annotations?.[HOLD_ANNOTATION]);
  if (!live || !Number.isInteger(revision) || revision < 1) return undefined;
  const spec = (live.spec ?? {}) as { paused?: boolean; minReadySeconds?: number };
  if (spec.paused === true) return { revision, state: 'paused' };
  if (spec.minReadySeconds === HOLD_MIN_READY_SECONDS) return { revision, state: 'held' };
  return undefined;
}
