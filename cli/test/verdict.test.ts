import { describe, expect, it } from 'vitest';
import { type Counts, type Groups, type PodSample, type VerdictPolicy, DEFAULT_VERDICT_POLICY, groupIncreases, increase, judge, oneSidedFisher, parseRequestCounts } from '../src/rollout/verdict.js';

const g = (old: Counts, next: Counts): Groups => ({ old: { ...old, pods: 1 }, new: { ...next, pods: 1 }, excluded: [] });
const min0: VerdictPolicy = { ...DEFAULT_VERDICT_POLICY, minRequests: 0 };

describe('the rollout verdict', () => {
  it.each<[string, 'pass' | 'fail' | 'inconclusive', Groups, VerdictPolicy, RegExp]>([
    ['no requests on either side', 'inconclusive', g({ total: 0, errors: 0 }, { total: 0, errors: 0 }), DEFAULT_VERDICT_POLICY, /old pods saw 0 and new pods saw 0 requests, fewer than the minimum of 50/],
    ['no requests on either side and a minimum of 0', 'inconclusive', g({ total: 0, errors: 0 }, { total: 0, errors: 0 }), min0, /fewer than the minimum of 1/],
    ['no new requests and a minimum of 0', 'inconclusive', g({ total: 1000, errors: 0 }, { total: 0, errors: 0 }), min0, /new pods saw 0 requests/],
    ['too few new requests', 'inconclusive', g({ total: 1000, errors: 0 }, { total: 10, errors: 10 }), DEFAULT_VERDICT_POLICY, /new pods saw 10 requests, fewer than the minimum of 50/],
    ['too few old requests', 'inconclusive', g({ total: 3, errors: 0 }, { total: 1000, errors: 0 }), DEFAULT_VERDICT_POLICY, /old pods saw 3/],
    ['one 5xx in 50 new requests against none in 750 old', 'pass', g({ total: 750, errors: 0 }, { total: 50, errors: 1 }), DEFAULT_VERDICT_POLICY, /new pods 2\.00% 5xx, old pods 0\.00%: not significantly higher .*p = 0\.063/],
    ['one 5xx in 50 new requests against none in 50 old', 'pass', g({ total: 50, errors: 0 }, { total: 50, errors: 1 }), DEFAULT_VERDICT_POLICY, /p = 0\.50/],
    ['2% against 0% over a quarter of the traffic', 'fail', g({ total: 750, errors: 0 }, { total: 250, errors: 5 }), DEFAULT_VERDICT_POLICY, /new pods answered 2\.00% with 5xx against 0\.00% for old pods: significantly higher at 99% confidence \(one-sided Fisher exact test, p = 0\.00095\) and by more than the tolerance of 1\.00%/],
    // The cluster scenario: 20% injected 5xx on 1 of 4 backend pods at ~50 rps for a 20 s window.
    ['20% against 0% on a quarter of a 20 s window at 50 rps', 'fail', g({ total: 750, errors: 0 }, { total: 250, errors: 50 }), DEFAULT_VERDICT_POLICY, /20\.00% with 5xx against 0\.00%.*p < 0\.0001/],
    ['20% against 0% with just the minimum of new requests', 'fail', g({ total: 150, errors: 0 }, { total: 50, errors: 10 }), DEFAULT_VERDICT_POLICY, /20\.00% with 5xx/],
    ['equal error ratios', 'pass', g({ total: 1000, errors: 20 }, { total: 1000, errors: 20 }), DEFAULT_VERDICT_POLICY, /new pods 2\.00% 5xx, old pods 2\.00%: not significantly higher/],
    ['a small increase on few requests', 'pass', g({ total: 1000, errors: 20 }, { total: 1000, errors: 25 }), DEFAULT_VERDICT_POLICY, /2\.50%/],
    ['a significant increase within the tolerance', 'pass', g({ total: 100_000, errors: 2000 }, { total: 100_000, errors: 2500 }), DEFAULT_VERDICT_POLICY, /significantly higher .* but within the tolerance of 1\.00%/],
    ['a large increase', 'fail', g({ total: 1000, errors: 20 }, { total: 1000, errors: 100 }), DEFAULT_VERDICT_POLICY, /10\.00% with 5xx against 2\.00%/],
    ['fewer errors in the new pods', 'pass', g({ total: 1000, errors: 100 }, { total: 1000, errors: 0 }), DEFAULT_VERDICT_POLICY, /new pods 0\.00%/],
  ])('with %s is %s', (_, outcome, groups, policy, reason) => {
    const v = judge(groups, policy);
    expect(v.outcome).toBe(outcome);
    expect(v.reason).toMatch(reason);
  });

  it('reports the real traffic share of the new pods', () => {
    expect(judge(g({ total: 750, errors: 0 }, { total: 250, errors: 0 })).trafficShare).toBe(0.25);
  });

  it('stores the p-value, the confidence and the pods left out', () => {
    const excluded = [{ pod: 'www-a', group: 'old' as const, reason: 'counters unreadable at the start of the window (HTTP 503)' }];
    const v = judge({ ...g({ total: 50, errors: 0 }, { total: 50, errors: 1 }), excluded });
    expect(v).toMatchObject({ pValue: 0.5, confidence: 0.99, excluded });
    expect(judge(g({ total: 0, errors: 0 }, { total: 0, errors: 0 })).pValue).toBeNull();
  });
});

describe('the one-sided Fisher exact test', () => {
  // Closed forms: with k errors in all, all of them on the new side has probability C(n, k) / C(N, k).
  it.each<[string, Counts, Counts, number]>([
    ["Fisher's tea tasting (3 of 4 against 1 of 4): 17/70", { total: 4, errors: 3 }, { total: 4, errors: 1 }, 17 / 70],
    ['one error, on the new side: its share of the requests', { total: 50, errors: 1 }, { total: 750, errors: 0 }, 50 / 800],
    ['two errors, both on the new side', { total: 50, errors: 2 }, { total: 750, errors: 0 }, (50 * 49) / (800 * 799)],
    ['five errors, all on the new side', { total: 250, errors: 5 }, { total: 750, errors: 0 }, (250 * 249 * 248 * 247 * 246) / (1000 * 999 * 998 * 997 * 996)],
    ['no errors at all', { total: 100, errors: 0 }, { total: 100, errors: 0 }, 1],
    ['no errors on the new side', { total: 100, errors: 0 }, { total: 100, errors: 7 }, 1],
  ])('gives %s', (_, next, old, p) => {
    expect(oneSidedFisher(next, old)).toBeCloseTo(p, 12);
  });

  it('stays finite on large counts', () => {
    const p = oneSidedFisher({ total: 1_000_000, errors: 20_500 }, { total: 1_000_000, errors: 20_000 });
    expect(p).toBeGreaterThan(0.001);
    expect(p).toBeLessThan(0.01);
  });
});

describe('counter increases', () => {
  it.each<[string, Counts, Counts, Counts]>([
    ['are end minus start', { total: 100, errors: 2 }, { total: 160, errors: 5 }, { total: 60, errors: 3 }],
    ['after a reset (a lower total) are the end values, counted since the restart', { total: 1000, errors: 40 }, { total: 30, errors: 1 }, { total: 30, errors: 1 }],
    ['after a reset seen only in the errors are the end values too', { total: 100, errors: 10 }, { total: 150, errors: 3 }, { total: 150, errors: 3 }],
    ['after a reset never count more errors than requests', { total: 10, errors: 5 }, { total: 8, errors: 7 }, { total: 8, errors: 7 }],
  ])('%s', (_, start, end, expected) => {
    expect(increase(start, end)).toEqual(expected);
  });

  it('are grouped by pod-template-hash, new against all the others', () => {
    const groups = groupIncreases(
      [
        { pod: 'a', hash: 'old1', start: { total: 10, errors: 0 }, end: { total: 110, errors: 1 } },
        { pod: 'b', hash: 'old2', start: { total: 500, errors: 9 }, end: { total: 20, errors: 0 } },
        { pod: 'c', hash: 'new', start: { total: 0, errors: 0 }, end: { total: 40, errors: 4 } },
      ],
      'new',
    );
    expect(groups).toEqual({ old: { total: 120, errors: 1, pods: 2 }, new: { total: 40, errors: 4, pods: 1 }, excluded: [] });
  });

  it('leave out a pod whose counters could not be read at the start or the end of the window, saying why', () => {
    const groups = groupIncreases(
      [
        { pod: 'a', hash: 'old', start: { failure: 'HTTP 503' }, end: { total: 9000, errors: 300 } },
        { pod: 'b', hash: 'old', start: { total: 10, errors: 0 }, end: { total: 110, errors: 0 } },
        { pod: 'c', hash: 'new', start: { total: 0, errors: 0 }, end: { failure: 'HTTP 502' } },
        { pod: 'd', hash: 'new', start: { total: 5, errors: 0 }, end: { total: 105, errors: 2 } },
      ],
      'new',
    );
    expect(groups).toEqual({
      old: { total: 100, errors: 0, pods: 1 },
      new: { total: 100, errors: 2, pods: 1 },
      excluded: [
        { pod: 'a', group: 'old', reason: 'counters unreadable at the start of the window (HTTP 503)' },
        { pod: 'c', group: 'new', reason: 'counters unreadable at the end of the window (HTTP 502)' },
      ],
    });
  });

  // New pods at 2% against old at 0%: one old pod's failed start read must not turn its lifetime totals into window counts.
  const window: PodSample[] = [
    { pod: 'new-1', hash: 'new', start: { total: 0, errors: 0 }, end: { total: 250, errors: 5 } },
    { pod: 'old-1', hash: 'old', start: { total: 8000, errors: 240 }, end: { total: 8250, errors: 240 } },
    { pod: 'old-2', hash: 'old', start: { total: 9000, errors: 270 }, end: { total: 9250, errors: 270 } },
    { pod: 'old-3', hash: 'old', start: { total: 9500, errors: 280 }, end: { total: 9750, errors: 280 } },
  ];
  it.each<[string, PodSample[], number]>([
    ['every start read', window, 0],
    ['one old pod without its start read', window.map((s) => (s.pod === 'old-1' ? { ...s, start: { failure: 'HTTP 503' } } : s)), 1],
  ])('make new pods at 2 percent 5xx against old at 0 a fail with %s', (_, samples, left) => {
    const v = judge(groupIncreases(samples, 'new'));
    expect(v.outcome).toBe('fail');
    expect(v.old.ratio).toBe(0);
    expect(v.excluded).toHaveLength(left);
  });
});

describe('reading http_requests_total', () => {
  it('sums requests and 5xx answers, leaving out probes and scrapes', () => {
    const text = [
      '# HELP http_requests_total HTTP requests answered',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="GET",route="/",status_code="200"} 90',
      'http_requests_total{method="GET",route="/",status_code="500"} 7',
      'http_requests_total{method="GET",route="/",status_code="503"} 3',
      'http_requests_total{method="GET",route="/",status_code="404"} 5',
      'http_requests_total{method="GET",route="/healthz",status_code="200"} 1000',
      'http_requests_total{method="GET",route="/metrics",status_code="500"} 2',
      'http_requests_in_flight 4',
    ].join('\n');
    expect(parseRequestCounts(text)).toEqual({ total: 105, errors: 10 });
  });
});
