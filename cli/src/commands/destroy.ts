import { CastleError } from '../errors.js';
import { type DestroyReport, destroyRelease } from '../engine/destroy.js';
import { type ReleaseOptions, contextFor } from './common.js';

/** `castle destroy` options. */
export interface DestroyOptions extends ReleaseOptions {
  /** Asked and answered by the entry point (a prompt on a terminal, or `--yes`). */
  readonly confirmed: boolean;
}

/** Delete the release: its objects, records and lock. @throws CastleError listing every failure. */
export async function destroy(options: DestroyOptions): Promise<DestroyReport> {
  if (!options.confirmed) throw new CastleError('CASTLE_ERR_NOT_CONFIRMED', 'destroy was not confirmed', 2, 'pass --yes to destroy without a prompt');
  const ctx = contextFor(options);
  const report = await destroyRelease(ctx);
  if (report.failures.length > 0) {
    throw Object.assign(new CastleError('CASTLE_ERR_DESTROY', `destroy left ${report.failures.length} failures:\n  ${report.failures.join('\n  ')}`, 1, 'run destroy again'), { report });
  }
  return report;
}
