/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return -- rendered objects are untyped JSON, read field by field */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { environments, validateEnvironment } from '../src/environments.js';
import { ManifestError } from '../src/errors.js';
import { Monitoring, type MonitoringProps } from '../src/monitoring.js';
import { render } from '../src/render.js';
import { only, testChart } from './support.js';

const www = { name: 'www', selector: { 'app.kubernetes.io/name': 'www', 'app.kubernetes.io/part-of': 'castle' }, metricsPort: 9090 };
const backend = { name: 'backend', selector: { 'app.kubernetes.io/name': 'backend', 'app.kubernetes.io/part-of': 'castle' }, metricsPort: 9090 };

function monitoring(props: Partial<MonitoringProps> = {}) {
  const { chart, objects } = testChart();
  new Monitoring(chart, 'm', { namespace: 'castle', labels: { a: 'b' }, selectorLabels: { release: 'castle-monitoring' }, tiers: [www, backend], ...props });
  return objects();
}

describe('Monitoring', () => {
  it('gives every tier a ServiceMonitor carrying the selector labels and scraping /metrics on the metrics port', () => {
    const objects = monitoring();
    for (const tier of [www, backend]) {
      const sm = only(objects, 'ServiceMonitor', tier.name);
      expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
      expect(sm.metadata.namespace).toBe('castle');
      expect(sm.metadata.labels).toEqual({ a: 'b', ...tier.selector, release: 'castle-monitoring' });
      expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', scheme: 'http' }]);
      expect(sm.spec.jobLabel).toBe('app.kubernetes.io/name');
      expect(sm.spec.podTargetLabels).toEqual(['app.kubernetes.io/version']);
    }
  });

  it("selects a headless metrics Service of the tier's pods that exposes the metrics port only", () => {
    const objects = monitoring();
    for (const tier of [www, backend]) {
      const sm = only(objects, 'ServiceMonitor', tier.name);
      const svc = only(objects, 'Service', `${tier.name}-metrics`);
      expect(svc.spec.clusterIP).toBe('None');
      expect(svc.spec.selector).toEqual(tier.selector);
      expect(svc.spec.ports).toEqual([{ name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' }]);
      // the ServiceMonitor's selector matches this Service's labels, and not the public Service's
      for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels[k], k).toBe(v);
      expect(sm.spec.selector.matchLabels['app.kubernetes.io/component']).toBe('metrics');
    }
  });

  it('sets the scrape interval only when asked', () => {
    expect(only(monitoring({ interval: '15s' }), 'ServiceMonitor', 'www').spec.endpoints[0].interval).toBe('15s');
  });

  it.each<[string, Partial<MonitoringProps>, string]>([
    ['no selector labels', { selectorLabels: {} }, 'selectorLabels: must name at least one label (the Prometheus\' serviceMonitorSelector, e.g. release: kube-prometheus-stack), got {}'],
    ['a bad selector key', { selectorLabels: { 'bad key': 'x' } }, 'selectorLabels: keys must be label keys such as release or example.com/team, got "bad key"'],
    ['a bad key prefix', { selectorLabels: { 'Example.com/team': 'x' } }, 'selectorLabels: keys must be label keys such as release or example.com/team, got "Example.com/team"'],
    ['a bad selector value', { selectorLabels: { release: 'kube prometheus' } }, 'selectorLabels.release: must be a valid label value, got "kube prometheus"'],
    ['an empty selector value', { selectorLabels: { release: '' } }, 'selectorLabels.release: must not be empty, got ""'],
    ['a bad interval', { interval: '5 seconds' }, 'interval: must be a Prometheus duration such as 15s or 1m, got "5 seconds"'],
    ['a bad namespace', { namespace: 'Castle' }, "namespace: must be a DNS label (lower-case letters, digits and '-', at most 63 characters), got \"Castle\""],
    ['a bad metrics port', { tiers: [{ ...www, metricsPort: 70000 }] }, 'tiers.www.metricsPort: must be ≤ 65535, got 70000'],
  ])('refuses %s, naming the prop and the value', (_, props, message) => {
    let error: unknown;
    try {
      monitoring(props);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as Error).message).toContain(message);
  });

  it('accepts prefixed selector keys', () => {
    expect(only(monitoring({ selectorLabels: { 'example.com/prometheus': 'main' } }), 'ServiceMonitor', 'www').metadata.labels['example.com/prometheus']).toBe('main');
  });
});

describe('ServiceMonitors per environment', () => {
  it('label them release=castle-monitoring locally (the hermetic add-on) and release=kube-prometheus-stack in the cloud', () => {
    const labelOf = (env: string) => only(render({ env, version: '1.2.3' }), 'ServiceMonitor', 'www').metadata.labels.release;
    expect(labelOf('local')).toBe('castle-monitoring');
    for (const env of ['staging', 'production', 'production-us-east-1', 'production-eu-west-1']) expect(labelOf(env), env).toBe('kube-prometheus-stack');
  });

  it('are applied after the Services they select', () => {
    const kinds = render({ env: 'local', version: '1.2.3' }).map((o) => o.kind);
    expect(kinds.indexOf('ServiceMonitor')).toBeGreaterThan(kinds.lastIndexOf('Service'));
    expect(kinds.filter((k) => k === 'ServiceMonitor')).toHaveLength(2);
  });

  it('reject bad selector labels of an environment with the path of the field', () => {
    const env = { ...environments.staging, monitoring: { selectorLabels: { release: 'a b', '-x': 'y' } } };
    expect(validateEnvironment('staging', env)).toEqual([
      'env.staging.monitoring.selectorLabels.release: must be a valid label value, got "a b"',
      'env.staging.monitoring.selectorLabels: keys must be label keys such as release or example.com/team, got "-x"',
    ]);
    expect(validateEnvironment('staging', { ...env, monitoring: { selectorLabels: {} } })).toHaveLength(1);
  });

  it("let Prometheus in the monitoring namespace reach every pod's metrics port (9090) through allow-metrics-scrape", () => {
    const objects = render({ env: 'local', version: '1.2.3' });
    const policy = only(objects, 'NetworkPolicy', 'allow-metrics-scrape');
    expect(policy.spec.ingress).toEqual([{ from: [{ namespaceSelector: { matchLabels: { 'castle.dev/monitoring': 'true' } } }], ports: [{ port: 'metrics', protocol: 'TCP' }] }]);
    // the hermetic cluster's monitoring namespace carries every label the policy asks for
    const namespace = parse(readFileSync(new URL('../../../cluster/manifests/monitoring/namespace.yaml', import.meta.url), 'utf8')) as { metadata: { name: string; labels: Record<string, string> } };
    expect(namespace.metadata.name).toBe('monitoring');
    expect(namespace.metadata.labels).toMatchObject(policy.spec.ingress[0].from[0].namespaceSelector.matchLabels);
    expect(policy.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/part-of': 'castle' } });
    for (const tier of ['www', 'backend']) {
      const deployment = only(objects, 'Deployment', tier);
      const ports = deployment.spec.template.spec.containers[0].ports as Array<{ name: string; containerPort: number }>;
      expect(ports.find((p) => p.name === 'metrics')?.containerPort, tier).toBe(9090);
      expect(deployment.spec.template.metadata.labels['app.kubernetes.io/part-of']).toBe('castle');
      const sm = only(objects, 'ServiceMonitor', tier);
      expect(sm.spec.endpoints[0].port).toBe('metrics');
    }
  });
});
