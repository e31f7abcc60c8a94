import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, CoreV1Api, type KubeConfig, V1MicroTime } from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig } from '../../support/cluster.js';
import { at, buildCli, castle, exists, manifests, snapshot, startCastle, waitForStderr } from './support.js';

const LEASE = 'castle-release-web';

/** Revision → status of the release's records. */
async function history(kc: KubeConfig, namespace: string): Promise<Record<string, string | undefined>> {
  const secrets = await kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace, labelSelector: 'owner=castle,name=web' });
  return Object.fromEntries(secrets.items.map((s) => [s.metadata?.labels?.revision ?? '?', s.metadata?.labels?.status]));
}

/**
 * Wait until the release's lease has expired by its own renew time and duration (the rule a
 * second deploy applies), reading it again in case a renewal sent just before the holder was
 * stopped landed meanwhile.
 */
async function leaseExpired(kc: KubeConfig, namespace: string): Promise<void> {
  const api = kc.makeApiClient(CoordinationV1Api);
  for (let seen: number | undefined; ; ) {
    const lease = await api.readNamespacedLease({ namespace, name: LEASE });
    const renewed = new Date(lease.spec?.renewTime ?? Date.now()).getTime();
    if (renewed === seen) return;
    seen = renewed;
    await sleep(Math.max(0, renewed + (lease.spec?.leaseDurationSeconds ?? 30) * 1000 - Date.now()) + 1000);
  }
}

describe('the lock fences every write on a real cluster', () => {
  let kc: KubeConfig;
  let namespace: string;
  /** Processes a test started, stopped or not: never left behind. */
  const started: ReturnType<typeof startCastle>[] = [];

  beforeAll(() => {
    buildCli();
    kc = loadKubeConfig();
  });

  afterEach(async () => {
    for (const run of started.splice(0)) {
      if (run.child.exitCode === null && run.child.signalCode === null) {
        run.child.kill('SIGCONT');
        run.child.kill('SIGKILL');
      }
    }
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('a deploy frozen past its lease while another took over exits non-zero when resumed, writing nothing: one succeeded revision, the cluster the second’s', async () => {
    namespace = await createTestNamespace('castle-cli-fence', kc);
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    // The first deploy's backend never turns ready (its readiness path answers 404): it waits in the watch.
    const first = startCastle(['deploy', ...at(namespace), '--version', '1.0.0', '--manifests', manifests({ backendReadyPath: '/nope', configMaps: ['first-only'] }), '--no-smoke', '--lease-seconds', '10', '--progress-deadline', '600']);
    started.push(first);
    await waitForStderr(first, /Waiting for 2 Deployments/);
    first.child.kill('SIGSTOP');
    await leaseExpired(kc, namespace);

    const second = await castle(['deploy', ...at(namespace), '--version', '2.0.0', '--manifests', manifests({ configMaps: ['second-only'] }), '--no-smoke']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(new RegExp(`taking over the lock of \\S+@\\S+ pid ${first.child.pid}: it expired at`));
    const after = await snapshot(kc, namespace);

    first.child.kill('SIGCONT');
    const resumed = await first.done;
    expect(resumed.code, resumed.stderr).toBe(1);
    expect(resumed.stderr).toMatch(/lost the lock of release web: .*stopped before the next write/);
    expect(resumed.stderr).not.toMatch(/rolling back/);

    expect(await snapshot(kc, namespace)).toEqual(after);
    expect(await history(kc, namespace)).toEqual({ '1': 'failed', '2': 'succeeded' });
    expect(await exists(kc, 'v1', 'ConfigMap', namespace, 'second-only')).toBe(true);
    expect(await exists(kc, 'v1', 'ConfigMap', namespace, 'first-only')).toBe(false);
    expect(await exists(kc, 'coordination.k8s.io/v1', 'Lease', namespace, LEASE)).toBe(false);
  });

  it('a deploy refused by the lock changes nothing, not even its Namespace’s labels', async () => {
    namespace = await createTestNamespace('castle-cli-refused', kc);
    const core = kc.makeApiClient(CoreV1Api);
    const now = new V1MicroTime();
    await kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
      namespace,
      body: { metadata: { name: LEASE }, spec: { holderIdentity: 'bob@ci pid 7', leaseDurationSeconds: 300, renewTime: now, acquireTime: now } },
    });
    const live = await core.readNamespace({ name: namespace });
    const withNamespace = manifests({ extra: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { ...live.metadata?.labels, 'castle.dev/refused': 'no' } } }] });
    const before = await snapshot(kc, namespace);

    const run = await castle(['deploy', ...at(namespace), '--version', '1.0.0', '--manifests', withNamespace, '--no-smoke']);

    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr).toMatch(/release web is locked by bob@ci pid 7 until/);
    const after = await core.readNamespace({ name: namespace });
    expect(after.metadata?.resourceVersion).toBe(live.metadata?.resourceVersion);
    expect(after.metadata?.labels).not.toHaveProperty('castle.dev/refused');
    expect(await snapshot(kc, namespace)).toEqual(before);
  });

  it('destroy is refused while a deploy holds the lock, naming it; --ignore-lock takes the lock, and that deploy stops without writing', async () => {
    namespace = await createTestNamespace('castle-cli-destroy-lock', kc);
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const slow = startCastle(['deploy', ...at(namespace), '--version', '1.0.0', '--manifests', manifests({ backendReadyPath: '/nope', configMaps: ['settings'] }), '--no-smoke', '--lease-seconds', '10', '--progress-deadline', '600']);
    started.push(slow);
    await waitForStderr(slow, /Waiting for 2 Deployments/);

    const refused = await castle(['destroy', ...at(namespace), '--yes']);
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toMatch(new RegExp(`release web is locked by \\S+@\\S+ pid ${slow.child.pid} until`));
    expect(refused.stderr).toMatch(/--ignore-lock/);
    expect(await exists(kc, 'v1', 'ConfigMap', namespace, 'settings')).toBe(true);
    expect(await history(kc, namespace)).toEqual({ '1': 'pending' });

    const forced = await castle(['destroy', ...at(namespace), '--yes', '--ignore-lock']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(new RegExp(`taking the lock from \\S+@\\S+ pid ${slow.child.pid}`));

    const stopped = await slow.done;
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stderr).toMatch(/lost the lock of release web/);
    const left = await snapshot(kc, namespace);
    expect(Object.keys(left).filter((k) => !k.startsWith('ConfigMap/kube-root-ca'))).toEqual([]);
  });
});
