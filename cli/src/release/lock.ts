import { LockedError, UsageError } from '../errors.js';
import type { Kube } from '../kube/client.js';
import { KubeApiError } from '../kube/http.js';
import type { KubeObject } from '../kube/objects.js';
import { type LeaseHolding, LeaseLostError, fenceDecision, takenBy } from './fence.js';

/** Default lease duration: a killed deploy blocks the release at most this long. */
export const DEFAULT_LEASE_SECONDS = 30;

/** Shortest lease: renewed every third of it, a shorter one would be lost to an API server's ordinary latency. */
export const MIN_LEASE_SECONDS = 3;

/** @throws UsageError unless `seconds` is a whole number of at least {@link MIN_LEASE_SECONDS}. */
export function validateLeaseSeconds(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < MIN_LEASE_SECONDS) {
    throw new UsageError(`--lease-seconds must be a whole number of at least ${MIN_LEASE_SECONDS}, not ${seconds}`, 'the lease is renewed every third of it; 30 is the default');
  }
}

/** After a failed renewal, the next try comes this soon (or a third of the lease, if shorter). */
const RENEW_RETRY_MS = 2000;
/** Tries to take a lease by force whose holder keeps renewing it between our read and write. */
const FORCE_ATTEMPTS = 3;

interface LeaseObject extends KubeObject {
  spec?: LeaseHolding & { leaseDurationSeconds?: number; renewTime?: string };
}

/** The lock's two clocks. Tests inject both. */
export interface LockClock {
  /** Wall-clock time: the Lease's acquire and renew times, and other holders' expiry. */
  now(): Date;
  /** Milliseconds that never go back and that count time the process or machine was suspended: the fence. */
  elapsedMs(): number;
}

/**
 * The system's clocks. Elapsed time is the larger of the monotonic clock's (immune to the wall
 * clock being set back) and the wall clock's (which, unlike the monotonic clock, runs on while
 * the machine sleeps): either one passing the deadline stops the writes.
 */
export function systemClock(): LockClock {
  const wall0 = Date.now();
  const mono0 = performance.now();
  let last = 0;
  return {
    now: () => new Date(),
    elapsedMs: () => (last = Math.max(last, Date.now() - wall0, performance.now() - mono0)),
  };
}

/** The Lease that locks a release. */
export function leaseName(release: string): string {
  return `castle-release-${release}`;
}

/** When a lease stops counting: its renew time plus its duration. */
export function leaseExpiry(lease: LeaseObject): Date | undefined {
  const spec = lease.spec;
  if (!spec?.holderIdentity || !spec.renewTime) return undefined;
  return new Date(Date.parse(spec.renewTime) + (spec.leaseDurationSeconds ?? DEFAULT_LEASE_SECONDS) * 1000);
}

/** What {@link acquireLock} is given and reports. */
export interface LockOptions {
  readonly durationSeconds?: number;
  readonly clock?: LockClock;
  /** Take the lease even from a live holder (destroy --ignore-lock). */
  readonly force?: boolean;
  /** Another holder's lease was taken over: expired, or live and `force`d. */
  readonly onTakeover?: (previousHolder: string, expiry: Date, live: boolean) => void;
  /** A renewal failed for a reason that may pass; the lock holds until its write window closes. */
  readonly onRenewError?: (error: unknown) => void;
}

/** A held lock: renewed in the background, checked before every write, released at the end. */
export interface HeldLock {
  readonly holder: string;
  /** Aborted once the lock is lost, with the {@link LeaseLostError} as its reason. */
  readonly signal: AbortSignal;
  /** @throws LeaseLostError unless this holder may still write. Synchronous: call it right before a write. */
  check(): void;
  /** Renew now and check: before each wave of writes. A takeover or a deletion is found here. @throws LeaseLostError */
  confirm(): Promise<void>;
  /** Stop renewing, and delete the lease if it is still this holder's. Later checks fail. Idempotent. */
  release(): Promise<void>;
  /**
   * Stop renewing and leave the lease alone, for when its namespace is being deleted and takes
   * it along (the holder's Role there may already be gone with it). Later checks fail;
   * {@link release} then does nothing.
   */
  abandon(): void;
}

const micro = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * Take the release's Lease (coordination.k8s.io/v1) for `holder`. It is renewed every third of
 * its duration by a compare-and-swap on its resourceVersion, so a renewal fails once anyone
 * else wrote it; a renewal that finds another holder, or no lease, loses the lock, and so does
 * the fence ({@link fenceDecision}) once no renewal was confirmed for two thirds of the
 * duration. A lost lock is never renewed again.
 * @throws LockedError naming the holder and expiry when another live holder has it (unless `force`).
 */
export async function acquireLock(kube: Kube, namespace: string, release: string, holder: string, options: LockOptions = {}): Promise<HeldLock> {
  const { durationSeconds = DEFAULT_LEASE_SECONDS, clock = systemClock(), force = false } = options;
  const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name: leaseName(release) };
  const durationMs = durationSeconds * 1000;
  const fresh = (transitions: number): LeaseObject['spec'] => {
    const at = micro(clock.now());
    return { holderIdentity: holder, leaseDurationSeconds: durationSeconds, acquireTime: at, renewTime: at, leaseTransitions: transitions };
  };
  const sentAt = clock.elapsedMs();
  const take = async (): Promise<LeaseObject> => {
    for (let attempt = 1; ; attempt++) {
      const existing = await kube.get<LeaseObject>(ref);
      try {
        if (!existing) {
          return await kube.create<LeaseObject>({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace, labels: { owner: 'castle', name: release } }, spec: fresh(0) });
        }
        const expiry = leaseExpiry(existing);
        const other = existing.spec?.holderIdentity;
        const live = Boolean(other && expiry && expiry > clock.now());
        if (other && expiry && live && !force) throw new LockedError(other, expiry, release);
        const taken = await kube.replace<LeaseObject>({ ...existing, spec: fresh((existing.spec?.leaseTransitions ?? 0) + (other ? 1 : 0)) });
        if (other && expiry) options.onTakeover?.(other, expiry, live);
        return taken;
      } catch (error) {
        if (!(error instanceof KubeApiError && error.status === 409)) throw error;
        // Someone else created or renewed the lease between our read and write: taking it by
        // force reads it again; otherwise it is theirs.
        if (force && attempt < FORCE_ATTEMPTS) continue;
        const now2 = await kube.get<LeaseObject>(ref);
        throw new LockedError(now2?.spec?.holderIdentity ?? 'another deploy', (now2 && leaseExpiry(now2)) ?? clock.now(), release);
      }
    }
  };
  let lease = await take();
  const mine: LeaseHolding = { holderIdentity: holder, acquireTime: lease.spec?.acquireTime, leaseTransitions: lease.spec?.leaseTransitions ?? 0 };

  let confirmedAtMs = sentAt;
  let lost: LeaseLostError | undefined;
  let released = false;
  let inflight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const controller = new AbortController();

  const lose = (why: string): LeaseLostError => {
    if (!lost) {
      lost = new LeaseLostError(release, why);
      clearTimeout(timer);
      controller.abort(lost);
    }
    return lost;
  };
  const check = (): void => {
    if (lost) throw lost;
    if (released) throw new LeaseLostError(release, 'the lock was released');
    const decision = fenceDecision({ durationMs, confirmedAtMs }, clock.elapsedMs());
    if (!decision.write) throw lose(decision.why);
  };
  const renewed = (base: LeaseObject): LeaseObject => ({ ...base, spec: { ...base.spec, renewTime: micro(clock.now()) } });
  const renewOnce = async (): Promise<void> => {
    // Never renew a lease that may already be someone else's: past the window it stays lost.
    check();
    const sent = clock.elapsedMs();
    try {
      lease = await kube.replace<LeaseObject>(renewed(lease));
    } catch (error) {
      if (!(error instanceof KubeApiError) || (error.status !== 409 && error.status !== 404)) throw error;
      const observed = error.status === 404 ? undefined : await kube.get<LeaseObject>(ref);
      const taken = takenBy(observed?.spec, mine);
      if (taken || !observed) throw lose(taken ?? 'the lease was deleted');
      // Written by someone who did not take it (a label, an annotation, a lost answer of ours).
      lease = await kube.replace<LeaseObject>(renewed(observed));
    }
    confirmedAtMs = sent;
  };
  const renew = (): Promise<void> => {
    inflight ??= renewOnce().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  const periodMs = durationMs / 3;
  const schedule = (ms: number): void => {
    if (lost || released) return;
    timer = setTimeout(() => {
      renew().then(
        () => schedule(periodMs),
        (error: unknown) => {
          if (error instanceof LeaseLostError || released) return;
          options.onRenewError?.(error);
          schedule(Math.min(periodMs, RENEW_RETRY_MS));
        },
      );
    }, ms);
    timer.unref();
  };
  schedule(periodMs);

  return {
    holder,
    signal: controller.signal,
    check,
    async confirm() {
      try {
        await renew();
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        // The API server did not answer: the fence decides whether the writes go on.
        options.onRenewError?.(error);
      }
      check();
    },
    async release() {
      if (released) return;
      released = true;
      clearTimeout(timer);
      await inflight?.catch(() => undefined);
      try {
        // Compare-and-swap: a lease someone else wrote since (a new holder's) is left alone.
        await kube.delete(ref, { resourceVersion: lease.metadata.resourceVersion as string | undefined });
      } catch (error) {
        if (lost && error instanceof KubeApiError && error.status === 409) return;
        throw error;
      }
    },
    abandon() {
      released = true;
      clearTimeout(timer);
    },
  };
}
