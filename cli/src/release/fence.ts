import { CastleError, EXIT_CODES } from '../errors.js';
import type { Kube } from '../kube/client.js';
import type { KubeObject, ObjectRef } from '../kube/objects.js';

/**
 * Share of the lease's duration, counted from when its last confirmed renewal was sent, in
 * which its holder may write. Renewals go every third of the duration, so two of them have
 * failed (or the process was frozen) by then; the last third is the margin for clock skew
 * between machines and for a write already on its way, before another deploy may take over.
 */
export const WRITE_WINDOW_RATIO = 2 / 3;

/** The deploy lost its lock: it stops before its next write. */
export class LeaseLostError extends CastleError {
  override readonly name = 'LeaseLostError';
  constructor(
    release: string,
    readonly why: string,
  ) {
    super(
      'CASTLE_ERR_LEASE_LOST',
      `lost the lock of release ${release}: ${why}; stopped before the next write`,
      EXIT_CODES.failed,
      'another deploy may have taken the release over: see "castle history" and "castle status", then deploy again if needed',
    );
  }
}

/** What the holder knows of its lease, on its own clock. */
export interface LeaseView {
  /** The lease's duration, in milliseconds. */
  readonly durationMs: number;
  /** When the last renewal the API server accepted was sent (milliseconds, the lock's clock). */
  readonly confirmedAtMs: number;
}

/** Whether the holder may write now. */
export type FenceDecision = { readonly write: true; readonly leftMs: number } | { readonly write: false; readonly why: string };

/**
 * The fencing rule: a holder may write only within {@link WRITE_WINDOW_RATIO} of the lease
 * after sending its last confirmed renewal. Counting from the send (not the answer) keeps a
 * slow answer on the safe side.
 */
export function fenceDecision(view: LeaseView, nowMs: number): FenceDecision {
  const windowMs = view.durationMs * WRITE_WINDOW_RATIO;
  const since = nowMs - view.confirmedAtMs;
  if (since < windowMs) return { write: true, leftMs: windowMs - since };
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  return { write: false, why: `no renewal confirmed for ${s(since)} (a holder stops writing after ${s(windowMs)} of its ${s(view.durationMs)} lease): another deploy may hold it now` };
}

/** The fields of a Lease that say who acquired it. */
export interface LeaseHolding {
  readonly holderIdentity?: string | null;
  readonly acquireTime?: string;
  readonly leaseTransitions?: number;
}

/**
 * Whether a lease read back from the API server is still the one this holder acquired.
 * @returns why it is not, or undefined when it is.
 */
export function takenBy(observed: LeaseHolding | undefined, mine: LeaseHolding): string | undefined {
  if (!observed) return 'the lease was deleted (by castle destroy --ignore-lock, or by hand)';
  if (observed.holderIdentity !== mine.holderIdentity) return `the lease is held by ${observed.holderIdentity || 'nobody'} now`;
  if (observed.acquireTime !== mine.acquireTime || (observed.leaseTransitions ?? 0) !== (mine.leaseTransitions ?? 0)) {
    return 'the lease was acquired again since, under the same holder name';
  }
  return undefined;
}

/**
 * A client whose every write (apply other than a dry run, create, replace, delete) first
 * passes `check`, which throws when the lock is lost — before its first try and before each
 * retry. Reads go through unchanged. Discovery is done before the check, so the check is the
 * last thing before the request is sent.
 */
export function fencedKube(kube: Kube, check: () => void): Kube {
  const ready = async (ref: Pick<ObjectRef, 'apiVersion' | 'kind'>): Promise<void> => {
    // An unknown kind is the write's own error to report.
    await kube.namespaced(ref.apiVersion, ref.kind).catch(() => undefined);
    check();
  };
  // Object.create keeps the one client (its connection pool and discovery cache) for reads.
  const fenced = Object.create(kube) as Kube;
  fenced.apply = async (object, options = {}) => {
    if (options.dryRun) return kube.apply(object, options);
    await ready(object);
    return kube.apply(object, { ...options, beforeEachTry: check });
  };
  fenced.create = async <T = KubeObject>(object: KubeObject): Promise<T> => {
    await ready(object);
    return kube.create<T>(object, { beforeEachTry: check });
  };
  fenced.replace = async <T = KubeObject>(object: KubeObject): Promise<T> => {
    await ready(object);
    return kube.replace<T>(object, { beforeEachTry: check });
  };
  fenced.delete = async (ref, preconditions) => {
    await ready(ref);
    return kube.delete(ref, preconditions, { beforeEachTry: check });
  };
  return fenced;
}
