/**
 * Castle's alerts and dashboards against the real monitoring stack (`npm run cluster:addons
 * -- monitoring`): Castle deployed with its rules at shortened windows, traffic from this
 * machine, every dashboard panel query answered with data, then the backend forced to fail
 * every request until the page alert fires in Prometheus and reaches a webhook receiver
 * through Alertmanager, and back to normal until the webhook gets it resolved.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { KubernetesObjectApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { configMapName, render, type KubernetesObject, type ObservabilitySettings } from '@castle/k8s';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { closeServiceUrls, createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig, serviceUrl } from '../support/cluster.js';
import { waitForRollout } from '../support/cluster-rollout.js';
import { checkDashboardQueries, panelsWithoutData, prometheusUrl, query, ruleGroups, alerts } from '../support/prometheus.js';
import { asModel } from '../support/rendered-deploy.js';
import { startSteadyLoad, type SteadyLoad } from '../support/steady-load.js';
import { imageFor } from '../support/tier-manifests.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The host as pods see it (the node's address on the host's lo). */
const HOST_FROM_PODS = process.env.CASTLE_HOST_FROM_PODS ?? '198.18.0.1';
const SELECTOR = { release: 'castle-monitoring' };
const PAGE = 'CastleWwwAvailabilityFastBurn';

/**
 * The test configuration of the rules: the workbook's burn rates over windows short enough
 * for a test (page at 14.4x over 1m and 20s), symptom rates over 30s.
 */
const testObservability: ObservabilitySettings = {
  selectorLabels: SELECTOR,
  dashboards: false,
  rules: {
    burnRates: { page: [{ long: '1m', short: '20s', factor: 14.4 }], ticket: [{ long: '3m', short: '1m', factor: 3 }] },
    rateWindow: '30s',
    symptomFor: '1m',
  },
};

// Fewer replicas than `local` runs, to keep the test light.
const REPLICAS: Record<string, number> = { www: 2, backend: 1 };

type Workload = KubernetesObject & {
  spec: { replicas?: number; template: { spec: { containers: Array<{ name: string; image: string; envFrom?: Array<{ configMapRef?: { name: string } }> }> } } };
};

/** What the webhook receiver got from Alertmanager. */
interface Notification {
  status: 'firing' | 'resolved';
  alerts: Array<{ status: 'firing' | 'resolved'; labels: Record<string, string>; annotations: Record<string, string> }>;
}

function manifests(namespace: string): KubernetesObject[] {
  // The rendered ServiceMonitors have Prometheus scrape both tiers.
  return render({ env: 'local', version, namespace, observability: testObservability }).map((o): KubernetesObject => {
    if (o.kind !== 'Deployment') return o;
    const copy = structuredClone(o) as Workload;
    copy.spec.replicas = REPLICAS[o.metadata.name] ?? 1;
    for (const c of copy.spec.template.spec.containers) c.image = imageFor(c.name);
    return copy;
  });
}

function receiverConfig(namespace: string, url: string): KubernetesObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1alpha1',
    kind: 'AlertmanagerConfig',
    metadata: { name: 'test-webhook', namespace, labels: SELECTOR },
    spec: {
      // The operator adds namespace=<this namespace> to the route: only this test's alerts come here.
      route: { receiver: 'webhook', groupBy: ['alertname'], groupWait: '1s', groupInterval: '5s', repeatInterval: '1h', matchers: [{ name: 'alertname', value: PAGE, matchType: '=' }] },
      receivers: [{ name: 'webhook', webhookConfigs: [{ url, sendResolved: true }] }],
    },
  };
}

describe('alerts and dashboards on the real Prometheus and Alertmanager', () => {
  let kc: KubeConfig;
  let client: KubernetesObjectApi;
  let namespace: string;
  let prometheus: string;
  let receiver: Server;
  let load: SteadyLoad | undefined;
  let objects: KubernetesObject[];
  const notifications: Notification[] = [];

  const apply = async (list: readonly KubernetesObject[]) => {
    for (const o of list) await client.patch(asModel(o), undefined, undefined, 'castle-test', true, PatchStrategy.ServerSideApply);
  };
  /**
   * The backend with `BACKEND_ERROR_RATE` set, rolled out: a new ConfigMap named by its content
   * (the rendered one is immutable) and the Deployment pointed at it.
   */
  const setBackendErrorRate = async (rate: string) => {
    const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'backend')) as Workload;
    const ref = deployment.spec.template.spec.containers[0]?.envFrom?.[0]?.configMapRef;
    const rendered = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref?.name) as (KubernetesObject & { data: Record<string, string> }) | undefined;
    if (!ref || !rendered) throw new Error('the rendered backend Deployment reads no ConfigMap of the render');
    const data = { ...rendered.data, BACKEND_ERROR_RATE: rate };
    const config = { ...rendered, metadata: { ...rendered.metadata, name: configMapName('backend', data) }, data };
    ref.name = config.metadata.name;
    await apply([config, deployment]);
    await waitForRollout(kc, namespace, 'backend');
  };
  const received = (status: 'firing' | 'resolved') => notifications.filter((n) => n.alerts.some((a) => a.status === status && a.labels.alertname === PAGE && a.labels.namespace === namespace));

  beforeAll(async () => {
    kc = loadKubeConfig();
    client = KubernetesObjectApi.makeApiClient(kc);
    prometheus = await prometheusUrl(kc);
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        try {
          notifications.push(JSON.parse(body) as Notification);
        } catch {
          // Not Alertmanager's: ignored.
        }
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '0.0.0.0', resolve));
    const port = (receiver.address() as AddressInfo).port;

    namespace = await createTestNamespace('castle-alerts', kc);
    objects = manifests(namespace);
    try {
      await apply([...objects, receiverConfig(namespace, `http://${HOST_FROM_PODS}:${port}/`)]);
      for (const d of objects.filter((o) => o.kind === 'Deployment')) await waitForRollout(kc, namespace, d.metadata.name);
    } catch (error) {
      await dumpDiagnostics(namespace, kc);
      throw error;
    }
    // 8 requests/s: within the capacity of two www replicas (10/s each), so nothing is shed.
    load = startSteadyLoad(`${await serviceUrl(namespace, 'www', 80, kc)}/`, { rps: 8, maxDurationMs: 480_000, timeoutMs: 5_000 });
  });

  afterAll(async () => {
    await load?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
    await closeServiceUrls();
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('Prometheus loads the rules and records the SLO error ratio of the namespace', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    // A new PrometheusRule reaches Prometheus through the operator, a ConfigMap and the
    // kubelet's sync of the mounted volume (up to a minute), then a reload.
    await expect.poll(async () => (await ruleGroups(prometheus)).filter((g) => g.file.includes(namespace)).map((g) => g.name).sort(), { timeout: 150_000, interval: 3_000 }).toEqual(['castle-slo-alerts', 'castle-slo-recording', 'castle-symptoms']);
    const ratio = async () => (await query(prometheus, `castle:slo_errors:ratio_rate20s{namespace="${namespace}",slo="www-availability"}`)).map((s) => Number(s.value));
    await expect.poll(async () => (await ratio()).length, { timeout: 90_000, interval: 2_000 }).toBe(1);
    // Healthy: well under the page threshold (14.4 × the 0.1% budget).
    expect((await ratio())[0]).toBeLessThan(0.0144);
  });

  it('every dashboard panel query has data while traffic flows', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    let missing: string[] = [];
    await expect
      .poll(
        async () => {
          missing = panelsWithoutData(await checkDashboardQueries(prometheus, namespace, { rateInterval: '30s' }));
          return missing.length;
        },
        { timeout: 60_000, interval: 5_000 },
      )
      .toBe(0)
      .catch((error: unknown) => {
        throw new Error(`panels without data:\n  ${missing.join('\n  ')}\n${String(error)}`);
      });
  });

  it('the backend failing every request pages: firing in Prometheus, then at the webhook through Alertmanager; resolved once it recovers', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    expect(received('firing')).toEqual([]);
    const since = (t: number) => `${((performance.now() - t) / 1000).toFixed(0)} s`;
    const broken = performance.now();
    await setBackendErrorRate('1');
    const firing = async () => (await alerts(prometheus)).filter((a) => a.labels.alertname === PAGE && a.labels.namespace === namespace).map((a) => a.state);
    await expect.poll(firing, { timeout: 120_000, interval: 2_000 }).toEqual(['firing']);
    const inPrometheus = since(broken);
    await expect.poll(() => received('firing').length, { timeout: 60_000, interval: 1_000 }).toBeGreaterThan(0);
    console.error(`${PAGE}: firing in Prometheus ${inPrometheus}, at the webhook ${since(broken)} after the backend began failing (rollout included)`);
    const alert = received('firing')[0]?.alerts.find((a) => a.labels.alertname === PAGE);
    expect(alert?.labels).toMatchObject({ severity: 'page', slo: 'www-availability', tier: 'www', namespace });
    expect(alert?.annotations.runbook_url).toMatch(/docs\/runbooks\/CastleWwwAvailabilityFastBurn\.md$/);

    const fixed = performance.now();
    await setBackendErrorRate('0');
    await expect.poll(firing, { timeout: 120_000, interval: 2_000 }).toEqual([]);
    await expect.poll(() => received('resolved').length, { timeout: 90_000, interval: 1_000 }).toBeGreaterThan(0);
    console.error(`${PAGE}: resolved at the webhook ${since(fixed)} after the backend recovered (rollout included)`);
    const report = load?.report();
    expect(report?.ok).toBeGreaterThan(0);
  });
});
