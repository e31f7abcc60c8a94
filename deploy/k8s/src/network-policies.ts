import { k8s } from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import { checkCidr, checkDnsLabel, show } from './checks.js';
import { throwIfProblems } from './errors.js';
import { PART_OF } from './labels.js';

/** One tier as the network policies see it. */
export interface PolicyTier {
  /** Labels that select the tier's pods. */
  readonly selector: Readonly<Record<string, string>>;
  /** Its HTTP container port. */
  readonly port: number;
}

/** Properties of {@link NetworkPolicies}. */
export interface NetworkPoliciesProps {
  /** Namespace the policies guard. */
  readonly namespace: string;
  /** Labels of the policies. */
  readonly labels: Readonly<Record<string, string>>;
  /** The public tier: ingress on `http` from anywhere, egress to the backend. */
  readonly www: PolicyTier;
  /** The internal tier: ingress on `http` from www's pods only. */
  readonly backend: PolicyTier;
  /**
   * Labels of the namespace whose pods (Prometheus) may scrape the `metrics` port.
   * @default { 'castle.dev/monitoring': 'true' }
   */
  readonly monitoringNamespaceSelector?: Readonly<Record<string, string>>;
  /**
   * Addresses the control plane's API server reaches pods from (its pod proxy), admitted to the
   * `metrics` port beside the monitoring namespace. Unset: not admitted, which is what a
   * cluster enforcing policies in the cloud's network (EKS) needs unless stated here.
   * @default none
   */
  readonly controlPlaneCidr?: string;
  /**
   * Namespace of the cluster DNS, the only egress every pod has.
   * @default 'kube-system'
   */
  readonly dnsNamespace?: string;
}

/** The defaults of {@link NetworkPoliciesProps}. */
export const defaultProps: Required<Pick<NetworkPoliciesProps, 'monitoringNamespaceSelector' | 'dnsNamespace'>> = {
  monitoringNamespaceSelector: { 'castle.dev/monitoring': 'true' },
  dnsNamespace: 'kube-system',
};

const TCP = 'TCP';

/**
 * Castle's network policies: deny everything in the namespace, then allow exactly the paths
 * the service has — anyone to www's `http`, www to backend's `http`, every pod to the
 * cluster DNS, and the monitoring namespace (and, when stated, the control plane's CIDR) to
 * every pod's `metrics` port.
 */
export class NetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, props: NetworkPoliciesProps) {
    super(scope, id);
    const p = { ...defaultProps, ...props };
    throwIfProblems(validate(p));
    const metadata = (name: string) => ({ name, namespace: p.namespace, labels: { ...p.labels } });
    const named = (port: string) => ({ port: k8s.IntOrString.fromString(port), protocol: TCP });

    new k8s.KubeNetworkPolicy(this, 'default-deny', {
      metadata: metadata('default-deny'),
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    new k8s.KubeNetworkPolicy(this, 'dns-egress', {
      metadata: metadata('allow-dns-egress'),
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': p.dnsNamespace } } }],
            ports: [
              { port: k8s.IntOrString.fromNumber(53), protocol: 'UDP' },
              { port: k8s.IntOrString.fromNumber(53), protocol: TCP },
            ],
          },
        ],
      },
    });
    new k8s.KubeNetworkPolicy(this, 'www-ingress', {
      metadata: metadata('allow-www-ingress'),
      spec: { podSelector: { matchLabels: { ...p.www.selector } }, policyTypes: ['Ingress'], ingress: [{ ports: [named('http')] }] },
    });
    new k8s.KubeNetworkPolicy(this, 'www-to-backend', {
      metadata: metadata('allow-www-to-backend'),
      spec: {
        podSelector: { matchLabels: { ...p.www.selector } },
        policyTypes: ['Egress'],
        // A number, not the name: egress rules resolve names on the destination, which not
        // every network plugin supports.
        egress: [{ to: [{ podSelector: { matchLabels: { ...p.backend.selector } } }], ports: [{ port: k8s.IntOrString.fromNumber(p.backend.port), protocol: TCP }] }],
      },
    });
    new k8s.KubeNetworkPolicy(this, 'backend-ingress', {
      metadata: metadata('allow-backend-ingress'),
      spec: {
        podSelector: { matchLabels: { ...p.backend.selector } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { ...p.www.selector } } }], ports: [named('http')] }],
      },
    });
    new k8s.KubeNetworkPolicy(this, 'metrics-ingress', {
      metadata: metadata('allow-metrics-scrape'),
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/part-of': PART_OF } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { ...p.monitoringNamespaceSelector } } }, ...(p.controlPlaneCidr ? [{ ipBlock: { cidr: p.controlPlaneCidr } }] : [])],
            ports: [named('metrics')],
          },
        ],
      },
    });
  }
}

function validate(p: typeof defaultProps & NetworkPoliciesProps): string[] {
  return [
    ...checkDnsLabel('namespace', p.namespace),
    ...checkDnsLabel('dnsNamespace', p.dnsNamespace),
    ...(Object.keys(p.monitoringNamespaceSelector).length === 0
      ? [`monitoringNamespaceSelector: must name at least one label (an empty selector would open metrics to every namespace), got ${show(p.monitoringNamespaceSelector)}`]
      : []),
    ...(p.controlPlaneCidr === undefined ? [] : checkCidr('controlPlaneCidr', p.controlPlaneCidr)),
  ];
}
