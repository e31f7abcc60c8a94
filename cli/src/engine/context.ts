import { hostname, userInfo } from 'node:os';
import { InterruptedError } from '../errors.js';
import type { Kube } from '../kube/client.js';
import type { Reporter } from '../output/reporter.js';
import { LeaseLostError } from '../release/fence.js';
import type { HeldLock, LockClock } from '../release/lock.js';
import { ReleaseStore } from '../release/store.js';

/** What every engine operation works on. */
export interface ReleaseContext {
  readonly kube: Kube;
  readonly release: string;
  readonly namespace: string;
  readonly store: ReleaseStore;
  readonly reporter: Reporter;
  /** Aborted by SIGINT/SIGTERM (its reason is the signal name) or, under the lock, when the lock is lost (a {@link LeaseLostError}). */
  readonly signal?: AbortSignal;
  /** `user@host`. */
  readonly who: string;
  /** Under the lock: the held lock, which fences every write of `kube` and `store`. */
  readonly lock?: HeldLock;
  /** The lock's clocks; the system's unless a test injects its own. */
  readonly clock?: LockClock;
}

/** `user@host` of whoever runs the CLI. */
export function whoAmI(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers): keep $USER.
  }
  return `${user}@${hostname()}`;
}

/** Build the context of a release. */
export function releaseContext(kube: Kube, release: string, namespace: string, reporter: Reporter, signal?: AbortSignal): ReleaseContext {
  return { kube, release, namespace, reporter, signal, store: new ReleaseStore(kube, namespace, release), who: whoAmI() };
}

/** @throws InterruptedError when the context's signal fired; LeaseLostError when the lock was lost. */
export function checkInterrupted(ctx: ReleaseContext): void {
  if (!ctx.signal?.aborted) return;
  if (ctx.signal.reason instanceof LeaseLostError) throw ctx.signal.reason;
  throw new InterruptedError(ctx.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
}

/**
 * The lost lock behind a failure, or at the time of it: the error itself, or the lock's verdict
 * after renewing it (so a takeover is found too). Whatever failed, a deploy that lost its lock
 * may not mark its revision with a plain write, nor roll back.
 */
export async function lostLock(ctx: ReleaseContext, error: unknown): Promise<LeaseLostError | undefined> {
  if (error instanceof LeaseLostError) return error;
  try {
    await ctx.lock?.confirm();
    return undefined;
  } catch (lost) {
    if (lost instanceof LeaseLostError) return lost;
    throw lost;
  }
}
