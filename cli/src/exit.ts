import { RevisionFailedError } from './engine/revision.js';
import { CastleError, EXIT_CODES, InterruptedError, NOTHING_CHANGED_EXIT_CODES, signalOf } from './errors.js';
import { DEFAULT_LEASE_SECONDS } from './release/lock.js';

/**
 * The exit code of a failed command (the README's table): the signal's once one arrived, else
 * the error's — except that a revision that failed (and was rolled back, or not) for a cause
 * whose code promises nothing was changed (an API timeout: unreachable) exits 1, since its
 * revision was recorded; a conflict stays 6.
 */
export function exitCodeOf(error: unknown, signal?: AbortSignal): number {
  if (signal?.aborted) return signalOf(signal) === 'SIGTERM' ? EXIT_CODES.sigterm : EXIT_CODES.sigint;
  if (!(error instanceof CastleError)) return EXIT_CODES.failed;
  if (error instanceof RevisionFailedError && NOTHING_CHANGED_EXIT_CODES.has(error.exitCode)) return EXIT_CODES.failed;
  return error.exitCode;
}

/**
 * Commands that run a revision: a signal lets them stop cleanly (the revision marked failed,
 * the lock released). Every other command stops at once, saying what it leaves behind.
 */
const STOPS_CLEANLY = new Set(['deploy', 'rollback']);
const LEFT_BEHIND: Readonly<Record<string, string>> = {
  destroy: `destroy may have stopped part way, holding the release's lock until it expires (${DEFAULT_LEASE_SECONDS} s); then run it again to finish (it is idempotent)`,
};

/**
 * Run `command`'s work under `signal` (aborted by SIGINT/SIGTERM with the signal's name): a
 * deploy or rollback is told to stop and finishes its revision (a notice says so); any other
 * command is abandoned at once with an InterruptedError.
 */
export function interruptible<T>(command: string, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  return STOPS_CLEANLY.has(command) ? stoppingCleanly(work, signal) : untilInterrupted(Promise.resolve().then(work), signal, LEFT_BEHIND[command] ?? 'nothing was changed');
}

/** `work`, or an InterruptedError as soon as `signal` aborts (what `work` still does is abandoned). */
function untilInterrupted<T>(work: Promise<T>, signal: AbortSignal, hint: string): Promise<T> {
  work.catch(() => undefined);
  let onAbort = (): void => undefined;
  const interrupted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new InterruptedError(signalOf(signal), hint));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, interrupted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** `work`, with a notice on stderr when a signal asks it to stop: it finishes its revision first. */
async function stoppingCleanly<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw new InterruptedError(signalOf(signal), 'nothing was changed');
  const notice = (): void =>
    void process.stderr.write(`\n${signalOf(signal)}: stopping; the revision will be marked failed and the lock released (send it again to quit at once)\n`);
  signal.addEventListener('abort', notice, { once: true });
  try {
    return await work();
  } finally {
    signal.removeEventListener('abort', notice);
  }
}
