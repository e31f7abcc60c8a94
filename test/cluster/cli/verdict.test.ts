import { AppsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { closeServiceUrls, createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig, serviceUrl } from '../../support/cluster.js';
import { at, buildCli, castle, manifests, oneJson, startCastle, waitForStderr } from './support.js';

// The services serve /metrics on their management port 9090 (CASTLE_TEST_METRICS_PORT=8080 for images from before that move).
const verdictFlags = ['--verdict-window', '15', '--verdict-port', process.env.CASTLE_TEST_METRICS_PORT ?? '9090', '--verdict-deployment', 'www'];

describe('the rollout verdict on a real cluster', () => {
  let kc: KubeConfig;
  let namespace: string;

  beforeAll(async () => {
    buildCli();
    kc = loadKubeConfig();
    namespace = await createTestNamespace('castle-cli-verdict', kc);
    const first = await castle(['deploy', ...at(namespace), '--version', '1.0.0', '--manifests', manifests({ wwwReplicas: 2 }), '--no-smoke']);
    if (first.code !== 0) throw new Error(first.stderr);
  });

  afterAll(async () => {
    await closeServiceUrls();
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('without enough requests is inconclusive, fails the deploy when told to, scales the new ReplicaSet to 0, and stores the verdict', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const next = manifests({ wwwReplicas: 2, wwwEnv: { WWW_MARK: 'v2' } });
    const run = await castle(['deploy', ...at(namespace), '--version', '1.1.0', '--manifests', next, '--no-smoke', ...verdictFlags, '--verdict-min-requests', '1000000', '--verdict-inconclusive', 'fail']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/rollout verdict inconclusive: .*fewer than the minimum of 1000000/);
    const sets = await kc.makeApiClient(AppsV1Api).listNamespacedReplicaSet({ namespace, labelSelector: 'app.kubernetes.io/name=www' });
    const withPods = sets.items.filter((rs) => (rs.spec?.replicas ?? 0) > 0);
    expect(withPods).toHaveLength(1);
    expect(JSON.stringify(withPods[0]?.spec?.template?.spec?.containers?.[0]?.env)).not.toContain('WWW_MARK');
    const history = oneJson((await castle(['history', ...at(namespace), '--output', 'json', '--quiet'])).stdout).result as { revisions: { revision: number; status: string; verdict?: { outcome: string } }[] };
    expect(history.revisions.find((r) => r.revision === 2)).toMatchObject({ status: 'failed', verdict: { outcome: 'inconclusive' } });
  });

  it('passes with traffic on both groups, prints the real traffic share, and finishes the rollout', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const www = await serviceUrl(namespace, 'www', 80, kc);
    const next = manifests({ wwwReplicas: 2, wwwEnv: { WWW_MARK: 'v3' } });
    const deploy = startCastle(['deploy', ...at(namespace), '--version', '1.2.0', '--manifests', next, '--no-smoke', ...verdictFlags, '--verdict-min-requests', '5']);
    await waitForStderr(deploy, /window of 15 s over 1 new and 2 old pods/);
    // Traffic through www's Service until the deploy ends; kube-proxy spreads it over the ready pods, new and old.
    const until = Date.now() + 150_000;
    while (deploy.child.exitCode === null && Date.now() < until) {
      await request(`${www}/`, { headers: { connection: 'close' }, headersTimeout: 2_000, bodyTimeout: 2_000 }).then((r) => r.body.dump()).catch(() => undefined);
    }
    const run = await deploy.done;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/✓ Verdict on Deployment\/www: new pods against old \(pass: .*new pods had \d+% of the traffic/);
    const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'www', namespace });
    expect(d.spec?.minReadySeconds ?? 0).toBe(0);
    expect(d.spec?.progressDeadlineSeconds).toBe(600);
    expect(d.status?.updatedReplicas).toBe(2);
  });
});
