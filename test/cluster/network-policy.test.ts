import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig } from '../support/cluster.js';
import { probeFrom, readyPodIp, startHttpTarget, type ProbeCheck, type ProbeResult } from '../support/probe-pods.js';
import { deployRenderedLocal, RFC850 } from '../support/rendered-deploy.js';

const www = 'app.kubernetes.io/name=www';
const backend = 'app.kubernetes.io/name=backend';

/** The URL got no HTTP answer at all: the connection was dropped or rejected. */
function expectBlocked(results: readonly ProbeResult[], url: string): void {
  const result = resultFor(results, url);
  expect(result.status, `${url} answered: ${JSON.stringify(result)}`).toBeUndefined();
  expect(result.error).toBeDefined();
}

/** The probe's result for `url`, which it must have tried. */
function resultFor(results: readonly ProbeResult[], url: string): ProbeResult {
  const result = results.find((r) => r.url === url);
  if (!result) throw new Error(`the probe did not report ${url}: ${JSON.stringify(results)}`);
  return result;
}

const open = (url: string): ProbeCheck => ({ url, expect: 'open' });
const blocked = (url: string): ProbeCheck => ({ url, expect: 'blocked' });

// A connection a policy stops never gets an HTTP answer; an open one gets one, whatever
// the status. So "blocked" is "no status", and a cluster that does not enforce
// NetworkPolicies keeps answering (for the probe's whole settle time) and fails these tests.
describe("Castle's NetworkPolicies, enforced by the cluster", () => {
  let kc: KubeConfig;
  let castle: string;
  let outside: string;
  let urls: { www: string; backend: string; backendService: string; stray: string; control: string };

  beforeAll(async () => {
    kc = loadKubeConfig();
    castle = await createTestNamespace('castle-netpol', kc);
    outside = await createTestNamespace('castle-netpol-outside', kc);
    await deployRenderedLocal(kc, castle);
    const core = kc.makeApiClient(CoreV1Api);
    const backendService = await core.readNamespacedService({ name: 'backend', namespace: castle });
    // an unlabelled pod in Castle's namespace, which only the default-deny policy selects,
    // and the same server outside, to show that the server itself answers
    const stray = await startHttpTarget(kc, castle, 'stray-server', {});
    const control = await startHttpTarget(kc, outside, 'control-server', {});
    urls = {
      www: `http://${await readyPodIp(kc, castle, www)}:8080/`,
      backend: `http://${await readyPodIp(kc, castle, backend)}:8080/`,
      backendService: `http://${backendService.spec?.clusterIP}:80/`,
      stray: `http://${stray}:8080/`,
      control: `http://${control}:8080/`,
    };
  });

  afterAll(async () => {
    await Promise.all([castle && deleteNamespace(castle, { kc }), outside && deleteNamespace(outside, { kc })]);
  });

  it('lets any pod reach www, which reaches the backend, but no pod other than www reach the backend on 8080', async () => {
    onTestFailed(() => Promise.all([dumpDiagnostics(castle, kc), dumpDiagnostics(outside, kc)]).then(() => undefined));
    const results = await probeFrom(kc, outside, 'outsider', { 'app.kubernetes.io/name': 'outsider' }, [open(urls.www), blocked(urls.backend), blocked(urls.backendService), open(urls.control)]);

    const viaWww = resultFor(results, urls.www);
    expect(viaWww.status, JSON.stringify(viaWww)).toBe(200);
    expect(viaWww.body).toMatch(RFC850); // www got the time from the backend
    expect(resultFor(results, urls.control).body).toBe('open');
    expectBlocked(results, urls.backend);
    expectBlocked(results, urls.backendService);
  });

  it('stops a pod that is not www in the same namespace from reaching the backend, even labelled as part of Castle', async () => {
    onTestFailed(() => dumpDiagnostics(castle, kc).then(() => undefined));
    const results = await probeFrom(kc, castle, 'impostor', { 'app.kubernetes.io/part-of': 'castle', 'app.kubernetes.io/name': 'impostor' }, [blocked(urls.backend), blocked(urls.backendService)]);

    expectBlocked(results, urls.backend);
    expectBlocked(results, urls.backendService);
  });

  it('denies an unlabelled pod in the namespace all traffic in and out by default', async () => {
    onTestFailed(() => Promise.all([dumpDiagnostics(castle, kc), dumpDiagnostics(outside, kc)]).then(() => undefined));
    const inbound = await probeFrom(kc, outside, 'to-stray', {}, [blocked(urls.stray), open(urls.control)]);
    const outbound = await probeFrom(kc, castle, 'from-stray', {}, [blocked(urls.www), blocked(urls.control)]);

    expect(resultFor(inbound, urls.control).body).toBe('open');
    expectBlocked(inbound, urls.stray);
    // www takes connections from anywhere, but this pod may not open any
    expectBlocked(outbound, urls.www);
    expectBlocked(outbound, urls.control);
  });
});
