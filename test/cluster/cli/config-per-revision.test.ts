/**
 * A revision's configuration is its own, on a real cluster under a steady 50 requests/s: while
 * a revision whose www configuration the service refuses is stuck rolling out (its new pod
 * crash-loops), old www pods deleted gracefully come back from the old ReplicaSet on the old
 * revision's ConfigMap, serve, and no request fails at the client; the failed revision is
 * rolled back and the old ConfigMap is still there.
 *
 * Castle's `local` environment as rendered (www behind its LoadBalancer, backend), deployed
 * with `castle deploy --manifests` into a fresh namespace. Needs MetalLB (`npm run cluster:up`)
 * and the monitoring add-on's CRDs (the rendered ServiceMonitors and PrometheusRule). Timing
 * under load: it runs alone (vitest.config.ts, clusterUnderLoad).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { configMapName, render, toYaml, type KubernetesObject } from '@castle/k8s';
import { loadWwwConfig } from '@castle/www/config';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadBalancerUrl, loadKubeConfig } from '../../support/cluster.js';
import { describeLoad, type SteadyLoad, startSteadyLoad } from '../../support/steady-load.js';
import { imageFor } from '../../support/tier-manifests.js';
import { eventually } from './replicas-support.js';
import { at, buildCli, castle, oneJson, startCastle, waitForStderr } from './support.js';

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
const RPS = 50;
/** Above the schema's 60 s maximum: www refuses to start with it (checked below, before the cluster sees it). */
const BAD_MAX_WAIT_MS = '90000';
/** Old www pods deleted while the bad revision is stuck. */
const DELETED = 3;
/**
 * Long enough to act while the rollout is stuck, and the only thing that ends it: the crash
 * loop would otherwise fail the deploy after 3 restarts (about 70 s in, by the kubelet's
 * back-off), perhaps before the deleted pods are back.
 */
const PROGRESS_DEADLINE_S = 150;

type Data = Record<string, string>;
type Container = { name: string; image: string; envFrom?: { configMapRef?: { name: string } }[] };
type Workload = KubernetesObject & { spec: { replicas?: number; template: { spec: { containers: Container[] } } } };

/** `local` rendered into `namespace` with the loaded images, www's configuration changed by `wwwConfig`; the file, www's ConfigMap and replicas. */
function renderedLocal(namespace: string, wwwConfig: (data: Data) => Data = (d) => d): { file: string; configMap: string; data: Data; replicas: number } {
  const objects = render({ env: 'local', version, namespace }).map((o) => structuredClone(o));
  const www = objects.find((o): o is Workload => o.kind === 'Deployment' && o.metadata.name === 'www');
  const container = www?.spec.template.spec.containers.find((c) => c.name === 'www');
  const ref = container?.envFrom?.find((e) => e.configMapRef)?.configMapRef;
  const replicas = www?.spec.replicas;
  const at = objects.findIndex((o) => o.kind === 'ConfigMap' && o.metadata.name === ref?.name);
  const cm = objects[at] as (KubernetesObject & { data: Data }) | undefined;
  if (replicas === undefined) throw new Error('rendered local: www has no fixed replica count');
  if (!ref || !cm) throw new Error(`rendered local: www's Deployment reads no rendered ConfigMap (envFrom ${JSON.stringify(container?.envFrom)})`);
  // The name follows the content: changed data is a new ConfigMap, and a new pod template.
  const data = wwwConfig(cm.data);
  const name = configMapName('www', data);
  objects[at] = { ...cm, metadata: { ...cm.metadata, name }, data };
  ref.name = name;
  for (const d of objects.filter((o): o is Workload => o.kind === 'Deployment')) for (const c of d.spec.template.spec.containers) c.image = imageFor(c.name);
  const file = join(mkdtempSync(join(tmpdir(), 'castle-config-per-revision-')), 'castle.yaml');
  writeFileSync(file, toYaml(objects));
  return { file, configMap: name, data, replicas };
}

const isReady = (p: V1Pod): boolean => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
const readsConfig = (p: V1Pod): string | undefined => p.spec?.containers.find((c) => c.name === 'www')?.envFrom?.find((e) => e.configMapRef)?.configMapRef?.name;
const ownerOf = (p: V1Pod): string | undefined => p.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet')?.name;

describe('a revision’s configuration is its own, under 50 requests/s', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace = '';
  let load: SteadyLoad | undefined;
  let deploy: ReturnType<typeof startCastle> | undefined;

  const wwwPods = async (): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/name=www' })).items;
  const uidOf = async (name: string): Promise<string | undefined> => (await core.readNamespacedConfigMap({ name, namespace })).metadata?.uid;
  const configMapExists = (name: string): Promise<boolean> => uidOf(name).then(() => true, () => false);

  beforeAll(async () => {
    buildCli();
    kc = loadKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    namespace = await createTestNamespace('castle-config-rev', kc);
  });

  afterAll(async () => {
    // Only the deploy this file started, if a failed assertion left it running.
    if (deploy && deploy.child.exitCode === null) {
      deploy.child.kill('SIGTERM');
      await deploy.done;
    }
    const report = await load?.stop();
    if (report) console.log(`load, whole run: ${describeLoad(report)}`);
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('keeps old www pods deleted during a stuck bad-configuration rollout on their own ConfigMap, with no failed request, and rolls the bad revision back', async () => {
    onTestFailed(async () => {
      if (load) console.log(`load so far: ${describeLoad(load.report())}`);
      if (deploy) console.log(`castle deploy so far:\n${deploy.stderr()}`);
      await dumpDiagnostics(namespace, kc);
    });

    const good = renderedLocal(namespace);
    const bad = renderedLocal(namespace, (d) => ({ ...d, WWW_MAX_WAIT_MS: BAD_MAX_WAIT_MS }));
    // The bad value is one the service's own schema refuses, and the names follow the content.
    expect(() => loadWwwConfig(good.data)).not.toThrow();
    expect(() => loadWwwConfig(bad.data)).toThrow(/WWW_MAX_WAIT_MS/);
    expect(bad.configMap).not.toBe(good.configMap);
    expect(bad.configMap).toMatch(/^www-config-[0-9a-f]{10}$/);

    const first = await castle(['deploy', ...at(namespace), '--version', '1.0.0', '--manifests', good.file, '--output', 'json']);
    expect(first.code, first.stderr).toBe(0);
    const target = `${await loadBalancerUrl(namespace, 'www', 80, { kc })}/`;
    // kube-proxy programs the address a moment after MetalLB announces it.
    let status = 0;
    for (const until = Date.now() + 30_000; status !== 200 && Date.now() < until; ) {
      status = await request(target, { headers: { connection: 'close' }, headersTimeout: 2_000 })
        .then(async (r) => (await r.body.dump(), r.statusCode))
        .catch(() => 0);
      if (status !== 200) await delay(250);
    }
    expect(status, `GET ${target}`).toBe(200);

    const before = (await wwwPods()).filter(isReady);
    expect(before).toHaveLength(good.replicas);
    const oldReplicaSet = ownerOf(before[0] as V1Pod);
    expect(before.map(ownerOf)).toEqual(before.map(() => oldReplicaSet));
    expect(before.map(readsConfig)).toEqual(before.map(() => good.configMap));
    const goodUid = await uidOf(good.configMap);

    const started = Date.now();
    load = startSteadyLoad(target, { rps: RPS, maxDurationMs: 10 * 60_000 });

    // The default --rollback-on-failure: what a user gets, and the rollback's prune is what
    // decides the bad ConfigMap's fate once the release is healthy again.
    deploy = startCastle(['deploy', ...at(namespace), '--version', '1.1.0', '--manifests', bad.file, '--output', 'json', '--progress-deadline', String(PROGRESS_DEADLINE_S), '--crash-restarts', '10']);
    await waitForStderr(deploy, /Waiting for \d+ Deployments/, 120_000);

    // Stuck: the new pod reads the bad ConfigMap and crashes on it, and is never ready.
    let crashLog = '';
    await eventually('the new www pod to crash on its configuration', 60_000, async () => {
      const pod = (await wwwPods()).find((p) => readsConfig(p) === bad.configMap);
      if (!pod || (pod.status?.containerStatuses?.[0]?.restartCount ?? 0) < 1) return false;
      // The latest instance's log: the hermetic cluster's kubelet answers none for the previous one.
      crashLog = await core.readNamespacedPodLog({ name: pod.metadata?.name ?? '', namespace, container: 'www' }).catch((e: unknown) => String(e));
      return /invalid configuration/.test(crashLog);
    });
    expect(crashLog).toMatch(/invalid configuration[\s\S]*WWW_MAX_WAIT_MS/);

    // Graceful deletes of old pods while the rollout is stuck.
    const victims = before.slice(0, DELETED).map((p) => p.metadata?.name ?? '');
    const deletedAt = Date.now();
    for (const name of victims) await core.deleteNamespacedPod({ name, namespace });
    let replacements: V1Pod[] = [];
    await eventually(`${DELETED} replacements of the deleted www pods to be ready`, 90_000, async () => {
      const pods = await wwwPods();
      replacements = pods.filter((p) => !before.some((b) => b.metadata?.name === p.metadata?.name) && readsConfig(p) !== bad.configMap);
      return replacements.length >= DELETED && replacements.every(isReady) && !pods.some((p) => victims.includes(p.metadata?.name ?? ''));
    });
    const backAfterMs = Date.now() - deletedAt;

    // Recreated by the old ReplicaSet, on the old ConfigMap, running without a restart.
    expect(replacements.map((p) => ({ owner: ownerOf(p), config: readsConfig(p) }))).toEqual(replacements.map(() => ({ owner: oldReplicaSet, config: good.configMap })));
    for (const p of replacements) {
      const c = p.status?.containerStatuses?.find((s) => s.name === 'www');
      expect({ pod: p.metadata?.name, running: c?.state?.running !== undefined, ready: c?.ready, restarts: c?.restartCount }).toEqual({ pod: p.metadata?.name, running: true, ready: true, restarts: 0 });
    }
    const now = await wwwPods();
    expect(now.filter((p) => ownerOf(p) === oldReplicaSet && isReady(p))).toHaveLength(good.replicas);
    expect(now.filter((p) => readsConfig(p) === bad.configMap).filter(isReady)).toEqual([]);
    expect(await uidOf(good.configMap)).toBe(goodUid);
    expect(load.report().failed, describeLoad(load.report())).toBe(0);
    // All of the above happened while the bad revision was still rolling out.
    expect(deploy.child.exitCode, deploy.stderr()).toBeNull();
    const stuckFor = Date.now() - started;

    // The deadline fails the revision; the rollback re-applies revision 1 and prunes.
    const run = await deploy.done;
    const report = await load.stop();
    console.log(
      [
        `config per revision: ${RPS} rps on ${target}`,
        `  ${DELETED} old www pods deleted ${((deletedAt - started) / 1000).toFixed(1)} s into the bad rollout, back on ${good.configMap} after ${(backAfterMs / 1000).toFixed(1)} s`,
        `  acted within ${(stuckFor / 1000).toFixed(1)} s; castle deploy ended after ${(run.ms / 1000).toFixed(1)} s (exit ${run.code})`,
        `  load: ${describeLoad(report)}`,
      ].join('\n'),
    );
    expect(run.code, run.stderr).toBe(1);
    expect(oneJson(run.stdout)).toMatchObject({ ok: false, result: { revision: 2, rollback: { revision: 3, to: 1 } } });
    expect(run.stderr).toMatch(/rolling back to revision 1/);
    // Ended by the deadline, not by the crash loop: the deleted pods were back in time.
    const history = oneJson((await castle(['history', ...at(namespace), '--output', 'json', '--quiet'])).stdout).result as { revisions: { revision: number; status: string; reason?: string; rollbackOf?: number }[] };
    expect(history.revisions.find((r) => r.revision === 2)).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^rollout did not finish before the progress deadline: Deployment\/www/) });
    expect(history.revisions.find((r) => r.revision === 3)).toMatchObject({ status: 'succeeded', rollbackOf: 1 });
    expect(await uidOf(good.configMap)).toBe(goodUid);
    const pods = await wwwPods();
    expect(pods.filter(isReady).map((p) => ({ owner: ownerOf(p), config: readsConfig(p) }))).toEqual(Array.from({ length: good.replicas }, () => ({ owner: oldReplicaSet, config: good.configMap })));
    // The README: deleted once the rollback is healthy, or kept (recorded) while something still reads it.
    const rollback = run.stderr.slice(run.stderr.indexOf('rolling back to revision 1'));
    if (await configMapExists(bad.configMap)) {
      expect(rollback).toMatch(new RegExp(`kept ConfigMap/${bad.configMap} for now: in use`));
      console.log(`  ${bad.configMap} retained by the rollback: still in use`);
    } else {
      expect(rollback).toMatch(new RegExp(`✓ Pruning objects no longer rendered \\(deleted [^\\n]*ConfigMap/${bad.configMap}`));
      console.log(`  ${bad.configMap} deleted by the rollback's prune`);
    }

    expect(report.sent).toBeGreaterThan(RPS * 60);
    expect(report.failed, describeLoad(report)).toBe(0);
  });
});
