import { describe, expect, it } from 'vitest';
import { environmentNames, environments, metricsAccess, validateEnvironment, type Environment, type TierEnvironment } from '../src/environments.js';

const resources = { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1', memory: '256Mi' } };
const fixed: TierEnvironment = { replicas: 2, resources, config: {} };
const good: Environment = {
  namespace: 'castle',
  loadBalancer: 'cluster-default',
  monitoringNamespaceSelector: { m: 'true' },
  monitoring: { selectorLabels: { release: 'r' } },
  www: fixed,
  backend: fixed,
};

describe('the environments', () => {
  it('are local, staging, production and the two regional production variants', () => {
    expect(environmentNames).toEqual(['local', 'staging', 'production', 'production-us-east-1', 'production-eu-west-1']);
  });

  it.each(environmentNames)('%s is valid', (name) => {
    expect(validateEnvironment(name, environments[name as keyof typeof environments])).toEqual([]);
  });

  it('run 8 www and 3 backend replicas locally, 3 and 2 in staging, and autoscale with KEDA in production: www 5–10 at 7 rps each, backend from 2', () => {
    expect([environments.local.www.replicas, environments.local.backend.replicas]).toEqual([8, 3]);
    expect([environments.staging.www.replicas, environments.staging.backend.replicas]).toEqual([3, 2]);
    for (const env of [environments.production, environments['production-us-east-1'], environments['production-eu-west-1']]) {
      expect(env.autoscaler).toBe('keda');
      expect(env.www.autoscaling).toEqual({ minReplicas: 5, maxReplicas: 10, targetRpsPerReplica: 7, targetShedRpsPerReplica: 1, fallbackReplicas: 8 });
      expect(env.www.config.WWW_MAX_WAIT_MS).toBe('1000');
      expect(env.backend.autoscaling).toMatchObject({ minReplicas: 2, targetCpuUtilisationPercent: 70 });
    }
  });

  it.each<[string, Partial<Environment>, string[]]>([
    ['replicas below 1', { www: { ...fixed, replicas: 0 } }, ['env.test.www.replicas: must be ≥ 1, got 0']],
    ['no replicas and no autoscaling', { backend: { resources, config: {} } }, ['env.test.backend.replicas: must be set when the tier is not autoscaled, got undefined']],
    ['replicas beside autoscaling', { www: { ...fixed, autoscaling: { minReplicas: 1, maxReplicas: 2 } } }, ['env.test.www.replicas: must be unset when autoscaling is set, got 2']],
    ['autoscaling bounds reversed', { www: { resources, config: {}, autoscaling: { minReplicas: 0, maxReplicas: -1 } } }, [
      'env.test.www.autoscaling.minReplicas: must be ≥ 1, got 0',
      'env.test.www.autoscaling.maxReplicas: must be ≥ 1, got -1',
      'env.test.www.autoscaling.maxReplicas: must be ≥ minReplicas (0), got -1',
    ]],
    ['a bad quantity', { backend: { ...fixed, resources: { ...resources, limits: { cpu: 'x', memory: '1' } } } }, ['env.test.backend.resources.limits.cpu: must be a Kubernetes quantity such as 100m or 64Mi, got "x"']],
    ['a config key that is no variable name', { www: { ...fixed, config: { 'a-b': '1' } } }, ['env.test.www.config: keys must be environment variable names, got "a-b"']],
    ['a bad namespace', { namespace: 'Castle!' }, ['env.test.namespace: must be a DNS label (lower-case letters, digits and \'-\', at most 63 characters), got "Castle!"']],
    ['a bad region', { region: 'us east' }, ['env.test.region: must be a valid label value, got "us east"']],
    ['an unknown load balancer', { loadBalancer: 'gce' as Environment['loadBalancer'] }, ['env.test.loadBalancer: must be cluster-default or aws-nlb, got "gce"']],
    ['an empty monitoring selector', { monitoringNamespaceSelector: {} }, ['env.test.monitoringNamespaceSelector: must name at least one label, got {}']],
    ['a bad monitoring label value', { monitoringNamespaceSelector: { m: 'a b' } }, ['env.test.monitoringNamespaceSelector.m: must be a valid label value, got "a b"']],
    ['an unknown autoscaler', { autoscaler: 'vpa' as Environment['autoscaler'] }, ['env.test.autoscaler: must be one of keda, hpa, none, got "vpa"']],
    ['a control plane CIDR that is no CIDR', { controlPlaneCidr: '10.0.0/16' }, ['env.test.controlPlaneCidr: must be a CIDR such as 10.0.0.0/16 or fd00::/64, got "10.0.0/16"']],
    ['a control plane CIDR open to every address', { controlPlaneCidr: '0.0.0.0/0' }, ['env.test.controlPlaneCidr: must not be 0.0.0.0/0 or ::/0 (that would open the metrics port to everyone), got "0.0.0.0/0"']],
    ['a target rate of 0', { www: { resources, config: {}, autoscaling: { minReplicas: 1, maxReplicas: 2, targetRpsPerReplica: 0 } } }, ['env.test.www.autoscaling.targetRpsPerReplica: must be a number > 0, got 0']],
  ])('name %s with its path and value', (_, change, problems) => {
    expect(validateEnvironment('test', { ...good, ...change })).toEqual(problems);
  });

  it("say where each one's metrics are read: its Prometheus, and no control plane admitted to the pods' metrics port", () => {
    for (const name of environmentNames) expect(metricsAccess(name)).toEqual({ prometheusUrl: 'http://prometheus.monitoring.svc:9090' });
    expect(metricsAccess('nowhere')).toBeUndefined();
  });

  it('name every problem of an environment at once', () => {
    expect(validateEnvironment('production', { ...good, namespace: '', www: { ...fixed, replicas: 0 }, backend: { ...fixed, replicas: 0 } })).toHaveLength(3);
  });
});
