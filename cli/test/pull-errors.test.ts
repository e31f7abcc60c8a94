import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FaultProxy, startFaultProxy } from '../../test/support/fault-proxy.js';
import { Kube } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/objects.js';
import { type ContainerState, type PullErrorKind, classifyPullError, fatalState } from '../src/rollout/diagnose.js';
import { RolloutError, watchRollout } from '../src/rollout/watch.js';
import { type FakeApi, fakeApi, kubeConfigFor } from './fake-api.js';

const IMAGE = 'registry.example.com/castle/www:1.4.2';
const pullFailed = (cause: string): string => `rpc error: code = Unknown desc = failed to pull and unpack image "${IMAGE}": failed to resolve reference "${IMAGE}": ${cause}`;

/** Image pull messages as kubelet and containerd word them (1.33: ImagePullBackOff carries the previous pull's error). */
const MESSAGES: [PullErrorKind, string][] = [
  ['missing', `rpc error: code = NotFound desc = failed to pull and unpack image "${IMAGE}": failed to resolve reference "${IMAGE}": ${IMAGE}: not found`],
  ['missing', `Back-off pulling image "${IMAGE}": ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image "${IMAGE}": ${IMAGE}: not found`],
  ['missing', 'Error response from daemon: manifest for castle/www:1.4.2 not found: manifest unknown: manifest unknown'],
  ['denied', pullFailed('pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed')],
  ['denied', pullFailed('failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://auth.example.com/token: 401 Unauthorized')],
  ['transient', pullFailed('failed to do request: Head "https://registry.example.com/v2/castle/www/manifests/1.4.2": net/http: TLS handshake timeout')],
  ['transient', pullFailed('unexpected status from HEAD request to https://registry.example.com/v2/castle/www/manifests/1.4.2: 503 Service Unavailable')],
  ['transient', pullFailed('unexpected status from GET request to https://registry.example.com/v2/castle/www/blobs/sha256:0a1b: 502 Bad Gateway')],
  ['transient', pullFailed('failed to do request: Head "https://registry.example.com/v2/": dial tcp 10.0.0.5:443: i/o timeout')],
  ['transient', pullFailed('read tcp 10.0.0.7:51234->10.0.0.5:443: read: connection reset by peer')],
  ['transient', pullFailed('failed to copy: httpReadSeeker: failed open: unexpected EOF')],
  ['transient', pullFailed('context deadline exceeded')],
  ['transient', 'toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading'],
  ['transient', `Back-off pulling image "${IMAGE}": ErrImagePull: ${pullFailed('net/http: TLS handshake timeout')}`],
  ['transient', `image pull failed for ${IMAGE} because the registry is unavailable: dial tcp 10.0.0.5:443: i/o timeout`],
  ['unknown', `Back-off pulling image "${IMAGE}"`],
  ['unknown', pullFailed('failed to do request: Head "http://127.0.0.1:9/v2/castle/www/manifests/1.4.2": dial tcp 127.0.0.1:9: connect: connection refused')],
  ['unknown', pullFailed('failed to do request: Head "https://registry.exmaple.com/v2/": dial tcp: lookup registry.exmaple.com: no such host')],
];

describe('image pull errors', () => {
  it.each(MESSAGES)('%s: %s', (kind, message) => {
    expect(classifyPullError(message)).toBe(kind);
  });

  const c = (s: Partial<ContainerState>): ContainerState => ({ name: 'www', restartCount: 0, ...s });
  it.each(MESSAGES)('a %s pull error is fatal at once unless transient: %s', (kind, message) => {
    for (const waitingReason of ['ErrImagePull', 'ImagePullBackOff']) {
      const fatal = { container: 'www', reason: waitingReason, message, crashed: false };
      expect(fatalState([c({ waitingReason, waitingMessage: message })])).toEqual(kind === 'transient' ? { ...fatal, transient: true } : fatal);
    }
  });

  it('RegistryUnavailable is transient whatever its message says', () => {
    expect(fatalState([c({ waitingReason: 'RegistryUnavailable', waitingMessage: 'image pull failed' })])).toMatchObject({ reason: 'RegistryUnavailable', transient: true });
  });
});

describe('the rollout watch and image pull errors', () => {
  let api: FakeApi;
  let proxy: FaultProxy;
  const ns = '/api/v1/namespaces/castle';

  /** A Deployment waiting for its one pod, whose container cannot pull its image with `message`. */
  const seed = (message: string): void => {
    api.put('/apis/apps/v1/namespaces/castle/deployments/www', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'www', namespace: 'castle', uid: 'd-uid', generation: 1, annotations: { 'deployment.kubernetes.io/revision': '1' } },
      spec: { replicas: 1, selector: { matchLabels: { app: 'www' } } },
      status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 0, availableReplicas: 0 },
    });
    api.put('/apis/apps/v1/namespaces/castle/replicasets/www-abc', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'www-abc', namespace: 'castle', labels: { app: 'www', 'pod-template-hash': 'abc' }, annotations: { 'deployment.kubernetes.io/revision': '1' }, ownerReferences: [{ uid: 'd-uid' }] },
      status: { replicas: 1 },
    });
    api.put(`${ns}/pods/www-abc-1`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'www-abc-1', namespace: 'castle', labels: { app: 'www', 'pod-template-hash': 'abc' } },
      status: { containerStatuses: [{ name: 'www', restartCount: 0, state: { waiting: { reason: 'ErrImagePull', message } } }] },
    });
  };

  beforeEach(async () => {
    api = fakeApi();
    proxy = await startFaultProxy(api.handler);
  });
  afterEach(() => proxy.close());

  const watch = (options: { deadlineMs: number; pullToleranceMs: number }, progress: string[] = []): Promise<void> =>
    watchRollout(new Kube(kubeConfigFor(proxy.url)), 'castle', ['www'], { ...options, pollMs: 5, onProgress: (_, line, waitingFor) => progress.push(`${line} ${waitingFor ?? ''}`) });

  it('fails at once on a missing tag, naming it, however long transient errors are tolerated', async () => {
    seed(MESSAGES[0]?.[1] ?? '');
    const error = await watch({ deadlineMs: 60_000, pullToleranceMs: 60_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutError);
    expect(error).toMatchObject({ timedOut: false, message: expect.stringContaining(`Deployment/www pod www-abc-1: ErrImagePull (${MESSAGES[0]?.[1]}`) });
  });

  it('tolerates a registry timeout while it lasts less than the tolerance, and says so', async () => {
    seed(pullFailed('net/http: TLS handshake timeout'));
    const progress: string[] = [];
    const error = await watch({ deadlineMs: 200, pullToleranceMs: 60_000 }, progress).catch((e: unknown) => e);
    // Only the deadline ends it: the pull error did not fail the rollout.
    expect(error).toMatchObject({ timedOut: true, message: expect.stringMatching(/^rollout did not finish before the progress deadline: Deployment\/www pod www-abc-1: ErrImagePull/) });
    expect(progress.join('\n')).toMatch(/pod www-abc-1: ErrImagePull \(.*TLS handshake timeout\); waiting up to 60 s for it to clear/);
  });

  it('fails on a registry timeout once it has persisted for the tolerance, saying for how long', async () => {
    seed(pullFailed('net/http: TLS handshake timeout'));
    const error = await watch({ deadlineMs: 60_000, pullToleranceMs: 50 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ timedOut: false, message: expect.stringMatching(/ErrImagePull \(.*TLS handshake timeout; persisted \d+(\.\d+)? s, longer than the 0\.05 s a registry is given to recover\)/) });
    expect(proxy.count({ method: 'GET', path: /\/pods$/ })).toBeGreaterThan(1);
  });

  it('finishes the rollout when a registry timeout clears', async () => {
    seed(pullFailed('503 Service Unavailable'));
    let podLists = 0;
    proxy.events.on('call', (call) => {
      if (!call.path.endsWith('/pods') || ++podLists !== 2) return;
      // The kubelet's next pull works: the pod runs and the Deployment is ready.
      api.put(`${ns}/pods/www-abc-1`, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'www-abc-1', namespace: 'castle', labels: { 'pod-template-hash': 'abc' } }, status: { containerStatuses: [{ name: 'www', restartCount: 0, state: { running: {} } }] } });
      const d = api.objects.get('/apis/apps/v1/namespaces/castle/deployments/www') as KubeObject & { status: Record<string, number> };
      api.put('/apis/apps/v1/namespaces/castle/deployments/www', { ...d, status: { ...d.status, readyReplicas: 1, availableReplicas: 1 } });
    });
    await expect(watch({ deadlineMs: 60_000, pullToleranceMs: 60_000 })).resolves.toBeUndefined();
  });
});
