import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { Kube } from '../src/kube/client.js';
import { formatStatus, formatTraffic } from '../src/output/format.js';
import { PrometheusError, describeTarget, parseVector, prometheusQuery, prometheusTarget, type Sample } from '../src/traffic/prometheus.js';
import { assembleTraffic, liveTraffic, trafficQueries, type TrafficReport } from '../src/traffic/traffic.js';
import { KubeConfig } from '@kubernetes/client-node';

const vector = (result: { metric: Record<string, string>; value: [number, string] }[]) => JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
const sample = (job: string, value: number): Sample => ({ labels: { job }, value });

describe('the traffic queries', () => {
  it('select the release namespace and its tiers by the labels the ServiceMonitors give, leaving out the probes', () => {
    const q = trafficQueries('castle', ['www', 'backend']);
    expect(q.requests).toBe('sum by (job) (rate(http_requests_total{namespace="castle",job=~"www|backend",route!~"/healthz|/readyz"}[1m]))');
    expect(q.errors).toBe('sum by (job) (rate(http_requests_total{namespace="castle",job=~"www|backend",route!~"/healthz|/readyz",status_code=~"5.."}[1m]))');
    expect(q.replicas).toBe('count by (job) (up{namespace="castle",job=~"www|backend"} == 1)');
    expect(q.shed).toBe('sum by (job) (rate(www_shed_total{namespace="castle",job=~"www|backend"}[1m]))');
  });

  it('escape regular expression characters in tier names', () => {
    expect(trafficQueries('ns', ['a.b']).replicas).toContain('job=~"a\\.b"');
  });
});

describe('assembleTraffic', () => {
  it('makes one row per tier in the order given, with the error ratio of requests and shed only where counted', () => {
    const rows = assembleTraffic(['www', 'backend'], {
      requests: [sample('backend', 40), sample('www', 50)],
      errors: [sample('www', 5)],
      replicas: [sample('www', 5), sample('backend', 2)],
      shed: [sample('www', 4.5)],
    });
    expect(rows).toEqual([
      { tier: 'www', replicas: 5, requestsPerSecond: 50, errorRatio: 0.1, shedPerSecond: 4.5 },
      { tier: 'backend', replicas: 2, requestsPerSecond: 40, errorRatio: 0, shedPerSecond: null },
    ]);
  });

  it('says "no data" (null) rather than 0 for a tier Prometheus has no series of, and no ratio without requests', () => {
    const rows = assembleTraffic(['www', 'backend'], { requests: [sample('www', 0)], errors: [], replicas: [], shed: [] });
    expect(rows).toEqual([
      { tier: 'www', replicas: 0, requestsPerSecond: 0, errorRatio: null, shedPerSecond: null },
      { tier: 'backend', replicas: 0, requestsPerSecond: null, errorRatio: null, shedPerSecond: null },
    ]);
  });
});

describe('liveTraffic', () => {
  it('asks the four queries and reports the figures with their source and window', async () => {
    const asked: string[] = [];
    const report = await liveTraffic(
      (q) => {
        asked.push(q);
        return Promise.resolve(q.startsWith('count') ? [sample('www', 2)] : [sample('www', 10)]);
      },
      'here',
      'ns',
      ['www'],
    );
    expect(asked).toHaveLength(4);
    expect(report).toEqual({ source: 'here', window: '1m', tiers: [{ tier: 'www', replicas: 2, requestsPerSecond: 10, errorRatio: 1, shedPerSecond: 10 }] });
  });

  it('reports Prometheus as unavailable, with the reason, instead of failing', async () => {
    const report = await liveTraffic(() => Promise.reject(new PrometheusError('no answer')), 'here', 'ns', ['www']);
    expect(report).toEqual({ source: 'here', unavailable: 'no answer' });
  });

  it('lets other errors through', async () => {
    await expect(liveTraffic(() => Promise.reject(new TypeError('bug')), 'here', 'ns', ['www'])).rejects.toThrow('bug');
  });
});

describe('parseVector', () => {
  it('reads the labels and values of an instant vector', () => {
    expect(parseVector(200, vector([{ metric: { job: 'www' }, value: [1, '12.5'] }]))).toEqual([{ labels: { job: 'www' }, value: 12.5 }]);
  });

  it.each([
    ['an error answer', 400, JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }), 'answered 400: parse error'],
    ['a matrix', 200, JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }), 'answered a matrix, not an instant vector'],
    ['a body that is not JSON', 502, '<html>bad gateway</html>', 'answered 502 with a body that is not JSON: <html>bad gateway</html>'],
  ])('names %s', (_, status, body, message) => {
    expect(() => parseVector(status, body)).toThrow(new PrometheusError(message));
  });
});

describe('--prometheus', () => {
  it('defaults to the monitoring add-on through the API server proxy', () => {
    expect(describeTarget(prometheusTarget(undefined))).toBe('monitoring/prometheus:9090 (API server proxy)');
  });

  it('takes an http(s) URL without its trailing slash', () => {
    expect(prometheusTarget('http://127.0.0.1:9090/')).toEqual({ kind: 'url', url: 'http://127.0.0.1:9090' });
  });

  it.each(['prometheus:9090', 'ftp://host/', 'not a url'])('refuses %s as a usage error naming the flag', (url) => {
    expect(() => prometheusTarget(url)).toThrow(UsageError);
    expect(() => prometheusTarget(url)).toThrow(`--prometheus must be an http(s) URL such as http://127.0.0.1:9090, not "${url}"`);
  });
});

describe('prometheusQuery against a loopback HTTP server standing in for Prometheus', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
  const kube = new Kube(new KubeConfig());

  it('sends the query URL-encoded to /api/v1/query and parses the answer', async () => {
    let seen = '';
    const url = await listen((req, res) => {
      seen = req.url ?? '';
      res.end(vector([{ metric: { job: 'www' }, value: [1, '3'] }]));
    });
    const query = prometheusQuery(kube, prometheusTarget(url));
    expect(await query('up{job="www"} == 1')).toEqual([{ labels: { job: 'www' }, value: 3 }]);
    expect(new URL(seen, url).searchParams.get('query')).toBe('up{job="www"} == 1');
  });

  it('gives up after the timeout with a PrometheusError naming the target', async () => {
    const url = await listen(() => undefined);
    const query = prometheusQuery(kube, prometheusTarget(url), 300);
    await expect(query('up')).rejects.toThrow(new PrometheusError(`no answer from ${url} within 0.3 s`));
    server?.closeAllConnections();
  });

  it('turns a refused connection into a PrometheusError', async () => {
    const url = await listen((_, res) => res.end());
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    await expect(prometheusQuery(kube, prometheusTarget(url))('up')).rejects.toThrow(/ECONNREFUSED/);
  });

  it("shows a proxy's Kubernetes Status message for a Service without endpoints", async () => {
    const url = await listen((_, res) => {
      res.statusCode = 503;
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', message: 'no endpoints available for service "prometheus"' }));
    });
    await expect(prometheusQuery(kube, prometheusTarget(url))('up')).rejects.toThrow(`${url} answered 503: no endpoints available for service "prometheus"`);
  });
});

describe('castle status output', () => {
  const base = { release: 'castle', namespace: 'castle', current: { revision: 2, version: '1.0.0', status: 'succeeded' as const }, deployments: [] };
  const figures: TrafficReport = {
    source: 'monitoring/prometheus:9090 (API server proxy)',
    window: '1m',
    tiers: [
      { tier: 'www', replicas: 8, requestsPerSecond: 49.84, errorRatio: 0.0123, shedPerSecond: 0.6 },
      { tier: 'backend', replicas: 3, requestsPerSecond: 50.1, errorRatio: 0, shedPerSecond: null },
    ],
  };

  it('prints a table of replicas, request rate, error ratio and shed rate per tier', () => {
    expect(formatTraffic(figures)).toBe(
      [
        'traffic over the last 1m (Prometheus monitoring/prometheus:9090 (API server proxy)):',
        'TIER     REPLICAS  REQUESTS/S  ERRORS  SHED/S',
        'www      8         49.8        1.2%    0.60',
        'backend  3         50.1        0.0%    —',
        '',
      ].join('\n'),
    );
  });

  it('says in one line when Prometheus is not reachable, after the rest of the status', () => {
    const text = formatStatus({ ...base, traffic: { source: 'x', unavailable: 'monitoring/prometheus:9090 (API server proxy) answered 503: no endpoints' } });
    expect(text.split('\n').filter(Boolean).at(-1)).toBe(
      'traffic: Prometheus not reachable (monitoring/prometheus:9090 (API server proxy) answered 503: no endpoints); pass --prometheus URL to ask another',
    );
    expect(text).toMatch(/^release castle in castle: revision 2 \(1\.0\.0\) succeeded\nDEPLOYMENT/);
  });

  it('keeps small error ratios visible', () => {
    expect(formatTraffic({ ...figures, tiers: [{ tier: 'www', replicas: 1, requestsPerSecond: 1000, errorRatio: 0.0004, shedPerSecond: 0 }] })).toContain('0.040%');
  });
});
