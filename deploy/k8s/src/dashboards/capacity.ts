import { RowBuilder, type DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { RATE, castleDashboard, panel, tier } from './panels.js';

/** www's capacity, its limiter and what it sheds, and its calls to the backend. */
export function capacityDashboard(): DashboardBuilder {
  const www = tier('www');
  const route = tier('www', 'route="/"');
  return castleDashboard('castle-capacity', 'Castle / Capacity', "www's fixed capacity per replica, the limiter's queue, load shedding (503 WWW_ERR_OVERLOADED) and the backend calls.")
    .withRow(new RowBuilder('Capacity and shedding'))
    .withPanel(
      panel({
        title: 'Demand against capacity',
        description: 'GET / arriving at www per second, against the sum of the running replicas\u2019 capacity (WWW_CAPACITY_RPS each).',
        unit: 'reqps',
        min: 0,
        queries: [
          { expr: `sum(rate(http_requests_total${route}[${RATE}]))`, legend: 'demand' },
          { expr: `sum(www_capacity_requests_per_second${www})`, legend: 'capacity' },
        ],
      }),
    )
    .withPanel(
      panel({
        title: 'Utilisation per replica',
        description: 'Requests admitted over the last 10 s as a share of each replica\u2019s capacity; uneven values mean uneven balancing.',
        unit: 'percentunit',
        min: 0,
        queries: [{ expr: `max by (pod) (www_capacity_utilisation_ratio${www})`, legend: '{{pod}}' }],
      }),
    )
    .withPanel(
      panel({
        title: 'Shed by reason',
        description: 'Requests shed with 503 per second: rate (over capacity) or concurrency (too many held).',
        unit: 'reqps',
        min: 0,
        queries: [{ expr: `sum by (reason) (rate(www_shed_total${www}[${RATE}]))`, legend: '{{reason}}' }],
      }),
    )
    .withPanel(
      panel({
        title: 'Shed share',
        description: 'Share of GET / shed; CastleWwwShedding tickets above 5% for 10 minutes.',
        unit: 'percentunit',
        min: 0,
        queries: [{ expr: `sum(rate(www_shed_total${www}[${RATE}]))\n/\nsum(rate(http_requests_total${route}[${RATE}]))`, legend: 'shed share' }],
      }),
    )
    .withRow(new RowBuilder('Limiter'))
    .withPanel(
      panel({
        title: 'Queue',
        description: 'Requests waiting for a slot, and held (waiting or running), over all replicas.',
        unit: 'short',
        min: 0,
        queries: [
          { expr: `sum(www_limiter_waiting_requests${www})`, legend: 'waiting' },
          { expr: `sum(www_limiter_held_requests${www})`, legend: 'held' },
        ],
      }),
    )
    .withPanel(
      panel({
        title: 'Wait for capacity and timer lateness',
        description: 'p99 of the time admitted requests waited (bounded by WWW_MAX_WAIT_MS), and the worst lateness of the wait timers (event-loop lag), which the limiter keeps as a margin.',
        unit: 's',
        min: 0,
        queries: [
          { expr: `histogram_quantile(0.99, sum by (le) (rate(www_limiter_wait_seconds_bucket${www}[${RATE}])))`, legend: 'wait p99' },
          { expr: `max(www_limiter_timer_lateness_seconds${www})`, legend: 'timer lateness (worst)' },
        ],
      }),
    )
    .withRow(new RowBuilder('Backend calls'))
    .withPanel(
      panel({
        title: 'Backend calls by outcome',
        description: 'Calls from www to the backend after retries, per second, by outcome; and the retries.',
        unit: 'reqps',
        min: 0,
        queries: [
          { expr: `sum by (outcome) (rate(www_backend_calls_total${www}[${RATE}]))`, legend: '{{outcome}}' },
          { expr: `sum(rate(www_backend_retries_total${www}[${RATE}]))`, legend: 'retries' },
        ],
      }),
    )
    .withPanel(
      panel({
        title: 'Circuit breaker',
        description: 'The circuit in front of the backend per www pod: 0 closed, 1 half-open, 2 open.',
        unit: 'short',
        min: 0,
        max: 2,
        queries: [{ expr: `max by (pod) (www_backend_circuit_state${www})`, legend: '{{pod}}' }],
      }),
    );
}
