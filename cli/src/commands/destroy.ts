import { CastleError, LockedError } from '../errors.js';
import { type DestroyReport, destroyRelease } from '../engine/destroy.js';
import { type ReleaseOptions, contextFor } from './common.js';

/** `castle destroy` options. */
export interface DestroyOptions extends ReleaseOptions {
  /** Asked and answered by the entry point (a prompt on a terminal, or `--yes`). */
  readonly confirmed: boolean;
  /** `--ignore-lock`: destroy even while a deploy holds the release's lock, taking it from that deploy. */
  readonly ignoreLock?: boolean;
}

/**
 * Delete the release: its objects, records and lock, holding the lock.
 * @throws LockedError (exit 4) while a deploy holds the lock, unless `ignoreLock`; CastleError listing every failure.
 */
export async function destroy(options: DestroyOptions): Promise<DestroyReport> {
  if (!options.confirmed) throw new CastleError('CASTLE_ERR_NOT_CONFIRMED', 'destroy was not confirmed', 2, 'pass --yes to destroy without a prompt');
  const ctx = contextFor(options);
  let report: DestroyReport;
  try {
    report = await destroyRelease(ctx, { ignoreLock: options.ignoreLock === true });
  } catch (error) {
    if (error instanceof LockedError) {
      throw new CastleError(error.code, error.message, error.exitCode, 'wait for that deploy to finish, or pass --ignore-lock to destroy anyway (that deploy then stops before its next write)');
    }
    throw error;
  }
  if (report.failures.length > 0) {
    throw Object.assign(new CastleError('CASTLE_ERR_DESTROY', `destroy left ${report.failures.length} failures:\n  ${report.failures.join('\n  ')}`, 1, 'run destroy again'), { report });
  }
  return report;
}
