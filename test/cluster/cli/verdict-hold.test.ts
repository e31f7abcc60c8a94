/**
 * The verdict's hold never outlives its deploy: a deploy interrupted in the verdict window, and
 * one whose verdict fails with --no-rollback-on-failure, leave www with the manifests' own
 * minReadySeconds, paused, and the controller does not finish rolling out the failed version.
 * No traffic is needed (the first is interrupted, the second is inconclusive by its minimum).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { AppsV1Api, type KubeConfig, type V1Deployment, type V1ReplicaSet } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig } from '../../support/cluster.js';
import { at, buildCli, castle, manifests, oneJson, startCastle, waitForStderr } from './support.js';

/** www's own minReadySeconds in these manifests: what a deploy that held it must give back. */
const OWN_MIN_READY_SECONDS = 3;
const HOLD_ANNOTATION = 'castle.dev/verdict-hold';
// The hold is the same whatever the counters' source; the pod proxy needs no monitoring add-on.
const verdictFlags = (window: number): string[] => ['--verdict-window', String(window), '--verdict-deployment', 'www', '--verdict-source', 'pod-proxy', '--verdict-port', process.env.CASTLE_TEST_METRICS_PORT ?? '9090'];

/** Two www replicas marked `mark`, with www's own minReadySeconds, as a YAML file. */
function release(mark: string): string {
  const file = manifests({ wwwReplicas: 2, wwwEnv: { WWW_MARK: mark } });
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> });
  for (const d of docs) if (d.kind === 'Deployment' && d.metadata.name === 'www') d.spec.minReadySeconds = OWN_MIN_READY_SECONDS;
  writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'));
  return file;
}

describe('the verdict’s hold on a real cluster, when the deploy that set it does not finish', () => {
  let kc: KubeConfig;
  let namespace: string;
  /** How long the first rollout took: a rollout that was going to finish would within it. */
  let rolloutMs = 0;

  const www = async (): Promise<V1Deployment> => kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'www', namespace });
  const replicaSets = async (): Promise<V1ReplicaSet[]> => (await kc.makeApiClient(AppsV1Api).listNamespacedReplicaSet({ namespace, labelSelector: 'app.kubernetes.io/name=www' })).items;
  const marked = (rs: V1ReplicaSet, mark: string): boolean => (rs.spec?.template?.spec?.containers?.[0]?.env ?? []).some((e) => e.name === 'WWW_MARK' && e.value === mark);
  const latestRevision = async (): Promise<{ revision: number; status: string; reason?: string }> => {
    const history = oneJson((await castle(['history', ...at(namespace), '--output', 'json', '--quiet'])).stdout).result as { revisions: { revision: number; status: string; reason?: string }[] };
    return history.revisions[0] as { revision: number; status: string; reason?: string };
  };

  /** www as the failed revision left it: its own minReadySeconds and strategy, paused, one new pod beside the two old ones, for as long as a rollout takes. */
  async function expectPausedAndGoingNowhere(mark: string, revision: number): Promise<void> {
    const d = await www();
    expect(d.spec?.minReadySeconds).toBe(OWN_MIN_READY_SECONDS);
    expect(d.spec?.progressDeadlineSeconds, 'the API server’s default, the hold’s dropped').toBe(600);
    expect(d.spec?.strategy?.rollingUpdate).toEqual({ maxSurge: '25%', maxUnavailable: '25%' });
    expect(d.spec?.paused).toBe(true);
    expect(d.metadata?.annotations?.[HOLD_ANNOTATION]).toBe(String(revision));
    const until = Date.now() + Math.max(15_000, rolloutMs);
    while (Date.now() < until) {
      const sets = await replicaSets();
      const failed = sets.filter((rs) => marked(rs, mark));
      expect(failed.reduce((n, rs) => n + (rs.spec?.replicas ?? 0), 0), 'the failed version was scaled up').toBeLessThanOrEqual(1);
      expect(sets.filter((rs) => !marked(rs, mark)).reduce((n, rs) => n + (rs.status?.readyReplicas ?? 0), 0), 'old pods were taken down').toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const status = oneJson((await castle(['status', ...at(namespace), '--output', 'json', '--quiet'])).stdout).result as { deployments: { name: string; hold?: unknown }[] };
    expect(status.deployments.find((x) => x.name === 'www')?.hold).toEqual({ revision, state: 'paused', revisionStatus: 'failed' });
  }

  beforeAll(async () => {
    buildCli();
    kc = loadKubeConfig();
    namespace = await createTestNamespace('castle-cli-hold', kc);
    const first = await castle(['deploy', ...at(namespace), '--version', '1.0.0', '--manifests', release('v1'), '--no-smoke']);
    if (first.code !== 0) throw new Error(first.stderr);
    rolloutMs = first.ms;
  });

  afterAll(async () => {
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('interrupted in the verdict window: exits 130, www has its own minReadySeconds back, paused, and the failed version does not roll out; a rollback resumes it', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const deploy = startCastle(['deploy', ...at(namespace), '--version', '1.1.0', '--manifests', release('v2'), '--no-smoke', ...verdictFlags(120)]);
    await waitForStderr(deploy, /window of 120 s over 1 new and 2 old pods/);
    const held = await www();
    // The API server took the hold: minReadySeconds under a progress deadline the controller reads as none.
    expect(held.spec).toMatchObject({ minReadySeconds: 2 ** 31 - 2, progressDeadlineSeconds: 2 ** 31 - 1 });
    deploy.child.kill('SIGINT');
    const run = await deploy.done;

    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr).toMatch(/Deployment\/www paused: minReadySeconds and strategy back to the manifests’ \(3 s\)/);
    const revision = await latestRevision();
    expect(revision).toMatchObject({ status: 'failed', reason: expect.stringMatching(/Deployment\/www paused/) });
    await expectPausedAndGoingNowhere('v2', revision.revision);

    const back = await castle(['rollback', ...at(namespace), '--no-smoke']);
    expect(back.code, back.stderr).toBe(0);
    const d = await www();
    expect(d.spec?.paused ?? false).toBe(false);
    expect(d.metadata?.annotations?.[HOLD_ANNOTATION]).toBeUndefined();
    expect(d.status?.updatedReplicas).toBe(2);
    expect((await replicaSets()).filter((rs) => marked(rs, 'v2')).every((rs) => (rs.spec?.replicas ?? 0) === 0)).toBe(true);
  });

  it('failing its verdict with --no-rollback-on-failure: exits 1, www paused with its own minReadySeconds, the failed version does not roll out; the next deploy resumes it', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const run = await castle(['deploy', ...at(namespace), '--version', '1.2.0', '--manifests', release('v3'), '--no-smoke', '--no-rollback-on-failure', ...verdictFlags(10), '--verdict-min-requests', '1000000', '--verdict-inconclusive', 'fail']);

    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/rollout verdict inconclusive: .*fewer than the minimum of 1000000/);
    expect(run.stderr).toMatch(/Deployment\/www paused: minReadySeconds and strategy back to the manifests’ \(3 s\)/);
    const revision = await latestRevision();
    expect(revision.status).toBe('failed');
    await expectPausedAndGoingNowhere('v3', revision.revision);

    const next = await castle(['deploy', ...at(namespace), '--version', '1.3.0', '--manifests', release('v4'), '--no-smoke']);
    expect(next.code, next.stderr).toBe(0);
    const d = await www();
    expect(d.spec?.paused ?? false).toBe(false);
    expect(d.spec?.minReadySeconds).toBe(OWN_MIN_READY_SECONDS);
    expect(d.metadata?.annotations?.[HOLD_ANNOTATION]).toBeUndefined();
    expect((await replicaSets()).filter((rs) => marked(rs, 'v4')).map((rs) => rs.status?.readyReplicas)).toEqual([2]);
  });
});
