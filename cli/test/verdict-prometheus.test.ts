import { describe, expect, it } from 'vitest';
import type { Kube } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/objects.js';
import { takeVerdict, type VerdictOptions } from '../src/rollout/canary.js';
import { scrapeAlignedSample } from '../src/rollout/scrapes.js';
import { type CounterSource, chooseCounterSource } from '../src/rollout/verdict-source.js';
import type { PodSample } from '../src/rollout/verdict.js';
import { type Series, parseMatrix, serviceTargetOf } from '../src/traffic/prometheus.js';

const PROMETHEUS = { kind: 'service', namespace: 'monitoring', service: 'prometheus', port: 9090 } as const;

/** A target's series: `up` or `http_requests_total`, with samples `[seconds, value]`. */
const series = (labels: Record<string, string>, samples: [number, number][]): Series => ({ labels, samples });
const up = (pod: string, times: number[], job = 'www', value = 1): Series => series({ __name__: 'up', namespace: 'ns', pod, job, instance: `${pod}:9090` }, times.map((t) => [t, value]));
const requests = (pod: string, route: string, status: string, samples: [number, number][], job = 'www'): Series =>
  series({ __name__: 'http_requests_total', namespace: 'ns', pod, job, instance: `${pod}:9090`, route, status_code: status, method: 'GET' }, samples);
/** Scrapes every 5 s from 995 to 1070. */
const every5 = Array.from({ length: 16 }, (_, i) => 995 + 5 * i);
const window = { start: 1001, end: 1061 };
const sample = (ups: Series[], reqs: Series[]): PodSample => scrapeAlignedSample({ pod: 'www-a', hash: 'h' }, ups, reqs, window);

describe('counters from Prometheus, aligned to its scrapes', () => {
  it('run from the first scrape at or after the start of the window to the first at or after its end', () => {
    const ok = requests('www-a', '/', '200', every5.map((t) => [t, t - 900]));
    expect(sample([up('www-a', every5)], [ok])).toEqual({ pod: 'www-a', hash: 'h', start: { total: 105, errors: 0 }, end: { total: 165, errors: 0 } });
  });

  it('count a series that first appears in the window from 0: the first 5xx answers are not lost', () => {
    const errors = requests('www-a', '/', '500', every5.filter((t) => t >= 1030).map((t): [number, number] => [t, 3]));
    expect(sample([up('www-a', every5)], [errors])).toMatchObject({ start: { total: 0, errors: 0 }, end: { total: 3, errors: 3 } });
  });

  it('count across a restart of the process as Prometheus’ increase() does', () => {
    // 100 at 1005, 150 at 1030, restarted by 1035 (20), 50 at 1065.
    const ok = requests('www-a', '/', '200', every5.map((t) => [t, t <= 1030 ? 100 + 2 * (t - 1005) : 20 + (t - 1035)]));
    expect(sample([up('www-a', every5)], [ok])).toMatchObject({ start: { total: 100 }, end: { total: 200 } });
  });

  it('leave out the probes and the scrapes, and count 5xx as errors', () => {
    const reqs = [
      requests('www-a', '/readyz', '200', [[1005, 0], [1065, 500]]),
      requests('www-a', '/metrics', '200', [[1005, 0], [1065, 500]]),
      requests('www-a', '/', '200', [[1005, 0], [1065, 90]]),
      requests('www-a', '/', '503', [[1005, 0], [1065, 10]]),
      requests('www-b', '/', '503', [[1005, 0], [1065, 999]]),
    ];
    expect(sample([up('www-a', every5)], reqs)).toMatchObject({ end: { total: 100, errors: 10 } });
  });

  it('count a pod scraped by two jobs once', () => {
    const reqs = [requests('www-a', '/', '200', [[1005, 0], [1065, 60]]), requests('www-a', '/', '200', [[1001, 0], [1061, 60]], 'podmonitor')];
    expect(sample([up('www-a', every5), up('www-a', every5.map((t) => t + 1), 'podmonitor')], reqs)).toMatchObject({ start: { total: 0 }, end: { total: 60 } });
  });

  it.each<[string, Series[], PodSample['start'] | undefined, PodSample['end'] | undefined]>([
    ['not scraped since the window opened', [up('www-a', [990, 995, 1000])], { failure: 'not scraped by Prometheus since the window opened' }, undefined],
    ['whose scrapes failed (up == 0)', [up('www-a', every5, 'www', 0)], { failure: 'not scraped by Prometheus since the window opened' }, undefined],
    ['not scraped after the window closed', [up('www-a', [1005, 1030, 1060])], undefined, { failure: 'not scraped by Prometheus after the window closed' }],
    [
      'scraped only once in the window',
      [up('www-a', [990, 1061])],
      undefined,
      { failure: 'scraped by Prometheus only once in the window: make --verdict-window a few scrape intervals long' },
    ],
  ])('name a pod %s', (_, ups, start, end) => {
    const s = sample(ups, []);
    if (start) expect(s.start).toEqual(start);
    if (end) expect(s.end).toEqual(end);
  });
});

describe('the Prometheus the verdict asks', () => {
  it.each<[string, ReturnType<typeof serviceTargetOf>]>([
    ['http://prometheus.monitoring.svc:9090', PROMETHEUS],
    ['http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090/', { kind: 'service', namespace: 'monitoring', service: 'kube-prometheus-stack-prometheus', port: 9090 }],
    ['http://prometheus.monitoring.svc', { kind: 'service', namespace: 'monitoring', service: 'prometheus', port: 80 }],
    ['https://prometheus.example.com', { kind: 'url', url: 'https://prometheus.example.com' }],
    ['http://prometheus.monitoring.svc:9090/prometheus', { kind: 'url', url: 'http://prometheus.monitoring.svc:9090/prometheus' }],
  ])('is reached for %s at %j', (url, target) => {
    expect(serviceTargetOf(url)).toEqual(target);
  });

  it.each<[string, Parameters<typeof chooseCounterSource>[0], CounterSource]>([
    ['an environment with a Prometheus', { flag: 'auto', environment: { prometheusUrl: 'http://prometheus.monitoring.svc:9090' } }, { kind: 'prometheus', target: PROMETHEUS, fallback: true }],
    ['an environment admitting the control plane', { flag: 'auto', environment: { prometheusUrl: 'http://prometheus.monitoring.svc:9090', controlPlaneCidr: '10.0.0.0/16' } }, { kind: 'pod-proxy' }],
    ['--prometheus', { flag: 'auto', prometheus: 'http://127.0.0.1:9090', environment: { prometheusUrl: 'http://prometheus.monitoring.svc:9090' } }, { kind: 'prometheus', target: { kind: 'url', url: 'http://127.0.0.1:9090' }, fallback: true }],
    ['--manifests (no environment)', { flag: 'auto' }, { kind: 'prometheus', target: PROMETHEUS, fallback: true }],
    ['--verdict-source prometheus', { flag: 'prometheus', environment: { prometheusUrl: 'http://prometheus.monitoring.svc:9090', controlPlaneCidr: '10.0.0.0/16' } }, { kind: 'prometheus', target: PROMETHEUS, fallback: false }],
    ['--verdict-source pod-proxy', { flag: 'pod-proxy', environment: { prometheusUrl: 'http://prometheus.monitoring.svc:9090' } }, { kind: 'pod-proxy' }],
  ])('with %s', (_, input, source) => {
    expect(chooseCounterSource(input)).toEqual(source);
  });

  it('answers range vectors, which parseMatrix reads with each sample’s time', () => {
    const body = JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: { pod: 'a' }, values: [[1000.5, '1'], [1005.5, '2']] }] } });
    expect(parseMatrix(200, body)).toEqual([{ labels: { pod: 'a' }, samples: [[1000.5, 1], [1005.5, 2]] }]);
    expect(() => parseMatrix(200, JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }))).toThrow(/answered a vector, not a range vector/);
  });
});

describe('taking the verdict from Prometheus', () => {
  const options: VerdictOptions = { deployment: 'www', windowSeconds: 1, port: 9090, path: '/metrics', policy: { minRequests: 50, tolerance: 0.01 }, onInconclusive: 'fail' };
  const pod = (name: string, hash: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'www', 'pod-template-hash': hash } }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  const pods = [pod('www-new-1', 'new'), pod('www-old-1', 'old'), pod('www-old-2', 'old'), pod('www-old-3', 'old')];
  /** Scrapes every half second from the window's start (Prometheus' time 1000); the verdict waits 1 s. */
  const scrapes = [1000.25, 1000.75, 1001.25, 1001.75];
  const answer = (resultType: string, result: unknown[]) => ({ status: 200, body: JSON.stringify({ status: 'success', data: { resultType, result } }) });

  interface Fake {
    readonly kube: Kube;
    readonly asked: string[];
  }

  /** One new and three old pods; Prometheus (behind the service proxy) answers `prometheus`, each pod's metrics `podMetrics`. */
  function cluster(prometheus: (promql: string) => { status: number; body: string }, podMetrics: (pod: string) => { status: number; body: string } | Error = () => ({ status: 200, body: '' })): Fake {
    const asked: string[] = [];
    const fake = {
      get: () => Promise.resolve({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'www', generation: 2, annotations: { 'deployment.kubernetes.io/revision': '2' } }, spec: { selector: { matchLabels: { app: 'www' } } }, status: { observedGeneration: 2 } }),
      list: (_: string, kind: string) => Promise.resolve(kind === 'ReplicaSet' ? [{ apiVersion: 'apps/v1', kind, metadata: { name: 'www-new', annotations: { 'deployment.kubernetes.io/revision': '2' }, labels: { 'pod-template-hash': 'new' } } }] : pods),
      proxyGet: (path: string) => {
        asked.push(path);
        const promql = /\/services\/prometheus:9090\/proxy\/api\/v1\/query\?query=(.*)$/.exec(path)?.[1];
        if (promql !== undefined) return Promise.resolve(prometheus(decodeURIComponent(promql)));
        const metrics = podMetrics(/pods\/([^:]+):/.exec(path)?.[1] ?? '');
        return metrics instanceof Error ? Promise.reject(metrics) : Promise.resolve(metrics);
      },
    };
    return { kube: fake as unknown as Kube, asked };
  }

  /** Prometheus scraping every pod: `errors(pod)` 5xx of 100 requests per pod over the window. */
  const scraping = (errors: (pod: string) => number, scraped = pods.map((p) => p.metadata.name)) => (promql: string) => {
    if (promql === 'vector(time())') return answer('vector', [{ metric: {}, value: [1000, '1000'] }]);
    if (promql.startsWith('up{') && promql.endsWith('== 1')) return answer('vector', scraped.map((p) => ({ metric: { pod: p }, value: [1000, '1'] })));
    const labels = (p: string) => ({ namespace: 'ns', pod: p, job: 'www', instance: `${p}:9090` });
    if (promql.startsWith('up{')) return answer('matrix', scraped.map((p) => ({ metric: { __name__: 'up', ...labels(p) }, values: scrapes.map((t) => [t, '1']) })));
    return answer(
      'matrix',
      scraped.flatMap((p) => [
        { metric: { ...labels(p), route: '/', status_code: '200' }, values: scrapes.map((t, i) => [t, String(i === 0 ? 1000 : 1000 + 100 - errors(p))]) },
        { metric: { ...labels(p), route: '/', status_code: '500' }, values: scrapes.map((t, i) => [t, String(i === 0 ? 0 : errors(p))]) },
      ]),
    );
  };
  const prometheusSource = (fallback: boolean): VerdictOptions => ({ ...options, source: { kind: 'prometheus', target: PROMETHEUS, fallback } });

  it('reads each pod’s counters from Prometheus over the same scrapes, and never asks the pods', async () => {
    const progress: string[] = [];
    const fake = cluster(scraping((p) => (p === 'www-new-1' ? 20 : 0)));
    const v = await takeVerdict(fake.kube, 'ns', prometheusSource(true), { deadlineMs: 1000, onProgress: (l) => progress.push(l) });
    expect(v).toMatchObject({ outcome: 'fail', source: 'prometheus', new: { total: 100, errors: 20, pods: 1 }, old: { total: 300, errors: 0, pods: 3 }, excluded: [] });
    expect(fake.asked.filter((p) => p.includes('/pods/'))).toEqual([]);
    expect(fake.asked.map((p) => decodeURIComponent(p))).toContainEqual(
      expect.stringMatching(/^\/api\/v1\/namespaces\/monitoring\/services\/prometheus:9090\/proxy\/api\/v1\/query\?query=http_requests_total\{namespace="ns",pod=~"www-new-1\|www-old-1\|www-old-2\|www-old-3"\}\[\d+s\]$/),
    );
    expect(progress[0]).toMatch(/^window of 1 s over 1 new and 3 old pods; counters from Prometheus monitoring\/prometheus:9090 \(API server proxy\), from each pod’s first scrape after the window opens to its first after it closes$/);
  });

  it('falls back to the pod proxy when Prometheus cannot be asked, and says so', async () => {
    const progress: string[] = [];
    const metrics = new Map<string, number>();
    const fake = cluster(
      () => ({ status: 503, body: JSON.stringify({ kind: 'Status', message: 'no endpoints available for service "prometheus"' }) }),
      (p) => {
        const n = (metrics.get(p) ?? 0) + 1;
        metrics.set(p, n);
        return { status: 200, body: `http_requests_total{route="/",status_code="200"} ${100 * n}` };
      },
    );
    const v = await takeVerdict(fake.kube, 'ns', prometheusSource(true), { deadlineMs: 1000, onProgress: (l) => progress.push(l) });
    expect(v).toMatchObject({ outcome: 'pass', source: 'pod-proxy', new: { total: 100 }, old: { total: 300 } });
    expect(progress[0]).toMatch(/^Prometheus cannot be asked \(monitoring\/prometheus:9090 \(API server proxy\) answered 503: no endpoints available for service "prometheus"\): reading the pods through the API server's pod proxy instead$/);
  });

  it('falls back to the pod proxy when Prometheus does not scrape the old pods', async () => {
    const progress: string[] = [];
    const fake = cluster(scraping(() => 0, []), () => ({ status: 200, body: 'http_requests_total{route="/",status_code="200"} 100' }));
    const v = await takeVerdict(fake.kube, 'ns', prometheusSource(true), { deadlineMs: 1000, onProgress: (l) => progress.push(l) });
    expect(v.source).toBe('pod-proxy');
    expect(progress[0]).toMatch(/does not scrape the old pods of Deployment\/www \(no up == 1 series\): reading the pods through the API server's pod proxy instead$/);
  });

  it('told to read Prometheus only, is inconclusive at once when it cannot be asked, naming why for every pod', async () => {
    const fake = cluster(() => ({ status: 503, body: '{"message":"no endpoints"}' }));
    const v = await takeVerdict(fake.kube, 'ns', { ...prometheusSource(false), windowSeconds: 600 }, { deadlineMs: 1000 });
    expect(v).toMatchObject({ outcome: 'inconclusive', source: 'prometheus' });
    expect(v.excluded).toHaveLength(4);
    expect(v.excluded[0]?.reason).toMatch(/^counters unreadable at the start of the window \(Prometheus monitoring\/prometheus:9090 \(API server proxy\) answered 503: no endpoints\)$/);
    expect(fake.asked.filter((p) => p.includes('/pods/'))).toEqual([]);
  });

  it('through the pod proxy, leaves out a pod whose read got no answer instead of failing the verdict', async () => {
    const fake = cluster(
      () => answer('vector', []),
      (p) => (p === 'www-old-1' ? new Error('GET …/pods/www-old-1:9090/proxy/metrics: no answer within 15 s') : { status: 200, body: 'http_requests_total{route="/",status_code="200"} 100' }),
    );
    const v = await takeVerdict(fake.kube, 'ns', { ...options, windowSeconds: 0, source: { kind: 'pod-proxy' } }, { deadlineMs: 1000 });
    expect(v.excluded).toEqual([{ pod: 'www-old-1', group: 'old', reason: 'counters unreadable at the start of the window (GET …/pods/www-old-1:9090/proxy/metrics: no answer within 15 s)' }]);
  });
});
