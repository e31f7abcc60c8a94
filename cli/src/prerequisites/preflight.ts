import { CastleError, EXIT_CODES, messageOf } from '../errors.js';
import type { Kube } from '../kube/client.js';
import type { Reporter } from '../output/reporter.js';
import { checkPrerequisites } from './check.js';
import type { CheckName, Prerequisite, PrerequisiteDeps, PrerequisiteInput } from './types.js';

/** What a deploy stops on: what would make it fail part way (an unknown kind, a refused write). */
export const BLOCKING_CHECKS: ReadonlySet<CheckName> = new Set(['kinds', 'permissions']);

/** The cluster lacks what the release needs; nothing was changed. */
export class PrerequisitesError extends CastleError {
  override readonly name = 'PrerequisitesError';
  /** Every prerequisite checked (`--output json`'s `result`). */
  readonly report: { readonly prerequisites: readonly Prerequisite[] };
  constructor(prerequisites: readonly Prerequisite[], blocking: readonly Prerequisite[], env: string | undefined) {
    super(
      'CASTLE_ERR_PREREQUISITES',
      `the cluster lacks what the release needs; nothing was changed:\n${blocking.map((p) => `  ${p.check}: ${p.what}: ${p.detail}${p.fix ? `\n    fix: ${p.fix}` : ''}`).join('\n')}`,
      EXIT_CODES.prerequisites,
      `castle doctor${env ? ` --env ${env}` : ''} lists every prerequisite with what provides it`,
    );
    this.report = { prerequisites };
  }
}

/**
 * A deploy's preflight, before its first write: the prerequisites of `deploy`. Stops (exit 8)
 * on a kind the cluster does not serve or a permission the user lacks; warns about the rest
 * (images, load balancer, metrics label, and checks it cannot make), which leave the apply
 * working — the rollout names a missing image.
 * @throws PrerequisitesError
 */
export async function preflight(kube: Kube, input: Omit<PrerequisiteInput, 'command'>, reporter: Reporter, deps: PrerequisiteDeps = {}): Promise<readonly Prerequisite[]> {
  const step = reporter.step(`Checking prerequisites (context ${kube.context})`);
  let found: Prerequisite[];
  try {
    found = await checkPrerequisites(kube, { ...input, command: 'deploy' }, deps);
  } catch (error) {
    step.fail(messageOf(error));
    throw error;
  }
  const blocking = found.filter((p) => p.status === 'missing' && BLOCKING_CHECKS.has(p.check));
  if (blocking.length > 0) {
    step.fail(blocking.map((p) => `${p.check}: ${p.what}: ${p.status}`).join('\n'));
    throw new PrerequisitesError(found, blocking, input.env);
  }
  const notOk = found.filter((p) => p.status !== 'ok');
  step.ok(`${found.length - notOk.length} of ${found.length} present`);
  for (const p of notOk) reporter.warn(`${p.check}: ${p.what}: ${p.status === 'missing' ? 'missing' : 'cannot tell'} — ${p.detail}${p.fix ? ` (${p.fix})` : ''}`);
  return found;
}
