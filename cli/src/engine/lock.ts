import { messageOf } from '../errors.js';
import { acquireLock } from '../release/lock.js';
import type { ReleaseContext } from './context.js';

/** Run `work` holding the release's lease; the lease is released whatever happens. */
export async function withLock<T>(ctx: ReleaseContext, leaseSeconds: number, work: () => Promise<T>): Promise<T> {
  const step = ctx.reporter.step(`Locking release ${ctx.release}`);
  let lock;
  try {
    lock = await acquireLock(ctx.kube, ctx.namespace, ctx.release, `${ctx.who} pid ${process.pid}`, {
      durationSeconds: leaseSeconds,
      onTakeover: (holder, at) => ctx.reporter.warn(`taking over the lock of ${holder}: it expired at ${at.toISOString()}`),
      onRenewError: (error) => ctx.reporter.warn(`renewing the lock failed: ${messageOf(error)}`),
    });
  } catch (error) {
    step.fail(messageOf(error));
    throw error;
  }
  step.ok(`lease ${leaseSeconds} s`);
  try {
    return await work();
  } finally {
    await lock.release().catch((error: unknown) => ctx.reporter.warn(`releasing the lock failed: ${messageOf(error)}; it expires in ${leaseSeconds} s`));
  }
}
