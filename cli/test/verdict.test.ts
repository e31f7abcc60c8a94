import { describe, expect, it } from 'vitest';
import { type Counts, type Groups, groupIncreases, increase, judge, parseRequestCounts } from '../src/rollout/verdict.js';

const g = (old: Counts, next: Counts): Groups => ({ old: { ...old, pods: 1 }, new: { ...next, pods: 1 } });

describe('the rollout verdict', () => {
  it.each<[string, Groups, 'pass' | 'fail' | 'inconclusive', RegExp]>([
    ['equal error ratios', g({ total: 1000, errors: 20 }, { total: 1000, errors: 20 }), 'pass', /new pods 2\.00% 5xx, old pods 2\.00%/],
    ['a small increase within tolerance', g({ total: 1000, errors: 20 }, { total: 1000, errors: 25 }), 'pass', /2\.50%/],
    ['a large increase', g({ total: 1000, errors: 20 }, { total: 1000, errors: 100 }), 'fail', /10\.00% with 5xx against 2\.00%/],
    ['old pods with zero errors and new pods above the floor', g({ total: 500, errors: 0 }, { total: 500, errors: 50 }), 'fail', /against 0\.00%/],
    ['too few new requests', g({ total: 1000, errors: 0 }, { total: 10, errors: 10 }), 'inconclusive', /new pods saw 10 requests, fewer than the minimum of 50/],
    ['too few old requests', g({ total: 3, errors: 0 }, { total: 1000, errors: 0 }), 'inconclusive', /old pods saw 3/],
    ['no requests at all', g({ total: 0, errors: 0 }, { total: 0, errors: 0 }), 'inconclusive', /fewer than the minimum/],
    ['fewer errors in the new pods', g({ total: 1000, errors: 100 }, { total: 1000, errors: 0 }), 'pass', /new pods 0\.00%/],
  ])('with %s is %s', (_, groups, outcome, reason) => {
    const v = judge(groups);
    expect(v.outcome).toBe(outcome);
    expect(v.reason).toMatch(reason);
  });

  it('reports the real traffic share of the new pods', () => {
    expect(judge(g({ total: 750, errors: 0 }, { total: 250, errors: 0 })).trafficShare).toBe(0.25);
  });
});

describe('counter increases', () => {
  it('are end minus start', () => {
    expect(increase({ total: 100, errors: 2 }, { total: 160, errors: 5 })).toEqual({ total: 60, errors: 3 });
  });

  it('survive a counter reset: a lower end value is the increase since the restart', () => {
    expect(increase({ total: 1000, errors: 40 }, { total: 30, errors: 1 })).toEqual({ total: 30, errors: 1 });
  });

  it('count everything for a pod that started inside the window', () => {
    expect(increase(undefined, { total: 12, errors: 1 })).toEqual({ total: 12, errors: 1 });
  });

  it('are grouped by pod-template-hash, new against all the others', () => {
    const groups = groupIncreases(
      [
        { pod: 'a', hash: 'old1', start: { total: 10, errors: 0 }, end: { total: 110, errors: 1 } },
        { pod: 'b', hash: 'old2', start: { total: 500, errors: 9 }, end: { total: 20, errors: 0 } },
        { pod: 'c', hash: 'new', end: { total: 40, errors: 4 } },
      ],
      'new',
    );
    expect(groups).toEqual({ old: { total: 120, errors: 1, pods: 2 }, new: { total: 40, errors: 4, pods: 1 } });
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
