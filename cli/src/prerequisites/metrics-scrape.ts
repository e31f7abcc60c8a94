import type { Kube } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import { type Prerequisite, type PrerequisiteInput, unknownBecause } from './types.js';

interface NetworkPolicy extends KubeObject {
  spec?: { ingress?: { from?: { namespaceSelector?: { matchLabels?: Record<string, string> }; podSelector?: unknown }[] }[] };
}

/** The namespace labels each NetworkPolicy admits (a `from` with a namespace selector by labels, and no pod selector). */
function admittedLabels(objects: readonly KubeObject[]): { policy: string; labels: Record<string, string> }[] {
  return (objects.filter((o) => o.kind === 'NetworkPolicy') as NetworkPolicy[]).flatMap((p) =>
    (p.spec?.ingress ?? []).flatMap((rule) =>
      (rule.from ?? []).flatMap((peer) => {
        const labels = peer.namespaceSelector?.matchLabels;
        return labels && Object.keys(labels).length > 0 && !peer.podSelector ? [{ policy: p.metadata.name, labels }] : [];
      }),
    ),
  );
}

/**
 * Whether Prometheus' namespace is one the manifests' NetworkPolicies admit (by its labels) to
 * the pods' metrics ports: without the label, scraping silently never starts.
 */
export async function checkMetricsScrape(kube: Kube, input: PrerequisiteInput): Promise<Prerequisite[]> {
  const admitted = admittedLabels(input.objects);
  if (admitted.length === 0) return [];
  const ns = input.prometheus.namespace;
  const shown = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
  const label = (labels: Record<string, string>) => `kubectl label namespace ${ns} ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(' ')}`;
  let live: KubeObject | undefined;
  try {
    live = await kube.get({ apiVersion: 'v1', kind: 'Namespace', name: ns });
  } catch (error) {
    const why = unknownBecause(error);
    return admitted.map(({ policy, labels }) => ({ check: 'metrics-scrape', what: `Prometheus' namespace ${ns} labelled ${shown(labels)} (NetworkPolicy ${policy})`, status: 'unknown', detail: `cannot read namespace ${ns}: ${why}` }));
  }
  return admitted.map(({ policy, labels }): Prerequisite => {
    const what = `Prometheus' namespace ${ns} labelled ${shown(labels)}, which NetworkPolicy ${policy} admits to the metrics ports`;
    if (!live) {
      return {
        check: 'metrics-scrape',
        what,
        status: 'missing',
        detail: `namespace ${ns} does not exist: no Prometheus runs there`,
        fix: `install Prometheus: on the hermetic cluster npm run cluster:addons -- monitoring (it labels its namespace); elsewhere kube-prometheus-stack in namespace ${ns}, then ${label(labels)}`,
      };
    }
    const lacking = Object.entries(labels).filter(([k, v]) => live.metadata.labels?.[k] !== v);
    if (lacking.length === 0) return { check: 'metrics-scrape', what, status: 'ok', detail: `namespace ${ns} carries ${shown(labels)}` };
    return { check: 'metrics-scrape', what, status: 'missing', detail: `namespace ${ns} lacks ${shown(Object.fromEntries(lacking))}: Prometheus there cannot reach the metrics ports`, fix: label(labels) };
  });
}
