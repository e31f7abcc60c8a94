/**
 * Scenarios for promtool, against the rules of {@link rulesUnderTest}: each alert on both
 * sides of its threshold, and of its `for`. Counters advance per minute (the default
 * interval), so `0+588x70` is 9.8 requests/s for 70 minutes.
 */
import type { CastleRulesProps } from '../../src/alerting/castle-rules.js';
import type { PromtoolCase, Series } from './promtool.js';

/** The rules' parameters: the defaults (the SRE workbook's windows) with an autoscaled www of at most 4. */
export const rulesUnderTest: CastleRulesProps = { namespace: 'castle', wwwMaxReplicas: 4 };

const ns = { namespace: 'castle' };
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
const requests = (container: string, status: string, values: string, namespace = 'castle'): Series => ({
  series: `http_requests_total${labels({ namespace, container, pod: `${container}-1`, route: '/', method: 'GET', status_code: status })}`,
  values,
});
const durations = (fastLe: string, count: string, fast: string): Series[] => {
  const l = { namespace: 'castle', container: 'www', pod: 'www-1', route: '/', method: 'GET', status_code: '200' };
  return [
    { series: `http_request_duration_seconds_count${labels(l)}`, values: count },
    { series: `http_request_duration_seconds_bucket${labels({ ...l, le: fastLe })}`, values: fast },
  ];
};
const availabilityBurn = { CastleWwwAvailabilityFastBurn: [ns], CastleWwwAvailabilitySlowBurn: [ns] };

export const cases: PromtoolCase[] = [
  {
    name: 'availability: 2% of GET / failing for an hour pages (14.4x over 1h and 5m) and opens a ticket',
    series: [requests('www', '200', '0+588x70'), requests('www', '502', '0+12x70')],
    expect: [{ at: '60m', firing: availabilityBurn }],
  },
  {
    name: 'availability: 3% failing in the last hour after five clean ones pages through 1h/5m alone (6h stays under 6x)',
    series: [requests('www', '200', '0+600x300 180000+582x60'), requests('www', '502', '0x300 0+18x60')],
    expect: [{ at: '360m', firing: { CastleWwwAvailabilityFastBurn: [ns], CastleWwwAvailabilitySlowBurn: [ns] } }],
  },
  {
    name: 'availability: 1% failing in the last hour after five clean ones does not page (1h under 14.4x, 6h under 6x) but opens a ticket (3d/6h over 1x)',
    series: [requests('www', '200', '0+600x300 180000+594x60'), requests('www', '502', '0x300 0+6x60')],
    expect: [{ at: '360m', firing: { CastleWwwAvailabilitySlowBurn: [ns] } }],
  },
  {
    name: 'availability: 1% failing pages through 6h/30m (6x) although 1h stays under 14.4x',
    series: [requests('www', '200', '0+594x70'), requests('www', '502', '0+6x70')],
    expect: [{ at: '60m', firing: availabilityBurn }],
  },
  {
    name: 'availability: 0.5% failing opens a ticket (1d/2h over 3x) and does not page',
    series: [requests('www', '200', '0+1990x70'), requests('www', '502', '0+10x70')],
    expect: [{ at: '60m', firing: { CastleWwwAvailabilitySlowBurn: [ns] } }],
  },
  {
    name: 'availability: 0.2% failing opens a ticket through 3d/6h (1x) alone',
    series: [requests('www', '200', '0+1996x70'), requests('www', '502', '0+4x70')],
    expect: [{ at: '60m', firing: { CastleWwwAvailabilitySlowBurn: [ns] } }],
  },
  {
    name: 'availability: 0.05% failing stays within budget: nothing fires',
    series: [requests('www', '200', '0+1999x70'), requests('www', '502', '0+1x70')],
    expect: [{ at: '60m', firing: {} }],
  },
  {
    name: 'availability: a burn that stopped 35 minutes ago no longer pages (both short windows are clean) but keeps its ticket',
    series: [requests('www', '200', '0+570x25 14250+600x35'), requests('www', '502', '0+30x25 750+0x35')],
    expect: [
      { at: '20m', firing: availabilityBurn },
      { at: '60m', firing: { CastleWwwAvailabilitySlowBurn: [ns] } },
    ],
  },
  {
    name: 'availability: the recorded error ratio is 0 before any 5xx, and the share of 5xx after',
    series: [requests('www', '200', '0+600x70'), requests('www', '502', '_x30 0+6x39')],
    expect: [{ at: '20m', firing: {} }],
    queries: [
      { at: '20m', expr: 'castle:slo_errors:ratio_rate5m', samples: [{ labels: 'castle:slo_errors:ratio_rate5m{namespace="castle",slo="www-availability"}', value: 0 }] },
      { at: '60m', expr: 'castle:slo_errors:ratio_rate5m{slo="www-availability"}', samples: [{ labels: 'castle:slo_errors:ratio_rate5m{namespace="castle",slo="www-availability"}', value: 6 / 606 }] },
    ],
  },
  {
    name: 'availability: failures in another namespace do not count',
    series: [requests('www', '200', '0+600x70'), requests('www', '502', '0+600x70', 'other')],
    expect: [{ at: '60m', firing: {} }],
  },
  {
    name: 'latency: 20% of GET / slower than 1 s pages (over 14.4x the 1% budget) and opens a ticket',
    series: [requests('www', '200', '0+600x70'), ...durations('1', '0+600x70', '0+480x70')],
    expect: [{ at: '60m', firing: { CastleWwwLatencyFastBurn: [ns], CastleWwwLatencySlowBurn: [ns] } }],
  },
  {
    name: "latency: Prometheus 3's le=\"1.0\" bucket is the same bound",
    series: [requests('www', '200', '0+600x70'), ...durations('1.0', '0+600x70', '0+480x70')],
    expect: [{ at: '60m', firing: { CastleWwwLatencyFastBurn: [ns], CastleWwwLatencySlowBurn: [ns] } }],
  },
  {
    name: 'latency: 2% slower than 1 s opens a ticket (3d/6h over 1x) and does not page',
    series: [requests('www', '200', '0+600x70'), ...durations('1', '0+600x70', '0+588x70')],
    expect: [{ at: '60m', firing: { CastleWwwLatencySlowBurn: [ns] } }],
  },
  {
    name: 'latency: 0.5% slower than 1 s stays within budget',
    series: [requests('www', '200', '0+600x70'), ...durations('1', '0+600x70', '0+597x70')],
    expect: [{ at: '60m', firing: {} }],
  },
  {
    name: 'shedding: 10% of GET / shed fires after 10 minutes (with the availability burn it causes)',
    series: [
      requests('www', '200', '0+540x30'),
      requests('www', '503', '0+60x30'),
      { series: 'www_shed_total{namespace="castle",container="www",pod="www-1",reason="rate"}', values: '0+60x30' },
      { series: 'www_shed_total{namespace="castle",container="www",pod="www-1",reason="concurrency"}', values: '0x30' },
    ],
    expect: [
      { at: '8m', firing: availabilityBurn },
      { at: '20m', firing: { ...availabilityBurn, CastleWwwShedding: [ns] } },
    ],
  },
  {
    name: 'shedding: 3% of GET / shed stays under 5%',
    series: [
      requests('www', '200', '0+582x30'),
      requests('www', '503', '0+18x30'),
      { series: 'www_shed_total{namespace="castle",container="www",pod="www-1",reason="rate"}', values: '0+18x30' },
    ],
    expect: [{ at: '20m', firing: availabilityBurn }],
  },
  {
    name: 'backend: 5% of GET / failing (baseline 2% + 2%) fires after 10 minutes',
    series: [requests('backend', '200', '0+570x30'), requests('backend', '500', '0+30x30')],
    expect: [
      { at: '8m', firing: {} },
      { at: '20m', firing: { CastleBackendErrorRatioHigh: [ns] } },
    ],
  },
  {
    name: 'backend: 3% failing is within baseline plus tolerance',
    series: [requests('backend', '200', '0+582x30'), requests('backend', '500', '0+18x30')],
    expect: [{ at: '20m', firing: {} }],
  },
  {
    name: 'crash loop: two restarts within 15 minutes fire, one does not, and it resolves once restarts stop',
    series: [
      { series: 'process_start_time_seconds{namespace="castle",container="www",pod="www-1"}', values: '100x4 400x4 700x25' },
      { series: 'process_start_time_seconds{namespace="castle",container="backend",pod="backend-1"}', values: '100x4 400x30' },
    ],
    expect: [
      { at: '7m', firing: {} },
      { at: '12m', firing: { CastlePodCrashLooping: [{ ...ns, container: 'www', pod: 'www-1' }] } },
      { at: '30m', firing: {} },
    ],
  },
  {
    name: 'rollout stuck: two versions of www side by side for 15 minutes fire',
    series: [
      { series: 'castle_build_info{namespace="castle",container="www",pod="www-a",service="www",version="1.0.0",git_sha="aaaaaaa"}', values: '1x30' },
      { series: 'castle_build_info{namespace="castle",container="www",pod="www-b",service="www",version="1.1.0",git_sha="bbbbbbb"}', values: '1x30' },
      { series: 'castle_build_info{namespace="castle",container="backend",pod="backend-a",service="backend",version="1.0.0",git_sha="aaaaaaa"}', values: '1x30' },
    ],
    expect: [
      { at: '10m', firing: {} },
      { at: '20m', firing: { CastleRolloutStuck: [{ ...ns, container: 'www' }] } },
    ],
  },
  {
    name: 'rollout stuck: a rollout whose old pod went away after 5 minutes does not fire',
    series: [
      { series: 'castle_build_info{namespace="castle",container="www",pod="www-a",service="www",version="1.0.0",git_sha="aaaaaaa"}', values: '1x5 stale' },
      { series: 'castle_build_info{namespace="castle",container="www",pod="www-b",service="www",version="1.1.0",git_sha="bbbbbbb"}', values: '1x30' },
    ],
    expect: [{ at: '20m', firing: {} }],
  },
  {
    name: 'autoscaling: www at its maximum of 4 replicas for 30 minutes fires',
    series: [1, 2, 3, 4].map((i) => ({ series: `up{namespace="castle",container="www",pod="www-${i}"}`, values: '1x40' })),
    expect: [
      { at: '20m', firing: {} },
      { at: '35m', firing: { CastleWwwAtMaximumReplicas: [ns] } },
    ],
  },
  {
    name: 'autoscaling: 3 of 4 replicas up is below the maximum',
    series: [1, 2, 3, 4].map((i) => ({ series: `up{namespace="castle",container="www",pod="www-${i}"}`, values: i === 4 ? '0x40' : '1x40' })),
    expect: [{ at: '35m', firing: {} }],
  },
];
