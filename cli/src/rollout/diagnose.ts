/** The container state fields failure detection reads. */
export interface ContainerState {
  readonly name: string;
  readonly restartCount: number;
  readonly waitingReason?: string;
  readonly waitingMessage?: string;
  readonly lastTerminatedReason?: string;
  readonly lastExitCode?: number;
}

/** A pod state that will not recover by waiting. */
export interface FatalState {
  readonly container: string;
  readonly reason: string;
  readonly message?: string;
  /** Whether its logs say why (it ran and crashed). */
  readonly crashed: boolean;
}

/** Waiting reasons that never resolve on their own. */
export const FATAL_WAITING_REASONS: readonly string[] = ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError', 'ErrImageNeverPull'];

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
 * pulled, a bad image name or config, or a crash loop past `crashRestarts` restarts.
 */
export function fatalState(containers: readonly ContainerState[], crashRestarts = DEFAULT_CRASH_RESTARTS): FatalState | undefined {
  for (const c of containers) {
    const transient = c.waitingReason === 'CreateContainerConfigError' && TRANSIENT_CONFIG_ERROR.test(c.waitingMessage ?? '');
    if (c.waitingReason && FATAL_WAITING_REASONS.includes(c.waitingReason) && !transient) {
      return { container: c.name, reason: c.waitingReason, message: c.waitingMessage, crashed: false };
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
