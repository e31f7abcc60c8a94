import { environmentNames, environments, type EnvironmentName, type TierEnvironment } from './environments.js';

const replicas = (t: TierEnvironment) =>
  t.autoscaling ? `autoscaled ${t.autoscaling.minReplicas}–${t.autoscaling.maxReplicas}` : String(t.replicas);
const labels = (l: Readonly<Record<string, string>>) => Object.entries(l).map(([k, v]) => `\`${k}: ${v}\``).join(', ');
const resources = (t: TierEnvironment) =>
  `${t.resources.requests.cpu} / ${t.resources.requests.memory} (limits ${t.resources.limits.cpu} / ${t.resources.limits.memory})`;

/** The environments as a Markdown table, for the README (kept in step by a test). */
export function environmentsTable(): string {
  const rows = (environmentNames as EnvironmentName[]).map((name) => {
    const e = environments[name];
    return `| \`${name}\` | \`${e.namespace}\` | ${'region' in e ? e.region : '—'} | ${replicas(e.www)} | ${replicas(e.backend)} | www ${resources(e.www)}; backend ${resources(e.backend)} | ${e.loadBalancer === 'aws-nlb' ? 'AWS NLB (internet-facing, ip targets, cross-zone)' : "the cluster's default"} | ${labels(e.monitoring.selectorLabels)} |`;
  });
  return [
    '| Environment | Namespace | Region | www replicas | backend replicas | Requests (CPU / memory) | www LoadBalancer | ServiceMonitor labels |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

const start = '<!-- environments:start -->';
const end = '<!-- environments:end -->';

/** The README with its environments section replaced by the current table. */
export function withEnvironmentsTable(readme: string): string {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`deploy/k8s/README.md has no ${start} … ${end} section`);
  return `${readme.slice(0, from + start.length)}\n${environmentsTable()}\n${readme.slice(to)}`;
}
