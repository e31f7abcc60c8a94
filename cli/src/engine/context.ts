import { hostname, userInfo } from 'node:os';
import { InterruptedError } from '../errors.js';
import type { Kube } from '../kube/client.js';
import type { Reporter } from '../output/reporter.js';
import { ReleaseStore } from '../release/store.js';

/** What every engine operation works on. */
export interface ReleaseContext {
  readonly kube: Kube;
  readonly release: string;
  readonly namespace: string;
  readonly store: ReleaseStore;
  readonly reporter: Reporter;
  /** Aborted by SIGINT/SIGTERM; its reason is the signal name. */
  readonly signal?: AbortSignal;
  /** `user@host`. */
  readonly who: string;
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

/** @throws InterruptedError when the context's signal fired. */
export function checkInterrupted(ctx: ReleaseContext): void {
  if (ctx.signal?.aborted) throw new InterruptedError(ctx.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
}
