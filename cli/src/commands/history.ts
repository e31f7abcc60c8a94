import { type HistoryEntry, releaseHistory } from '../engine/inspect.js';
import { checkReachable } from '../engine/preflight.js';
import { type ReleaseOptions, contextFor } from './common.js';

/** `castle history` options. */
export type HistoryOptions = ReleaseOptions;

/** The release's revisions, newest first. */
export async function history(options: HistoryOptions): Promise<{ release: string; namespace: string; revisions: HistoryEntry[] }> {
  const ctx = contextFor(options);
  await checkReachable(ctx.kube, ctx.reporter);
  return { release: ctx.release, namespace: ctx.namespace, revisions: await releaseHistory(ctx) };
}
