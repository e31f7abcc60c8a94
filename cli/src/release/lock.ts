import { LockedError } from '../errors.js';
import type { Kube } from '../kube/client.js';
import { KubeApiError } from '../kube/http.js';
import type { KubeObject } from '../kube/objects.js';

/** Default lease duration: a killed deploy blocks the release at most this long. */
export const DEFAULT_LEASE_SECONDS = 30;

interface LeaseObject extends KubeObject {
  spec?: { holderIdentity?: string | null; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
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

/** What {@link acquireLock} reports. */
export interface LockEvents {
  /** An expired lease of another holder was taken over. */
  readonly onTakeover?: (previousHolder: string, expiredAt: Date) => void;
  /** Renewing failed (the deploy goes on; the lease may expire). */
  readonly onRenewError?: (error: unknown) => void;
}

/** A held lock: renewed in the background until released. */
export interface HeldLock {
  readonly holder: string;
  release(): Promise<void>;
}

const micro = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

/**
 * Take the release's Lease (coordination.k8s.io/v1) for `holder`, renewing it every third of
 * its duration until released.
 * @throws LockedError naming the holder and expiry when another live holder has it.
 */
export async function acquireLock(
  kube: Kube,
  namespace: string,
  release: string,
  holder: string,
  { durationSeconds = DEFAULT_LEASE_SECONDS, now = () => new Date(), ...events }: LockEvents & { durationSeconds?: number; now?: () => Date } = {},
): Promise<HeldLock> {
  const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name: leaseName(release) };
  const spec = (): LeaseObject['spec'] => ({ holderIdentity: holder, leaseDurationSeconds: durationSeconds, acquireTime: micro(now()), renewTime: micro(now()) });
  let lease: LeaseObject;
  const existing = await kube.get<LeaseObject>(ref);
  try {
    if (!existing) {
      lease = await kube.create<LeaseObject>({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace, labels: { owner: 'castle', name: release } }, spec: spec() });
    } else {
      const expiry = leaseExpiry(existing);
      const other = existing.spec?.holderIdentity;
      if (other && expiry && expiry > now()) throw new LockedError(other, expiry, release);
      if (other && expiry) events.onTakeover?.(other, expiry);
      lease = await kube.replace<LeaseObject>({ ...existing, spec: spec() });
    }
  } catch (error) {
    // Someone else created or renewed the lease between our read and write.
    if (error instanceof KubeApiError && error.status === 409) {
      const now2 = await kube.get<LeaseObject>(ref);
      throw new LockedError(now2?.spec?.holderIdentity ?? 'another deploy', (now2 && leaseExpiry(now2)) ?? now(), release);
    }
    throw error;
  }
  let stopped = false;
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = (async () => {
      if (stopped) return;
      try {
        lease = await kube.replace<LeaseObject>({ ...lease, spec: { ...lease.spec, renewTime: micro(now()) } });
      } catch (error) {
        events.onRenewError?.(error);
      }
    })();
  }, (durationSeconds * 1000) / 3);
  timer.unref();
  return {
    holder,
    async release() {
      stopped = true;
      clearInterval(timer);
      await renewing;
      await kube.delete(ref, { resourceVersion: (lease.metadata as { resourceVersion?: string }).resourceVersion });
    },
  };
}

/** Delete the release's Lease whoever holds it (destroy). @returns false when there was none. */
export async function deleteLock(kube: Kube, namespace: string, release: string): Promise<boolean> {
  return kube.delete({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name: leaseName(release) });
}
