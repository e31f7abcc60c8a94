/* eslint-disable @typescript-eslint/no-unsafe-member-access -- rendered objects are untyped JSON, read field by field */
import { describe, expect, it } from 'vitest';
import { ManifestError } from '../src/errors.js';
import { HttpTier, terminationGracePeriodSeconds, type HttpTierProps } from '../src/http-tier.js';
import { configMapName } from '../src/tier-config.js';
import { only, testChart } from './support.js';

const base: HttpTierProps = { name: 'www', namespace: 'castle', image: 'castle/www:1.2.3', version: '1.2.3', envPrefix: 'WWW' };

function tier(props: Partial<HttpTierProps> = {}) {
  const { chart, objects } = testChart();
  new HttpTier(chart, 'tier', { ...base, ...props });
  return objects();
}

describe('HttpTier', () => {
  it('makes a ServiceAccount, ConfigMap, Deployment, Service and PodDisruptionBudget, all in its namespace', () => {
    const objects = tier();
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    for (const o of objects) expect(o.metadata.namespace).toBe('castle');
  });

  it('rolls out with one extra pod at a time and never fewer ready pods than wanted', () => {
    const d = only(tier(), 'Deployment');
    expect(d.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  it('probes startup and liveness on /healthz and readiness on /readyz, all on the http port', () => {
    const c = only(tier(), 'Deployment').spec.template.spec.containers[0];
    expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 9090, protocol: 'TCP' },
    ]);
  });

  it('runs as uid 1000, non-root, read-only, without privilege escalation or capabilities, under RuntimeDefault seccomp', () => {
    const pod = only(tier(), 'Deployment').spec.template.spec;
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 1000,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.serviceAccountName).toBe('www');
    expect(only(tier(), 'ServiceAccount').automountServiceAccountToken).toBe(false);
  });

  it("gives the container its pod's name as POD_NAME through the downward API, beside the ConfigMap", () => {
    const objects = tier();
    const c = only(objects, 'Deployment').spec.template.spec.containers[0];
    expect(c.env).toEqual([{ name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }]);
    expect(c.envFrom).toEqual([{ configMapRef: { name: only(objects, 'ConfigMap').metadata.name } }]);
  });

  it('sets requests and limits for CPU and memory, defaulted and overridable', () => {
    expect(only(tier(), 'Deployment').spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    });
    const resources = { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '2', memory: '2Gi' } };
    expect(only(tier({ resources }), 'Deployment').spec.template.spec.containers[0].resources).toEqual(resources);
  });

  it('spreads pods over zones and nodes as a preference, so one node still schedules them', () => {
    const spread = only(tier(), 'Deployment').spec.template.spec.topologySpreadConstraints as Array<Record<string, unknown>>;
    expect(spread.map((s) => s.topologyKey)).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    for (const s of spread) {
      expect(s.whenUnsatisfiable).toBe('ScheduleAnyway');
      expect(s.labelSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'www', 'app.kubernetes.io/part-of': 'castle' } });
    }
  });

  it('selects its pods by name and part-of, and labels them with the version too', () => {
    const objects = tier();
    const d = only(objects, 'Deployment');
    const podLabels = d.spec.template.metadata.labels;
    expect(podLabels).toEqual({ 'app.kubernetes.io/name': 'www', 'app.kubernetes.io/part-of': 'castle', 'app.kubernetes.io/version': '1.2.3' });
    for (const selector of [d.spec.selector.matchLabels, only(objects, 'Service').spec.selector, only(objects, 'PodDisruptionBudget').spec.selector.matchLabels]) {
      expect(selector).toEqual({ 'app.kubernetes.io/name': 'www', 'app.kubernetes.io/part-of': 'castle' });
      expect(podLabels).toMatchObject(selector);
    }
  });

  it('serves port 80 on a ClusterIP Service that targets the http port and not the metrics port', () => {
    const s = only(tier(), 'Service');
    expect(s.spec.type).toBe('ClusterIP');
    expect(s.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(s.metadata.annotations).toBeUndefined();
  });

  it('makes a LoadBalancer Service with the given annotations', () => {
    const s = only(tier({ serviceType: 'LoadBalancer', serviceAnnotations: { a: 'b' } }), 'Service');
    expect(s.spec.type).toBe('LoadBalancer');
    expect(s.metadata.annotations).toEqual({ a: 'b' });
  });

  it('has a PodDisruptionBudget of maxUnavailable 1 that never blocks draining a single replica', () => {
    const pdb = only(tier({ replicas: 1 }), 'PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeUndefined();
    expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
  });

  it('sets spec.replicas when fixed and omits it when autoscaled', () => {
    expect(only(tier({ replicas: 3 }), 'Deployment').spec.replicas).toBe(3);
    expect(only(tier(), 'Deployment').spec.replicas).toBe(1);
    const autoscaled = only(tier({ autoscaling: { minReplicas: 2, maxReplicas: 5 } }), 'Deployment');
    expect(autoscaled.spec).not.toHaveProperty('replicas');
  });

  it.each([
    { drainDelayMs: 5_000, longestRequestMs: 10_000, terminationMarginSeconds: 5, expected: 20 },
    { drainDelayMs: 0, longestRequestMs: 100, terminationMarginSeconds: 0, expected: 1 },
    { drainDelayMs: 1_500, longestRequestMs: 1_000, terminationMarginSeconds: 2, expected: 5 },
  ])('derives a grace period of $expected s from drain $drainDelayMs ms + longest request $longestRequestMs ms, rounded up, + $terminationMarginSeconds s', (c) => {
    expect(terminationGracePeriodSeconds(c.drainDelayMs, c.longestRequestMs, c.terminationMarginSeconds)).toBe(c.expected);
    const d = only(tier(c), 'Deployment');
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBe(c.expected);
  });

  it('configures the service through its ConfigMap: listen on 0.0.0.0:8080, metrics on 9090, drain 5 s, shutdown after the longest request', () => {
    const objects = tier({ config: { WWW_LOG_LEVEL: 'debug' } });
    expect(only(objects, 'ConfigMap').data).toEqual({
      WWW_DRAIN_DELAY_MS: '5000',
      WWW_HOST: '0.0.0.0',
      WWW_LOG_LEVEL: 'debug',
      WWW_METRICS_PORT: '9090',
      WWW_PORT: '8080',
      WWW_SHUTDOWN_TIMEOUT_MS: '10000',
    });
    expect(only(objects, 'Deployment').spec.template.spec.containers[0].envFrom).toEqual([{ configMapRef: { name: only(objects, 'ConfigMap').metadata.name } }]);
  });

  it('keeps each configuration in an immutable ConfigMap named <tier>-config-<hash of its data>, the one name the container reads', () => {
    const objects = tier({ config: { WWW_LOG_LEVEL: 'debug' } });
    const config = only(objects, 'ConfigMap');
    expect(config.immutable).toBe(true);
    expect(config.metadata.name).toMatch(/^www-config-[0-9a-f]{10}$/);
    expect(config.metadata.name).toBe(configMapName('www', config.data as Record<string, string>));
    const pod = only(objects, 'Deployment').spec.template.spec;
    expect(pod.containers[0].envFrom).toEqual([{ configMapRef: { name: config.metadata.name } }]);
    expect(pod.volumes).toBeUndefined();
  });

  it('gives two configurations two ConfigMap names and the same configuration the same name in every render', () => {
    const name = (config: Record<string, string>, props: Partial<HttpTierProps> = {}) => only(tier({ ...props, config }), 'ConfigMap').metadata.name as string;
    expect(name({ WWW_LOG_LEVEL: 'info' })).toBe(name({ WWW_LOG_LEVEL: 'info' }));
    expect(name({ WWW_LOG_LEVEL: 'info' })).not.toBe(name({ WWW_LOG_LEVEL: 'debug' }));
    // What the construct puts in the data counts too: another drain delay is another configuration.
    expect(name({}, { drainDelayMs: 1_000 })).not.toBe(name({}));
    // The version, the image and the replicas are not configuration: a release that changes only them keeps the ConfigMap.
    expect(name({}, { version: '2.0.0', image: 'castle/www:2.0.0', replicas: 4 })).toBe(name({}));
  });

  it('rolls the pods when the configuration changes: the pod template differs only in the ConfigMap it refers to', () => {
    type Template = { metadata: { annotations?: unknown }; spec: { containers: Array<{ envFrom: Array<{ configMapRef: { name: string } }> }> } };
    const template = (config: Record<string, string>) => only<{ spec: { template: Template } }>(tier({ config }), 'Deployment').spec.template;
    const before = template({ WWW_LOG_LEVEL: 'info' });
    const after = template({ WWW_LOG_LEVEL: 'debug' });
    const configName = (t: Template) => t.spec.containers[0]?.envFrom[0]?.configMapRef.name ?? '';
    expect(configName(before)).toMatch(/^www-config-/);
    expect(configName(after)).not.toBe(configName(before));
    // No config hash annotation beside the reference: the reference is the hash.
    expect(JSON.parse(JSON.stringify(after).replaceAll(configName(after), configName(before)))).toEqual(before);
    expect(before.metadata.annotations).toBeUndefined();
  });

  it('names the ConfigMap of the longest tier name a DNS-1123 subdomain within 253 characters', () => {
    const longest = `w${'x'.repeat(61)}w`;
    const name = only(tier({ name: longest }), 'ConfigMap').metadata.name as string;
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name.startsWith(`${longest}-config-`)).toBe(true);
  });

  it.each<[string, Partial<HttpTierProps>, string]>([
    ['name', { name: 'Www' }, 'name: must be a DNS label (lower-case letters, digits and \'-\', at most 63 characters), got "Www"'],
    ['namespace', { namespace: '' }, 'namespace: must be a DNS label (lower-case letters, digits and \'-\', at most 63 characters), got ""'],
    ['image', { image: ' ' }, 'image: must be an image reference, got " "'],
    ['envPrefix', { envPrefix: 'www' }, 'envPrefix: must be upper-case letters, digits and \'_\', got "www"'],
    ['port', { port: 0 }, 'port: must be ≥ 1, got 0'],
    ['metricsPort', { metricsPort: 70_000 }, 'metricsPort: must be ≤ 65535, got 70000'],
    ['metricsPort equal to port', { metricsPort: 8080 }, 'metricsPort: must differ from port, got 8080 for both'],
    ['drainDelayMs', { drainDelayMs: -1 }, 'drainDelayMs: must be ≥ 0, got -1'],
    ['longestRequestMs', { longestRequestMs: 1.5 }, 'longestRequestMs: must be an integer, got 1.5'],
    ['terminationMarginSeconds', { terminationMarginSeconds: 301 }, 'terminationMarginSeconds: must be ≤ 300, got 301'],
    ['replicas', { replicas: 0 }, 'replicas: must be ≥ 1, got 0'],
    ['replicas with autoscaling', { replicas: 2, autoscaling: { minReplicas: 1, maxReplicas: 2 } }, 'replicas: must be unset when autoscaling is set (the autoscaler owns it), got 2'],
    ['autoscaling.minReplicas', { autoscaling: { minReplicas: 0, maxReplicas: 2 } }, 'autoscaling.minReplicas: must be ≥ 1, got 0'],
    ['autoscaling.maxReplicas', { autoscaling: { minReplicas: 3, maxReplicas: 2 } }, 'autoscaling.maxReplicas: must be ≥ autoscaling.minReplicas (3), got 2'],
    ['resources.requests.cpu', { resources: { requests: { cpu: 'lots', memory: '1Mi' }, limits: { cpu: '1', memory: '1Mi' } } }, 'resources.requests.cpu: must be a Kubernetes quantity such as 100m or 64Mi, got "lots"'],
    ['resources.limits.memory', { resources: { requests: { cpu: '1', memory: '1Mi' }, limits: { cpu: '1', memory: '1 GB' } } }, 'resources.limits.memory: must be a Kubernetes quantity such as 100m or 64Mi, got "1 GB"'],
    ['a config key the construct owns', { config: { WWW_PORT: '1' } }, 'config.WWW_PORT: set by the construct from its own props; remove it, got "1"'],
    ['a config key that is no variable name', { config: { 'log-level': 'x' } }, 'config.log-level: must be an environment variable name, got "log-level"'],
  ])('rejects a bad %s, naming the prop and the value', (_, props, message) => {
    let error: unknown;
    try {
      tier(props);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).problems).toEqual([message]);
  });

  it('reports every problem at once', () => {
    expect(() => tier({ port: 0, replicas: 0 })).toThrow(expect.objectContaining({ problems: ['port: must be ≥ 1, got 0', 'replicas: must be ≥ 1, got 0'] }));
  });
});
