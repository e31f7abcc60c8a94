import { RowBuilder, type DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { RATE, castleDashboard, panel, tier } from './panels.js';

/** Rate, errors and duration of `GET /` at each tier. */
export function redDashboard(): DashboardBuilder {
  const d = castleDashboard('castle-red', 'Castle / RED', 'Rate, errors and duration of GET / at each tier (www in front, backend behind).');
  for (const t of ['www', 'backend'] as const) {
    const route = tier(t, 'route="/"');
    const errors = tier(t, 'route="/"', 'status_code=~"5.."');
    d.withRow(new RowBuilder(t));
    d.withPanel(
      panel({
        title: `${t}: requests by status`,
        description: `GET / answered by ${t} per second, by status code (503 at www: shed or backend unavailable; 502: the backend failed twice).`,
        unit: 'reqps',
        min: 0,
        queries: [{ expr: `sum by (status_code) (rate(http_requests_total${route}[${RATE}]))`, legend: '{{status_code}}' }],
      }),
    );
    d.withPanel(
      panel({
        title: `${t}: error share`,
        description: `Share of GET / answered with a 5xx by ${t}.${t === 'backend' ? ' Its injected baseline is BACKEND_ERROR_RATE.' : ' The availability SLO counts these.'}`,
        unit: 'percentunit',
        min: 0,
        queries: [{ expr: `(sum(rate(http_requests_total${errors}[${RATE}])) or vector(0))\n/\nsum(rate(http_requests_total${route}[${RATE}]))`, legend: '5xx share' }],
      }),
    );
    d.withPanel(
      panel({
        title: `${t}: latency`,
        description: `Time from request received to response sent for GET / at ${t}, quantiles over all replicas.`,
        unit: 's',
        min: 0,
        queries: [0.5, 0.9, 0.99].map((q) => ({
          expr: `histogram_quantile(${q}, sum by (le) (rate(http_request_duration_seconds_bucket${route}[${RATE}])))`,
          legend: `p${Math.round(q * 100)}`,
        })),
      }),
    );
    d.withPanel(
      panel({
        title: `${t}: requests in flight`,
        description: `Requests received and not yet answered by ${t}, per pod.`,
        unit: 'short',
        min: 0,
        queries: [{ expr: `sum by (pod) (http_requests_in_flight${tier(t)})`, legend: '{{pod}}' }],
      }),
    );
  }
  return d;
}
