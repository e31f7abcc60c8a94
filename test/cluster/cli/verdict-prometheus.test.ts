/**
 * The verdict where the API server may not reach the pods' metrics port (EKS, where the cloud
 * enforces the NetworkPolicies and the API server is not in the pod network): Castle's `local`
 * environment as rendered — every NetworkPolicy, `allow-metrics-scrape` admitting only the
 * monitoring namespace, ServiceMonitors — with the API server's connections to the pods' metrics
 * port dropped (see apiserver-firewall.ts for why that is a host rule and not a policy). The
 * default verdict reads Prometheus, which scrapes through the policy, and still judges: a pass,
 * and a failing version caught and rolled back.
 *
 * Needs the monitoring add-on (`npm run cluster:addons -- monitoring`), kube-router enforcing
 * the policies, and root. It sends traffic for the verdict's window and changes the host's
 * firewall while it runs, so it runs alone (vitest.config.ts: clusterUnderLoad).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { render, toYaml, type KubernetesObject } from '@castle/k8s';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { closeServiceUrls, createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig, serviceUrl } from '../../support/cluster.js';
import { imageFor } from '../../support/tier-manifests.js';
import { type ApiServerBlock, blockApiServerFromMetrics } from './apiserver-firewall.js';
import { buildCli, castle, oneJson, startCastle, waitForStderr, type CliRun } from './support.js';

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
const RELEASE = 'castle';
const WINDOW_SECONDS = 30;

type Container = { name: string; image: string; env?: { name: string; value: string }[] };
type Counts = { total: number; errors: number };
type Revision = { revision: number; status: string; verdict?: { outcome: string; detail: { source?: string; excluded: unknown[]; new: Counts; old: Counts } } };

/** `local` rendered into `namespace` (www 2, backend 1, the loaded images), www's pods marked `mark` and given `wwwEnv`, as a YAML file. */
function rendered(namespace: string, mark: string, wwwEnv: Record<string, string> = {}): string {
  const objects = render({ env: 'local', version, namespace }).map((object): KubernetesObject => {
    if (object.kind !== 'Deployment') return object;
    const copy = structuredClone(object) as KubernetesObject & { spec: { replicas: number; template: { spec: { containers: Container[] } } } };
    copy.spec.replicas = object.metadata.name === 'www' ? 2 : 1;
    for (const c of copy.spec.template.spec.containers) {
      c.image = imageFor(c.name);
      // A variable the container's own env sets wins over its ConfigMap's (envFrom).
      if (object.metadata.name === 'www') c.env = [...(c.env ?? []), ...Object.entries({ WWW_MARK: mark, ...wwwEnv }).map(([name, value]) => ({ name, value }))];
    }
    return copy;
  });
  const file = join(mkdtempSync(join(tmpdir(), 'castle-verdict-prometheus-')), 'castle.yaml');
  writeFileSync(file, toYaml(objects));
  return file;
}

/** A GET through the API server's pod proxy: its body, or why there was none within `ms`. */
async function throughPodProxy(kc: KubeConfig, namespace: string, pod: string, port: number, path: string, ms = 20_000): Promise<{ body: string } | { refused: string }> {
  const call = kc
    .makeApiClient(CoreV1Api)
    .connectGetNamespacedPodProxyWithPath({ name: `${pod}:${port}`, namespace, path })
    .then((body) => ({ body: String(body) }), (error: unknown) => ({ refused: error instanceof Error ? error.message : String(error) }));
  const timeout = new Promise<{ refused: string }>((resolve) => setTimeout(() => resolve({ refused: `no answer within ${ms} ms` }), ms).unref());
  return Promise.race([call, timeout]);
}

describe('the rollout verdict with the NetworkPolicies enforced and the API server kept from the pods’ metrics', () => {
  let kc: KubeConfig;
  let namespace: string;
  let prometheus: string;
  let block: ApiServerBlock | undefined;

  const query = async (promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const res = await request(`${prometheus}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const doc = (await res.body.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    return doc.status === 'success' ? doc.data.result : [];
  };
  const wwwPods = async (): Promise<string[]> =>
    (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/name=www' })).items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name ?? '');
  const verdicts = async (): Promise<Revision[]> =>
    (oneJson((await castle(['history', '--namespace', namespace, '--release', RELEASE, '--output', 'json', '--quiet'])).stdout).result as { revisions: Revision[] }).revisions;

  /** Deploy `file` with the verdict (its defaults: the counters' source chosen by castle), sending traffic through www until it ends. */
  async function deployWithTraffic(file: string, v: string): Promise<CliRun> {
    const www = await serviceUrl(namespace, 'www', 80, kc);
    const deploy = startCastle(['deploy', '--namespace', namespace, '--release', RELEASE, '--version', v, '--manifests', file, '--no-smoke', '--verdict-window', String(WINDOW_SECONDS), '--verdict-min-requests', '20']);
    await waitForStderr(deploy, new RegExp(`window of ${WINDOW_SECONDS} s over 1 new and 2 old pods`));
    const until = Date.now() + 300_000;
    while (deploy.child.exitCode === null && Date.now() < until) {
      await request(`${www}/`, { headers: { connection: 'close' }, headersTimeout: 2_000, bodyTimeout: 2_000 }).then((r) => r.body.dump()).catch(() => undefined);
    }
    return deploy.done;
  }

  beforeAll(async () => {
    buildCli();
    kc = loadKubeConfig();
    try {
      prometheus = await serviceUrl('monitoring', 'prometheus', 9090, kc);
    } catch (error) {
      throw new Error(`no Prometheus at monitoring/prometheus:9090 (${String(error)}); install it with: npm run cluster:addons -- monitoring`);
    }
    namespace = await createTestNamespace('castle-verdict-prom', kc);
    const first = await castle(['deploy', '--namespace', namespace, '--release', RELEASE, '--version', '1.0.0', '--manifests', rendered(namespace, 'v1'), '--no-smoke']);
    if (first.code !== 0) {
      await dumpDiagnostics(namespace, kc);
      throw new Error(`castle deploy failed (${first.code}):\n${first.stderr}`);
    }
    block = await blockApiServerFromMetrics(kc, namespace);
    // Prometheus scrapes the old pods (through allow-metrics-scrape) before the verdict needs them.
    const pods = (await wwwPods()).sort();
    const scraped = async () => (await query(`up{namespace="${namespace}",job="www"} == 1`)).map((s) => s.metric.pod).sort();
    const deadline = Date.now() + 120_000;
    let up = await scraped();
    while (JSON.stringify(up) !== JSON.stringify(pods)) {
      if (Date.now() > deadline) throw new Error(`Prometheus scrapes ${JSON.stringify(up)} of www's pods ${JSON.stringify(pods)} after 120 s`);
      await delay(2_000); // Prometheus' next scrape: there is no event to wait on
      up = await scraped();
    }
  });

  afterAll(async () => {
    await block?.stop();
    await closeServiceUrls();
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('has the API server refused at the pods’ metrics port, and only there, while Prometheus scrapes them', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const [pod = ''] = await wwwPods();
    expect(block?.addresses().length).toBeGreaterThanOrEqual(3);
    const metrics = await throughPodProxy(kc, namespace, pod, 9090, 'metrics');
    expect('refused' in metrics, JSON.stringify(metrics)).toBe(true);
    // The proxy itself works: the same pod's http port answers through it.
    expect(await throughPodProxy(kc, namespace, pod, 8080, 'readyz')).toEqual({ body: 'ready\n' });
    expect((await query(`up{namespace="${namespace}",pod="${pod}"}`)).map((s) => s.value[1])).toEqual(['1']);
  });

  it('passes a healthy version from Prometheus’ counters, leaving no pod out, and finishes the rollout', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const run = await deployWithTraffic(rendered(namespace, 'v2'), '1.1.0');

    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/window of 30 s over 1 new and 2 old pods; counters from Prometheus monitoring\/prometheus:9090 \(API server proxy\)/);
    expect(run.stderr).not.toMatch(/pod proxy instead/);
    expect(run.stderr).toMatch(/✓ Verdict on Deployment\/www: new pods against old \(pass: /);
    const [latest] = await verdicts();
    expect(latest).toMatchObject({ status: 'succeeded', verdict: { outcome: 'pass', detail: { source: 'prometheus', excluded: [] } } });
    expect(latest?.verdict?.detail.new.total).toBeGreaterThanOrEqual(20);
    expect(latest?.verdict?.detail.old.total).toBeGreaterThanOrEqual(20);
  });

  it('fails a version whose new pods answer 5xx, from Prometheus’ counters, and rolls it back', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    // www with a backend nobody listens at: every GET / fails (502/503), /readyz stays ready.
    const run = await deployWithTraffic(rendered(namespace, 'v3', { WWW_BACKEND_URL: 'http://127.0.0.1:1' }), '1.2.0');

    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/rollout verdict fail: new pods answered [\d.]+% with 5xx against 0\.00% for old pods/);
    const [rollback, failed] = await verdicts();
    expect(rollback).toMatchObject({ status: 'succeeded' });
    expect(failed).toMatchObject({ status: 'failed', verdict: { outcome: 'fail', detail: { source: 'prometheus', excluded: [] } } });
    expect(failed?.verdict?.detail.new.errors).toBeGreaterThanOrEqual(20);
    expect(failed?.verdict?.detail.old.errors).toBe(0);
  });
});
