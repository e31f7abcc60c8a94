import { messageOf } from '../errors.js';
import { fencedKube } from '../release/fence.js';
import { type HeldLock, acquireLock } from '../release/lock.js';
import { ReleaseStore } from '../release/store.js';
import type { ReleaseContext } from './context.js';

/** Options of {@link withLock}. */
export interface WithLockOptions {
  /** Take the lock even from a live holder (destroy --ignore-lock). */
  readonly force?: boolean;
}

/**
 * Run `work` holding the release's lease; the lease is released whatever happens. `work` gets
 * the locked context: its `kube` and `store` write only while the lock holds (every write is
 * fenced), and its `signal` also aborts when the lock is lost.
 */
export async function withLock<T>(ctx: ReleaseContext, leaseSeconds: number, work: (locked: ReleaseContext) => Promise<T>, options: WithLockOptions = {}): Promise<T> {
  const step = ctx.reporter.step(`Locking release ${ctx.release}`);
  let lock: HeldLock;
  try {
    lock = await acquireLock(ctx.kube, ctx.namespace, ctx.release, `${ctx.who} pid ${process.pid}`, {
      durationSeconds: leaseSeconds,
      clock: ctx.clock,
      force: options.force,
      onTakeover: (holder, at, live) =>
        ctx.reporter.warn(
          live
            ? `taking the lock from ${holder}, live until ${at.toISOString()}: that deploy stops at its next renewal`
            : `taking over the lock of ${holder}: it expired at ${at.toISOString()}`,
        ),
      onRenewError: (error) => ctx.reporter.warn(`renewing the lock failed: ${messageOf(error)}; retrying (writes stop if no renewal succeeds within ${Math.round((leaseSeconds * 2) / 3)} s of the last)`),
    });
  } catch (error) {
    step.fail(messageOf(error));
    throw error;
  }
  step.ok(`lease ${leaseSeconds} s`);
  const kube = fencedKube(ctx.kube, () => lock.check());
  const locked: ReleaseContext = {
    ...ctx,
    kube,
    store: new ReleaseStore(kube, ctx.namespace, ctx.release, ctx.kube),
    lock,
    signal: ctx.signal ? AbortSignal.any([ctx.signal, lock.signal]) : lock.signal,
  };
  try {
    return await work(locked);
  } finally {
    await lock.release().catch((error: unknown) => ctx.reporter.warn(`releasing the lock failed: ${messageOf(error)}; it expires in ${leaseSeconds} s`));
  }
}
