import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { RATE, castleDashboard, panel, tier } from './panels.js';

/**
 * Replicas against demand. The HPA's own desired and current replicas need
 * kube-state-metrics, which Castle's monitoring does not run: the running replicas are the
 * pods Prometheus scrapes, and the replicas needed come from demand over capacity.
 */
export function autoscalingDashboard(): DashboardBuilder {
  const www = tier('www');
  const route = tier('www', 'route="/"');
  return castleDashboard('castle-autoscaling', 'Castle / Autoscaling', 'www replicas against demand: running, needed at full capacity, and each replica\u2019s request rate against its capacity.')
    .withPanel(
      panel({
        title: 'Replicas',
        description: 'Pods answering scrapes per tier, and the www replicas demand needs at 100% of capacity (the autoscaler targets less, for headroom).',
        unit: 'short',
        min: 0,
        queries: [
          { expr: `count(up${www} == 1)`, legend: 'www running' },
          { expr: `ceil(sum(rate(http_requests_total${route}[${RATE}])) / max(www_capacity_requests_per_second${www}))`, legend: 'www needed at full capacity' },
          { expr: `count(up${tier('backend')} == 1)`, legend: 'backend running' },
        ],
      }),
    )
    .withPanel(
      panel({
        title: 'Request rate per replica against capacity',
        description: 'GET / per second at each www pod, and the capacity of one replica (WWW_CAPACITY_RPS).',
        unit: 'reqps',
        min: 0,
        queries: [
          { expr: `sum by (pod) (rate(http_requests_total${route}[${RATE}]))`, legend: '{{pod}}' },
          { expr: `max(www_capacity_requests_per_second${www})`, legend: 'capacity per replica' },
        ],
      }),
    )
    .withPanel(
      panel({
        title: 'Average utilisation',
        description: 'Mean of the replicas\u2019 utilisation (admitted over capacity, last 10 s): what a request-rate autoscaler steers.',
        unit: 'percentunit',
        min: 0,
        queries: [{ expr: `avg(www_capacity_utilisation_ratio${www})`, legend: 'utilisation' }],
      }),
    )
    .withPanel(
      panel({
        title: 'Shed while scaling',
        description: 'Requests shed per second: what a scale-up that comes too late costs.',
        unit: 'reqps',
        min: 0,
        queries: [{ expr: `sum(rate(www_shed_total${www}[${RATE}]))`, legend: 'shed' }],
      }),
    );
}
