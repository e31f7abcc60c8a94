/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-explicit-any -- rendered objects are untyped JSON, read field by field */
import { describe, expect, it } from 'vitest';
import { environmentNames, ManifestError, render, type KubernetesObject, type RenderOptions } from '../src/index.js';
import { configMapName } from '../src/tier-config.js';
import { only } from './support.js';

const clusterScoped = new Set(['Namespace']);

/** The ConfigMap a tier's Deployment reads its environment from. */
function configOf(objects: readonly KubernetesObject[], tier: string): any {
  const name = only(objects, 'Deployment', tier).spec.template.spec.containers[0].envFrom[0].configMapRef.name as string;
  return only(objects, 'ConfigMap', name);
}

describe('render', () => {
  it.each(environmentNames)('renders %s in apply order, Namespace first, every namespaced object in its namespace', (env) => {
    const objects = render({ env, version: '1.2.3' });
    expect(objects[0]?.kind).toBe('Namespace');
    const order = ['Namespace', 'ServiceAccount', 'ConfigMap', 'NetworkPolicy', 'Service', 'Deployment', 'PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule', 'ScaledObject'];
    const kinds = objects.map((o) => o.kind);
    expect(kinds).toEqual([...kinds].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
    expect(new Set(kinds)).toEqual(new Set(env.startsWith('production') ? order : order.slice(0, -1)));
    for (const o of objects.filter((x) => !clusterScoped.has(x.kind))) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('castle');
    for (const o of objects) expect(o.metadata.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'castle', 'app.kubernetes.io/version': '1.2.3' });
  });

  it('returns plain JSON objects', () => {
    const objects = render({ env: 'local', version: '1.2.3' });
    expect(JSON.parse(JSON.stringify(objects))).toEqual(objects);
  });

  it('labels the Namespace to enforce, warn and audit the restricted Pod Security Standard', () => {
    const ns = only(render({ env: 'local', version: '1.2.3' }), 'Namespace');
    for (const mode of ['enforce', 'warn', 'audit']) {
      expect(ns.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
    }
  });

  it('overrides the namespace of every object, the Namespace itself included', () => {
    const objects = render({ env: 'staging', version: '1.2.3', namespace: 'castle-review' });
    expect(only(objects, 'Namespace').metadata.name).toBe('castle-review');
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace).toBe('castle-review');
  });

  it('uses castle/<tier>:<version> without a registry and <registry>/castle/<tier>:<version> with one, pulled only if not present', () => {
    const images = (options: RenderOptions) =>
      render(options)
        .filter((o) => o.kind === 'Deployment')
        .map((d: KubernetesObject & Record<string, any>) => [d.spec.template.spec.containers[0].image, d.spec.template.spec.containers[0].imagePullPolicy]);
    expect(images({ env: 'local', version: '1.2.3' })).toEqual([['castle/backend:1.2.3', 'IfNotPresent'], ['castle/www:1.2.3', 'IfNotPresent']]);
    expect(images({ env: 'local', version: '1.2.3', registry: '' })).toEqual([['castle/backend:1.2.3', 'IfNotPresent'], ['castle/www:1.2.3', 'IfNotPresent']]);
    expect(images({ env: 'production', version: '2.0.0-rc.1', registry: 'registry.example.com/castle-images' })).toEqual([
      ['registry.example.com/castle-images/castle/backend:2.0.0-rc.1', 'IfNotPresent'],
      ['registry.example.com/castle-images/castle/www:2.0.0-rc.1', 'IfNotPresent'],
    ]);
  });

  it.each(environmentNames)('in %s, www is a LoadBalancer and backend a ClusterIP, each selecting its own pods', (env) => {
    const objects = render({ env, version: '1.2.3' });
    for (const [tier, type] of [['www', 'LoadBalancer'], ['backend', 'ClusterIP']]) {
      const service = only(objects, 'Service', tier);
      const deployment = only(objects, 'Deployment', tier);
      expect(service.spec.type).toBe(type);
      expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
      expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
      expect(deployment.spec.template.spec.containers[0].ports.map((p: { name: string }) => p.name)).toContain(service.spec.ports[0].targetPort);
    }
  });

  it('annotates www for an internet-facing, cross-zone NLB with ip targets in production, and not locally', () => {
    const annotations = (env: string) => only(render({ env, version: '1.2.3' }), 'Service', 'www').metadata.annotations;
    for (const env of ['production', 'production-us-east-1', 'production-eu-west-1']) {
      expect(annotations(env)).toEqual({
        'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
        'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
        'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
        'service.beta.kubernetes.io/aws-load-balancer-attributes': 'load_balancing.cross_zone.enabled=true',
      });
    }
    expect(annotations('local')).toBeUndefined();
  });

  it('omits spec.replicas of the autoscaled tiers in production and keeps fixed counts elsewhere', () => {
    const replicas = (env: string, tier: string) => only(render({ env, version: '1.2.3' }), 'Deployment', tier).spec;
    expect(replicas('production', 'www')).not.toHaveProperty('replicas');
    expect(replicas('production', 'backend')).not.toHaveProperty('replicas');
    expect(replicas('local', 'www').replicas).toBe(8);
    expect(replicas('local', 'backend').replicas).toBe(3);
  });

  it('points www at the backend Service by its short name and labels the regional Namespace', () => {
    const objects = render({ env: 'production-eu-west-1', version: '1.2.3' });
    expect(configOf(objects, 'www').data.WWW_BACKEND_URL).toBe('http://backend:80');
    expect(only(objects, 'Namespace').metadata.labels['castle.dev/region']).toBe('eu-west-1');
  });

  it.each(environmentNames)('in %s, each tier reads an immutable ConfigMap of the render, named by its data', (env) => {
    const objects = render({ env, version: '1.2.3' });
    for (const tier of ['www', 'backend']) {
      const config = configOf(objects, tier);
      expect(config.immutable).toBe(true);
      expect(config.metadata.name).toBe(configMapName(tier, config.data as Record<string, string>));
    }
  });

  it.each(environmentNames)('in %s, names the ConfigMaps the same whatever the version, registry, namespace and commit, so the Helm chart fixes them when generated', (env) => {
    const names = (options: Omit<RenderOptions, 'env'>) =>
      render({ env, ...options })
        .filter((o) => o.kind === 'ConfigMap' && o.immutable === true)
        .map((o) => o.metadata.name);
    const plain = names({ version: '1.2.3' });
    expect(plain).toHaveLength(2);
    expect(names({ version: '2.3.4-rc.1', registry: 'registry.example.com/castle-images', namespace: 'castle-canary', gitSha: '0a1b2c3d4e5f' })).toEqual(plain);
  });

  it('annotates the pods with the git commit when given', () => {
    const pods = (gitSha?: string) => only(render({ env: 'local', version: '1.2.3', gitSha }), 'Deployment', 'www').spec.template.metadata.annotations ?? {};
    expect(pods('0123abc')['castle.dev/git-sha']).toBe('0123abc');
    expect(pods()).not.toHaveProperty('castle.dev/git-sha');
  });

  it.each<[string, RenderOptions, string]>([
    ['an unknown environment', { env: 'prod', version: '1.2.3' }, 'env: must be one of local, staging, production, production-us-east-1, production-eu-west-1, got "prod"'],
    ['a version with a leading v', { env: 'local', version: 'v1.2.3' }, 'version: must be a semantic version such as 1.2.3 (no leading v), got "v1.2.3"'],
    ['a version that is not semver', { env: 'local', version: '1.2' }, 'version: must be a semantic version such as 1.2.3 (no leading v), got "1.2"'],
    ['a version with build metadata', { env: 'local', version: '1.2.3+abc' }, 'version: must fit a label value (at most 63 characters, no build metadata \'+\'), got "1.2.3+abc"'],
    ['a registry with a scheme', { env: 'local', version: '1.2.3', registry: 'https://ecr.example' }, 'registry: must be a registry host with an optional port and path, without a scheme or a trailing \'/\', got "https://ecr.example"'],
    ['a registry with a trailing slash', { env: 'local', version: '1.2.3', registry: 'localhost:5000/' }, 'registry: must be a registry host with an optional port and path, without a scheme or a trailing \'/\', got "localhost:5000/"'],
    ['a namespace that is no DNS label', { env: 'local', version: '1.2.3', namespace: 'Castle' }, 'namespace: must be a DNS label (lower-case letters, digits and \'-\', at most 63 characters), got "Castle"'],
    ['a git commit that is not hexadecimal', { env: 'local', version: '1.2.3', gitSha: 'main' }, 'gitSha: must be 7 to 40 lower-case hexadecimal digits, got "main"'],
  ])('rejects %s with a ManifestError naming it', (_, options, problem) => {
    expect(() => render(options)).toThrow(ManifestError);
    expect(() => render(options)).toThrow(expect.objectContaining({ problems: [problem] }));
  });

  it('lists every problem of the options at once', () => {
    let error: unknown;
    try {
      render({ env: 'nowhere', version: 'latest', namespace: '-' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).problems.map((p) => p.split(':')[0])).toEqual(['env', 'version', 'namespace']);
    expect((error as ManifestError).message).toContain('version: must be a semantic version');
  });
});

describe('render with observability', () => {
  const kinds = (objects: readonly KubernetesObject[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`);

  it('adds the PrometheusRule and the dashboards in every environment, labelled for its Prometheus', () => {
    expect(only(render({ env: 'local', version: '1.2.3' }), 'PrometheusRule').metadata.labels.release).toBe('castle-monitoring');
    const production = render({ env: 'production', version: '1.2.3' });
    expect(kinds(production)).toEqual(expect.arrayContaining(['PrometheusRule/castle-rules', 'ConfigMap/dashboard-castle-red']));
    expect(only(production, 'PrometheusRule').metadata.labels.release).toBe('kube-prometheus-stack');
  });

  it('takes rule settings from the release: www maximum replicas and the backend baseline', () => {
    const rule = only(render({ env: 'production', version: '1.2.3' }), 'PrometheusRule');
    const alerts = rule.spec.groups.flatMap((g: any) => g.rules).filter((r: any) => r.alert);
    // production's www scales from the capacity model: at most 10 replicas.
    expect(alerts.find((a: any) => a.alert === 'CastleWwwAtMaximumReplicas').expr).toMatch(/>= 10$/);
    // production's backend keeps the service's default BACKEND_ERROR_RATE (2%): 2% + 2% tolerance.
    expect(alerts.find((a: any) => a.alert === 'CastleBackendErrorRatioHigh').expr).toMatch(/> 0\.04$/);
  });

  it('takes a test configuration instead of the environment\'s, or none', () => {
    const local = render({ env: 'local', version: '1.2.3', namespace: 'alerts-test', observability: { rules: { rateWindow: '30s' }, dashboards: false } });
    const rule = only(local, 'PrometheusRule');
    expect(rule.metadata.namespace).toBe('alerts-test');
    expect(JSON.stringify(rule.spec)).toContain('[30s]');
    // local injects no failures: the backend alert fires at the 2% tolerance.
    expect(rule.spec.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert === 'CastleBackendErrorRatioHigh').expr).toMatch(/> 0\.02$/);
    expect(kinds(local).filter((k) => k.startsWith('ConfigMap/dashboard-'))).toEqual([]);
    expect(kinds(render({ env: 'production', version: '1.2.3', observability: false }))).not.toContain('PrometheusRule/castle-rules');
  });
});
