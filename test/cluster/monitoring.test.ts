/**
 * Castle under the real monitoring stack (`npm run cluster:addons -- monitoring`): the
 * rendered ServiceMonitors make Prometheus scrape both tiers, through the NetworkPolicy
 * that admits the monitoring namespace, and `castle status` reads the live rates from it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { render, toYaml, type KubernetesObject } from '@castle/k8s';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { closeServiceUrls, createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig, serviceUrl } from '../support/cluster.js';
import { imageFor } from '../support/tier-manifests.js';
import { buildCli, castle, oneJson } from './cli/support.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// Fewer replicas than `local` runs, to keep the test light; everything else as rendered.
const REPLICAS: Record<string, number> = { www: 2, backend: 1 };

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

/** Castle's local environment rendered into `namespace`, with the loaded images, as a YAML file. */
function renderedManifests(namespace: string): string {
  const objects = render({ env: 'local', version, namespace }).map((object): KubernetesObject => {
    if (object.kind !== 'Deployment') return object;
    const copy = structuredClone(object) as KubernetesObject & { spec: { replicas: number; template: { spec: { containers: { name: string; image: string }[] } } } };
    copy.spec.replicas = REPLICAS[object.metadata.name] ?? 1;
    for (const c of copy.spec.template.spec.containers) c.image = imageFor(c.name);
    return copy;
  });
  const file = join(mkdtempSync(join(tmpdir(), 'castle-monitoring-')), 'castle.yaml');
  writeFileSync(file, toYaml(objects));
  return file;
}

describe('Castle scraped by the real Prometheus of the monitoring add-on', () => {
  let kc: KubeConfig;
  let namespace: string;
  let prometheus: string;

  const query = async (promql: string): Promise<Series[]> => {
    const res = await request(`${prometheus}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const doc = (await res.body.json()) as { status: string; error?: string; data: { result: Series[] } };
    if (doc.status !== 'success') throw new Error(`${promql}: ${doc.error}`);
    return doc.data.result;
  };
  const wwwRequests = async (): Promise<number> =>
    (await query(`sum(http_requests_total{namespace="${namespace}",job="www",route="/",status_code="200"})`)).reduce((n, s) => n + Number(s.value[1]), 0);

  beforeAll(async () => {
    buildCli();
    kc = loadKubeConfig();
    try {
      prometheus = await serviceUrl('monitoring', 'prometheus', 9090, kc);
    } catch (error) {
      throw new Error(`no Prometheus at monitoring/prometheus:9090 (${String(error)}); install it with: npm run cluster:addons -- monitoring`);
    }
    namespace = await createTestNamespace('castle-monitoring', kc);
    const run = await castle(['deploy', '--namespace', namespace, '--release', 'castle', '--version', version, '--manifests', renderedManifests(namespace), '--quiet']);
    if (run.code !== 0) {
      await dumpDiagnostics(namespace, kc);
      throw new Error(`castle deploy failed (${run.code}):\n${run.stderr}`);
    }
  });

  afterAll(async () => {
    await closeServiceUrls();
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it("has every pod of both tiers as a target that is up, with the pod's name on its series", async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace });
    const podsOf = (tier: string) =>
      pods.items.filter((p) => p.metadata?.labels?.['app.kubernetes.io/name'] === tier && !p.metadata.deletionTimestamp).map((p) => p.metadata?.name).sort();
    const want = { www: podsOf('www'), backend: podsOf('backend') };
    expect(want.www).toHaveLength(REPLICAS.www ?? 0);
    // A new ServiceMonitor reaches Prometheus through the operator, a Secret and the
    // kubelet's sync of the mounted volume (up to a minute), then one scrape.
    await expect
      .poll(
        async () => {
          const up = await query(`up{namespace="${namespace}"}`);
          const byJob = (job: string) => up.filter((s) => s.metric.job === job && s.value[1] === '1').map((s) => s.metric.pod).sort();
          return { www: byJob('www'), backend: byJob('backend') };
        },
        { timeout: 120_000, interval: 2_000 },
      )
      .toEqual(want);
    const series = await query(`up{namespace="${namespace}",job="www"}`);
    expect(series[0]?.metric).toMatchObject({ service: 'www-metrics', endpoint: 'metrics', app_kubernetes_io_version: version });
  });

  it("counts www's requests: the counter grows by the requests sent, and castle status shows the rate", async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    const www = await serviceUrl(namespace, 'www', 80, kc);
    const before = await wwwRequests();
    const sent = 20;
    for (let i = 0; i < sent; i++) {
      const res = await request(`${www}/`);
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
    await expect.poll(wwwRequests, { timeout: 30_000, interval: 1_000 }).toBeGreaterThanOrEqual(before + sent);

    // A rate needs an increase between two scrapes of a series that already existed: keep
    // traffic going (bounded) until castle status sees it through the API server's proxy.
    const stop = new AbortController();
    const deadline = Date.now() + 60_000;
    const load = (async () => {
      while (!stop.signal.aborted && Date.now() < deadline) {
        const res = await request(`${www}/`);
        await res.body.dump();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    type Traffic = { source: string; tiers: { tier: string; replicas: number; requestsPerSecond: number | null; shedPerSecond: number | null }[] };
    let traffic: Traffic | undefined;
    try {
      await expect
        .poll(
          async () => {
            const run = await castle(['status', '--namespace', namespace, '--release', 'castle', '--output', 'json', '--quiet']);
            expect(run.code, run.stderr).toBe(0);
            traffic = (oneJson(run.stdout).result as { traffic: Traffic }).traffic;
            return traffic.tiers.every((t) => (t.requestsPerSecond ?? 0) > 0);
          },
          { timeout: 50_000, interval: 2_000 },
        )
        .toBe(true);
    } finally {
      stop.abort();
      await load;
    }
    expect(traffic?.source).toBe('monitoring/prometheus:9090 (API server proxy)');
    const byTier = Object.fromEntries((traffic?.tiers ?? []).map((t) => [t.tier, t]));
    expect(byTier.www).toMatchObject({ replicas: 2, shedPerSecond: 0 });
    expect(byTier.backend).toMatchObject({ replicas: 1, shedPerSecond: null });

    const text = await castle(['status', '--namespace', namespace, '--release', 'castle', '--quiet']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^TIER +REPLICAS +REQUESTS\/S +ERRORS +SHED\/S$/m);
    expect(text.stdout).toMatch(/^www +2 +\d+\.\d+ +\d+\.\d+% +0\.00$/m);
  });

  it('castle status says in one line when Prometheus is not reachable and shows the rest', async () => {
    // a loopback port nothing listens on
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const run = await castle(['status', '--namespace', namespace, '--release', 'castle', '--quiet', '--prometheus', `http://127.0.0.1:${port}`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^DEPLOYMENT/m);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^traffic: Prometheus not reachable \(.*ECONNREFUSED.*\); pass --prometheus URL to ask another$/);
  });
});
