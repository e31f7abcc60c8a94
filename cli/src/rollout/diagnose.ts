/** The container state fields failure detection reads. */
export interface ContainerState {
  readonly name: string;
  readonly restartCount: number;
  readonly waitingReason?: string;
  readonly waitingMessage?: string;
  readonly lastTerminatedReason?: string;
  readonly lastExitCode?: number;
}

/** A pod state that will not recover by waiting, or (`transient`) may, for a while. */
export interface FatalState {
  readonly container: string;
  readonly reason: string;
  readonly message?: string;
  /** Whether its logs say why (it ran and crashed). */
  readonly crashed: boolean;
  /**
   * A pull error from a registry that is unwell (timeouts, 5xx, rate limits): fatal only once
   * it has lasted {@link PULL_ERROR_TOLERANCE_MS}. Absent for everything fatal at once.
   */
  readonly transient?: true;
}

/** Waiting reasons of an image that could not be pulled; {@link classifyPullError} says whether waiting may help. */
export const PULL_ERROR_REASONS: readonly string[] = ['ErrImagePull', 'ImagePullBackOff', 'RegistryUnavailable'];

/** Waiting reasons that never resolve on their own (pull errors: unless transient). */
export const FATAL_WAITING_REASONS: readonly string[] = [...PULL_ERROR_REASONS, 'InvalidImageName', 'CreateContainerConfigError', 'ErrImageNeverPull'];

/**
 * How long a transient pull error may last before it fails the deploy: the kubelet retries a
 * pull after 10, 20 and 40 s, so this sees about four pulls.
 */
export const PULL_ERROR_TOLERANCE_MS = 90_000;

/** What a pull error says: the image is not there, access is refused, the registry is unwell, or it cannot tell. */
export type PullErrorKind = 'missing' | 'denied' | 'transient' | 'unknown';

const PULL_MISSING = /\bnot found\b|manifest unknown|name unknown|code = NotFound/i;
const PULL_DENIED = /\bdenied\b|unauthori[sz]ed|authentication required|insufficient_scope|\b40[13] (?:Unauthorized|Forbidden)\b/i;
const PULL_TRANSIENT =
  /timeout|timed out|deadline exceeded|connection reset|broken pipe|\bEOF\b|too ?many ?requests|\b5\d\d (?:Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out)\b|registry is unavailable|temporary failure in name resolution|server misbehaving/i;

/**
 * Classify an image pull error by the kubelet's message (since Kubernetes 1.31 an
 * ImagePullBackOff repeats the last pull's error). A missing tag or refused access fails
 * fast; timeouts, 5xx answers, resets and rate limits are transient. Anything else (a
 * refused connection, an unknown host, a bare back-off) cannot be told and fails fast, as
 * before.
 */
export function classifyPullError(message: string | undefined): PullErrorKind {
  const text = message ?? '';
  if (PULL_MISSING.test(text)) return 'missing';
  if (PULL_DENIED.test(text)) return 'denied';
  if (PULL_TRANSIENT.test(text)) return 'transient';
  return 'unknown';
}

/**
 * A CreateContainerConfigError the kubelet raises while its cache of the pod's ConfigMaps and
 * Secrets is still syncing (a pod created right after its ConfigMap, or a kubelet that just
 * restarted): it clears by itself, unlike a missing object or key.
 */
const TRANSIENT_CONFIG_ERROR = /failed to sync \w+ cache/i;

/** Default restarts before a crash loop counts as fatal. */
export const DEFAULT_CRASH_RESTARTS = 3;

/**
 * The first container of a pod in a state that will not recover: an image that cannot be
 * pulled (`transient` when the registry may recover), a bad image name or config, or a crash
 * loop past `crashRestarts` restarts.
 */
export function fatalState(containers: readonly ContainerState[], crashRestarts = DEFAULT_CRASH_RESTARTS): FatalState | undefined {
  for (const c of containers) {
    const syncing = c.waitingReason === 'CreateContainerConfigError' && TRANSIENT_CONFIG_ERROR.test(c.waitingMessage ?? '');
    if (c.waitingReason && FATAL_WAITING_REASONS.includes(c.waitingReason) && !syncing) {
      const fatal = { container: c.name, reason: c.waitingReason, message: c.waitingMessage, crashed: false };
      if (PULL_ERROR_REASONS.includes(c.waitingReason)) {
        const kind = classifyPullError(c.waitingMessage);
        if (kind === 'transient' || (kind === 'unknown' && c.waitingReason === 'RegistryUnavailable')) return { ...fatal, transient: true };
      }
      return fatal;
    }
    if (c.waitingReason === 'CrashLoopBackOff' && c.restartCount >= crashRestarts) {
      const last = c.lastTerminatedReason ? `; last exit: ${c.lastTerminatedReason}${c.lastExitCode === undefined ? '' : ` (${c.lastExitCode})`}` : '';
      return { container: c.name, reason: 'CrashLoopBackOff', message: `${c.restartCount} restarts${last}`, crashed: true };
    }
  }
  return undefined;
}

interface ContainerStatus {
  name: string;
  restartCount: number;
  state?: { waiting?: { reason?: string; message?: string } };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}

/** The part of a pod that failure detection reads. */
export interface PodLike {
  status?: { containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
}

/** The container states of a pod (init containers first). */
export function containerStates(pod: PodLike): ContainerState[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((s) => ({
    name: s.name,
    restartCount: s.restartCount,
    waitingReason: s.state?.waiting?.reason,
    waitingMessage: s.state?.waiting?.message,
    lastTerminatedReason: s.lastState?.terminated?.reason,
    lastExitCode: s.lastState?.terminated?.exitCode,
  }));
}
