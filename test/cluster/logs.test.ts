import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { closeServiceUrls, createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig, serviceUrl } from '../support/cluster.js';
import { deployRenderedLocal, RFC850 } from '../support/rendered-deploy.js';
import { LOGS_NAMESPACE, logsqlString, queryLogs, victoriaLogsUrl, type StoredLine } from '../support/victorialogs.js';

// Needs the logs add-on (npm run cluster:addons -- logs): the collector DaemonSet tails every
// pod's log file on the node and ships the lines to VictoriaLogs, which this test reads.
describe('log aggregation: one request followed across both tiers in the log store', () => {
  let kc: KubeConfig;
  let namespace: string;
  let logs: string;
  let www: string;
  let pods: Record<'www' | 'backend', string[]>;

  beforeAll(async () => {
    kc = loadKubeConfig();
    logs = await victoriaLogsUrl(kc);
    namespace = await createTestNamespace('castle-logs', kc);
    await deployRenderedLocal(kc, namespace);
    www = await serviceUrl(namespace, 'www', 80, kc);
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace });
    const names = (tier: string) =>
      list.items.filter((p) => p.metadata?.labels?.['app.kubernetes.io/name'] === tier).map((p) => p.metadata?.name ?? '');
    pods = { www: names('www'), backend: names('backend') };
  });

  afterAll(async () => {
    await closeServiceUrls();
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it("finds www's and the backend's lines of one request by its request id, with service, version, pod and the same trace id", async () => {
    let lines: StoredLine[] = [];
    onTestFailed(async () => {
      console.error(`===== the request's lines found in VictoriaLogs =====\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
      await dumpDiagnostics(namespace, kc);
      await dumpDiagnostics(LOGS_NAMESPACE, kc);
      const stored = await queryLogs(logs, `k8s.namespace.name:=${logsqlString(namespace)}`, 20).catch((e: unknown) => [String(e)]);
      console.error(`===== what VictoriaLogs holds for ${namespace} (up to 20 lines) =====\n${stored.map((l) => JSON.stringify(l)).join('\n')}`);
    });
    const traceId = randomBytes(16).toString('hex');
    // The Service answers a moment after the rollout: retry the first request for a few seconds,
    // each try with a request id of its own, so the one that answered is the only one with its id.
    let requestId = '';
    let answer = '';
    await expect
      .poll(
        async () => {
          requestId = `logs-test-${randomBytes(8).toString('hex')}`;
          const res = await request(`${www}/`, {
            headers: { 'x-request-id': requestId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
          }).catch(() => undefined);
          answer = res ? await res.body.text() : '';
          return res?.statusCode;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toBe(200);
    expect(answer).toMatch(RFC850);

    const query = `k8s.namespace.name:=${logsqlString(namespace)} req_id:=${logsqlString(requestId)} _msg:="request completed"`;
    // One www line, and one backend line per try www made (a try fails at the backend's
    // injected error rate and www tries again), the last of them answered 200. What VictoriaLogs
    // holds for the namespace is printed when this times out.
    const complete = () => {
      const fronts = lines.filter((l) => l.service === 'www');
      const backs = lines.filter((l) => l.service === 'backend');
      return fronts.length === 1 && backs.length === Number(fronts[0]?.upstream_tries) && backs.some((l) => l.status === '200');
    };
    await expect
      .poll(
        async () => {
          lines = await queryLogs(logs, query);
          return complete();
        },
        { timeout: 45_000, interval: 500 },
      )
      .toBe(true);

    const front = lines.find((l) => l.service === 'www') as StoredLine;
    const back = lines.find((l) => l.service === 'backend' && l.status === '200') as StoredLine;
    const { version } = (await (await request(`${www}/version`)).body.json()) as { version: string };
    for (const [line, tier] of [[front, 'www'], [back, 'backend']] as const) {
      expect(line).toMatchObject({
        req_id: requestId,
        trace_id: traceId,
        'k8s.namespace.name': namespace,
        'k8s.container.name': tier,
        severity_text: 'info',
        method: 'GET',
        path: '/',
        status: '200',
      });
      expect(line.version).toBe(version);
      // The pod the service names itself (POD_NAME, from the downward API) is the pod whose log file the line came from.
      expect(pods[tier]).toContain(line.pod);
      expect(line.pod).toBe(line['k8s.pod.name']);
    }
    expect(front.upstream).toBe('ok');
    expect(back.trace_id).toBe(front.trace_id);
  });

  it("holds every pod's start-up line, from its first line on, naming service, version and the pod itself", async () => {
    const query = `k8s.namespace.name:=${logsqlString(namespace)} _msg:="ready"`;
    let lines: StoredLine[] = [];
    const all = [...pods.www, ...pods.backend].sort();
    await expect
      .poll(
        async () => {
          lines = await queryLogs(logs, query);
          return lines.map((l) => l['k8s.pod.name']).sort();
        },
        { timeout: 30_000, interval: 500 },
      )
      .toEqual(all);
    for (const line of lines) {
      expect(line.pod).toBe(line['k8s.pod.name']);
      expect(line.service).toBe(line['k8s.container.name']);
      expect(line.version).toMatch(/\S/);
      expect(line.req_id).toBeUndefined();
    }
  });
});
