/* eslint-disable @typescript-eslint/no-unsafe-member-access -- rendered objects are untyped JSON, read field by field */
import { describe, expect, it } from 'vitest';
import { ManifestError } from '../src/errors.js';
import { NetworkPolicies, type NetworkPoliciesProps } from '../src/network-policies.js';
import { only, testChart } from './support.js';

const www = { selector: { 'app.kubernetes.io/name': 'www', 'app.kubernetes.io/part-of': 'castle' }, port: 8080 };
const backend = { selector: { 'app.kubernetes.io/name': 'backend', 'app.kubernetes.io/part-of': 'castle' }, port: 8081 };

function policies(props: Partial<NetworkPoliciesProps> = {}) {
  const { chart, objects } = testChart();
  new NetworkPolicies(chart, 'np', { namespace: 'castle', labels: { a: 'b' }, www, backend, ...props });
  return objects();
}

describe('NetworkPolicies', () => {
  it('denies all ingress and egress of every pod in the namespace by default', () => {
    const deny = only(policies(), 'NetworkPolicy', 'default-deny');
    expect(deny.metadata.namespace).toBe('castle');
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  it('lets every pod reach DNS in kube-system on port 53 over UDP and TCP, and nothing else there', () => {
    const dns = only(policies(), 'NetworkPolicy', 'allow-dns-egress');
    expect(dns.spec.podSelector).toEqual({});
    expect(dns.spec.egress).toEqual([
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
        ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }],
      },
    ]);
  });

  it("admits anyone to www's http port only", () => {
    const p = only(policies(), 'NetworkPolicy', 'allow-www-ingress');
    expect(p.spec.podSelector).toEqual({ matchLabels: www.selector });
    expect(p.spec.ingress).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
  });

  it("admits only www's pods to the backend's http port", () => {
    const p = only(policies(), 'NetworkPolicy', 'allow-backend-ingress');
    expect(p.spec.podSelector).toEqual({ matchLabels: backend.selector });
    expect(p.spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: www.selector } }], ports: [{ port: 'http', protocol: 'TCP' }] }]);
  });

  it("lets www's pods reach the backend's pods on the backend's port", () => {
    const p = only(policies(), 'NetworkPolicy', 'allow-www-to-backend');
    expect(p.spec.podSelector).toEqual({ matchLabels: www.selector });
    expect(p.spec.egress).toEqual([{ to: [{ podSelector: { matchLabels: backend.selector } }], ports: [{ port: 8081, protocol: 'TCP' }] }]);
  });

  it('opens the metrics port to the monitoring namespace only, chosen by a selector prop', () => {
    const byDefault = only(policies(), 'NetworkPolicy', 'allow-metrics-scrape');
    expect(byDefault.spec.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { 'castle.dev/monitoring': 'true' } } }], ports: [{ port: 'metrics', protocol: 'TCP' }] },
    ]);
    const chosen = only(policies({ monitoringNamespaceSelector: { 'kubernetes.io/metadata.name': 'monitoring' } }), 'NetworkPolicy', 'allow-metrics-scrape');
    expect(chosen.spec.ingress[0].from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
  });

  it("admits the control plane's CIDR to the metrics port too when one is stated, and nothing else more", () => {
    const p = only(policies({ controlPlaneCidr: '10.0.0.0/16' }), 'NetworkPolicy', 'allow-metrics-scrape');
    expect(p.spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { 'castle.dev/monitoring': 'true' } } }, { ipBlock: { cidr: '10.0.0.0/16' } }],
        ports: [{ port: 'metrics', protocol: 'TCP' }],
      },
    ]);
  });

  it.each<[string, Partial<NetworkPoliciesProps>, string]>([
    ['namespace', { namespace: 'Castle' }, 'namespace: must be a DNS label (lower-case letters, digits and \'-\', at most 63 characters), got "Castle"'],
    ['dnsNamespace', { dnsNamespace: 'kube_system' }, 'dnsNamespace: must be a DNS label (lower-case letters, digits and \'-\', at most 63 characters), got "kube_system"'],
    ['monitoringNamespaceSelector', { monitoringNamespaceSelector: {} }, 'monitoringNamespaceSelector: must name at least one label (an empty selector would open metrics to every namespace), got {}'],
    ['controlPlaneCidr', { controlPlaneCidr: '10.0.0.0' }, 'controlPlaneCidr: must be a CIDR such as 10.0.0.0/16 or fd00::/64, got "10.0.0.0"'],
  ])('rejects a bad %s, naming it and the value', (_, props, message) => {
    expect(() => policies(props)).toThrow(ManifestError);
    expect(() => policies(props)).toThrow(expect.objectContaining({ problems: [message] }));
  });
});
