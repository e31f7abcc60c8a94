import { CastleError } from '../errors.js';
import type { KubeObject } from '../kube/objects.js';
import type { ReleaseRecord } from '../release/record.js';
import type { VerdictOptions } from '../rollout/canary.js';
import { type Verdict, describeExcluded } from '../rollout/verdict.js';

/**
 * Take the verdict when the pod template changed, store it on the record, and fail the
 * revision on `fail` (or on `inconclusive` when the user chose so).
 * @returns a one-line summary for the step.
 */
export async function applyVerdict(
  record: ReleaseRecord,
  liveTemplate: unknown,
  applied: KubeObject | undefined,
  options: VerdictOptions,
  take: () => Promise<Verdict>,
): Promise<string> {
  if (JSON.stringify(liveTemplate) === JSON.stringify((applied?.spec as { template?: unknown } | undefined)?.template)) {
    return 'skipped: the pod template is unchanged';
  }
  const verdict = await take();
  record.verdict = { outcome: verdict.outcome, detail: verdict };
  const share = verdict.trafficShare === null ? 'n/a' : `${(verdict.trafficShare * 100).toFixed(0)}%`;
  const left = verdict.excluded.length > 0 ? `; left out: ${describeExcluded(verdict.excluded)}` : '';
  const summary = `${verdict.outcome}: ${verdict.reason}; new pods had ${share} of the traffic (${verdict.new.total} requests, ${verdict.new.errors} 5xx; old ${verdict.old.total}, ${verdict.old.errors})${left}`;
  if (verdict.outcome === 'fail' || (verdict.outcome === 'inconclusive' && options.onInconclusive === 'fail')) {
    throw new CastleError('CASTLE_ERR_VERDICT', `rollout verdict ${summary}`);
  }
  return summary;
}
