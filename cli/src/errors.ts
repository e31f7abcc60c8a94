/**
 * The CLI's exit codes, in one table. `exit.ts` maps every error to one of these
 * ({@link CastleError.exitCode}, or the signal's once one arrived); the README repeats this table.
 */
export const EXIT_CODES = {
  /** Success; for `diff`: no changes. */
  ok: 0,
  /**
   * The command failed. A deploy or rollback that failed once its revision was recorded exits
   * 1 whatever the cause (an API timeout included) and whether or not it was rolled back,
   * unless a conflict (6), a failed rollback (7) or a signal (130/143) says more.
   */
  failed: 1,
  /** Bad input: flags, version, namespace, manifests. Nothing was changed. */
  usage: 2,
  /** `diff` only: there are changes. */
  changes: 3,
  /** The release is locked by another deploy. Nothing was changed. */
  locked: 4,
  /**
   * The Kubernetes API server cannot be reached (after retries), or it refused the
   * credentials: 401, or a 403 from RBAC naming the user. Nothing was changed.
   */
  unreachable: 5,
  /**
   * A field-manager conflict stopped the deploy (see `--force-conflicts`), rolled back or not;
   * or a cluster-scoped object it would apply belongs to another release (nothing was changed).
   */
  conflict: 6,
  /** The deploy failed and the rollback that followed failed too: the release needs a person. */
  rollbackFailed: 7,
  /**
   * The cluster lacks a prerequisite of the release (`castle doctor`; a deploy's preflight
   * stops on a kind not served or a permission not granted). Nothing was changed.
   */
  prerequisites: 8,
  /** Interrupted by SIGINT (128 + 2): a revision under way is marked failed and the lock released. */
  sigint: 130,
  /** Interrupted by SIGTERM (128 + 15), likewise. */
  sigterm: 143,
} as const;

/**
 * Exit codes that promise nothing was changed: once a revision is recorded they no longer
 * hold, and a revision that failed for such a cause exits {@link EXIT_CODES.failed} (exit.ts).
 */
export const NOTHING_CHANGED_EXIT_CODES: ReadonlySet<number> = new Set([EXIT_CODES.usage, EXIT_CODES.locked, EXIT_CODES.unreachable, EXIT_CODES.prerequisites]);

/** One of {@link EXIT_CODES}' values. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** Every error the CLI expects carries a stable code, an exit code and a hint saying what to do next. */
export class CastleError extends Error {
  override readonly name: string = 'CastleError';
  constructor(
    /** Stable identifier, e.g. `CASTLE_ERR_LOCKED`. */
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode = EXIT_CODES.failed,
    /** What the user can do next. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Bad input: nothing was changed. */
export class UsageError extends CastleError {
  override readonly name = 'UsageError';
  constructor(message: string, hint?: string) {
    super('CASTLE_ERR_USAGE', message, EXIT_CODES.usage, hint);
  }
}

/** The API server cannot be reached. */
export class UnreachableError extends CastleError {
  override readonly name = 'UnreachableError';
  constructor(message: string, hint?: string) {
    super('CASTLE_ERR_UNREACHABLE', message, EXIT_CODES.unreachable, hint);
  }
}

/** Another deploy holds the release's lease. */
export class LockedError extends CastleError {
  override readonly name = 'LockedError';
  constructor(
    readonly holder: string,
    readonly expiresAt: Date,
    release: string,
  ) {
    super(
      'CASTLE_ERR_LOCKED',
      `release ${release} is locked by ${holder} until ${expiresAt.toISOString()}`,
      EXIT_CODES.locked,
      'wait for that deploy to finish, or for the lock to expire if it was killed',
    );
  }
}

/** One field owned by another field manager. */
export interface FieldConflict {
  readonly manager: string;
  readonly field: string;
}

/** Server-side apply found fields owned by another manager. */
export class ConflictError extends CastleError {
  override readonly name = 'ConflictError';
  constructor(
    readonly object: string,
    readonly conflicts: readonly FieldConflict[],
  ) {
    super(
      'CASTLE_ERR_CONFLICT',
      `${object}: fields owned by another manager: ${conflicts.map((c) => `${c.field} (${c.manager})`).join(', ')}`,
      EXIT_CODES.conflict,
      'make the other manager let go of those fields, or take them with --force-conflicts',
    );
  }
}

/** A cluster-scoped object a release would apply, and the other release that owns it. */
export interface TakenObject {
  /** `Kind/name`. */
  readonly object: string;
  /** `release web in namespace shop`. */
  readonly owner: string;
}

/** Objects a release would apply belong to another release: refused before anything is written. */
export class OwnedElsewhereError extends CastleError {
  override readonly name = 'OwnedElsewhereError';
  constructor(
    readonly release: string,
    readonly namespace: string,
    readonly taken: readonly TakenObject[],
  ) {
    super(
      'CASTLE_ERR_OWNED_ELSEWHERE',
      `release ${release} in namespace ${namespace} would apply objects that belong to another release: ${taken.map((t) => `${t.object} (owned by castle ${t.owner})`).join(', ')}`,
      EXIT_CODES.conflict,
      'a cluster-scoped object belongs to exactly one release: leave it out of these manifests, or destroy that release (or drop the object from its manifests and deploy it) first',
    );
  }
}

/** The signal an aborted signal was aborted with (the entry point aborts with the signal's name). */
export function signalOf(signal: AbortSignal): 'SIGINT' | 'SIGTERM' {
  return signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
}

/** SIGINT or SIGTERM stopped a command. */
export class InterruptedError extends CastleError {
  override readonly name = 'InterruptedError';
  constructor(
    readonly signal: 'SIGINT' | 'SIGTERM',
    /** What the interruption left behind; by default a deploy's. */
    hint = 'the revision is marked failed and the lock released; deploy again when ready',
  ) {
    super('CASTLE_ERR_INTERRUPTED', `interrupted by ${signal}`, signal === 'SIGINT' ? EXIT_CODES.sigint : EXIT_CODES.sigterm, hint);
  }
}

/** A deploy failed and so did its rollback. */
export class RollbackFailedError extends CastleError {
  override readonly name = 'RollbackFailedError';
  constructor(
    readonly deployError: Error,
    readonly rollbackError: Error,
  ) {
    super(
      'CASTLE_ERR_ROLLBACK_FAILED',
      rollbackError instanceof InterruptedError
        ? `deploy failed: ${deployError.message}; its rollback was ${rollbackError.message}`
        : `deploy failed: ${deployError.message}; rollback failed too: ${rollbackError.message}`,
      EXIT_CODES.rollbackFailed,
      'inspect with "castle status" and "castle history", then deploy a known-good version',
    );
  }
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
