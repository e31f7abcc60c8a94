/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any -- rendered objects are untyped JSON, read field by field */
import { describe, expect, it } from 'vitest';
import { autoscalerQueries, TierAutoscaler, type TierAutoscalerProps } from '../src/autoscaler.js';
import { render, type RenderOptions } from '../src/index.js';
import { only, testChart } from './support.js';

const base: TierAutoscalerProps = { kind: 'keda', name: 'www', namespace: 'castle', labels: { a: 'b' }, minReplicas: 5, maxReplicas: 10, targetRpsPerReplica: 7 };

function made(props: Partial<TierAutoscalerProps>) {
  const { chart, objects } = testChart();
  new TierAutoscaler(chart, 'a', { ...base, ...props });
  return objects();
}

describe('TierAutoscaler', () => {
  it('with KEDA, scales the Deployment on the request rate per replica from Prometheus, failing loudly on an empty answer', () => {
    const so = only(made({}), 'ScaledObject', 'www');
    expect(so.apiVersion).toBe('keda.sh/v1alpha1');
    expect(so.spec).toMatchObject({ scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'www' }, minReplicaCount: 5, maxReplicaCount: 10 });
    expect(so.spec).not.toHaveProperty('pollingInterval');
    expect(so.spec.triggers).toEqual([
      {
        type: 'prometheus',
        name: 'requests-per-replica',
        metricType: 'AverageValue',
        metadata: { serverAddress: 'http://prometheus.monitoring.svc:9090', query: autoscalerQueries('castle', 'www').requests, threshold: '7', ignoreNullValues: 'false' },
      },
    ]);
  });

  it('queries the answered requests of the tier\'s containers in its namespace, 0 when idle but scraped', () => {
    expect(autoscalerQueries('castle-x', 'www', '30s')).toEqual({
      requests: 'sum(rate(http_requests_total{namespace="castle-x",container="www",route="/"}[30s])) or (sum(up{namespace="castle-x",container="www"}) * 0)',
      shed: 'sum(rate(www_shed_total{namespace="castle-x",container="www"}[30s])) or (sum(up{namespace="castle-x",container="www"}) * 0)',
    });
  });

  it('adds the saturation, CPU and fallback settings when given', () => {
    const so = only(made({ targetShedRpsPerReplica: 1, targetCpuUtilisationPercent: 80, fallbackReplicas: 8, prometheusUrl: 'https://prom.example:9090' }), 'ScaledObject');
    expect(so.spec.triggers.map((t: any) => [t.name, t.metadata.threshold ?? t.metadata.value])).toEqual([['requests-per-replica', '7'], ['shed-per-replica', '1'], ['cpu', '80']]);
    expect(so.spec.triggers[1].metadata.serverAddress).toBe('https://prom.example:9090');
    expect(so.spec.fallback).toEqual({ failureThreshold: 3, replicas: 8 });
  });

  it('scales up at once (4 pods or double per 15 s, no stabilisation) and down slowly after a stable window', () => {
    const behavior = only(made({}), 'ScaledObject').spec.advanced.horizontalPodAutoscalerConfig.behavior;
    expect(behavior).toEqual({
      scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }, { type: 'Percent', value: 100, periodSeconds: 15 }] },
      scaleDown: { stabilizationWindowSeconds: 180, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 2, periodSeconds: 30 }] },
    });
    expect(only(made({ behaviour: { scaleDownStabilizationSeconds: 20 } }), 'ScaledObject').spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds).toBe(20);
  });

  it('as a plain HPA, scales on CPU with the same bounds and behaviour', () => {
    const hpa = only(made({ kind: 'hpa' }), 'HorizontalPodAutoscaler', 'www');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toMatchObject({ minReplicas: 5, maxReplicas: 10, scaleTargetRef: { kind: 'Deployment', name: 'www' } });
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(hpa.spec.behavior.scaleUp.stabilizationWindowSeconds).toBe(0);
  });

  it('scales on CPU alone when no request target is given', () => {
    expect(only(made({ targetRpsPerReplica: undefined }), 'ScaledObject').spec.triggers).toEqual([{ type: 'cpu', name: 'cpu', metricType: 'Utilization', metadata: { value: '70' } }]);
  });

  it.each<[string, Partial<TierAutoscalerProps>, string]>([
    ['reversed bounds', { minReplicas: 3, maxReplicas: 2 }, 'maxReplicas: must be ≥ minReplicas (3), got 2'],
    ['no replicas', { minReplicas: 0 }, 'minReplicas: must be ≥ 1, got 0'],
    ['a target of 0', { targetRpsPerReplica: 0 }, 'targetRpsPerReplica: must be a number > 0, got 0'],
    ['a fallback outside the bounds', { fallbackReplicas: 11 }, 'fallbackReplicas: must be ≤ 10, got 11'],
    ['a fallback with CPU alone', { targetRpsPerReplica: undefined, fallbackReplicas: 6 }, 'fallbackReplicas: needs a Prometheus trigger (targetRpsPerReplica or targetShedRpsPerReplica); KEDA has no fallback for CPU alone'],
    ['a URL without a scheme', { prometheusUrl: 'prometheus:9090' }, 'prometheusUrl: must be an http:// or https:// URL, got "prometheus:9090"'],
    ['a rate window that is no duration', { rateWindow: '15' }, 'rateWindow: must be a Prometheus duration such as 15s, got "15"'],
    ['a negative stabilisation window', { behaviour: { scaleDownStabilizationSeconds: -1 } }, 'behaviour.scaleDownStabilizationSeconds: must be ≥ 0, got -1'],
  ])('rejects %s naming the prop', (_, props, problem) => {
    expect(() => made(props)).toThrow(expect.objectContaining({ problems: [problem] }));
  });
});

describe('render with autoscaling', () => {
  const kinds = (options: RenderOptions) => render(options).map((o) => `${o.kind}/${o.metadata.name}`).filter((k) => /Scaled|Autoscaler/.test(k));

  it('renders ScaledObjects for both tiers in production, after the Deployments, www on the capacity model and backend on CPU and requests from 2', () => {
    const objects = render({ env: 'production', version: '1.2.3' });
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names.slice(-2)).toEqual(['ScaledObject/backend', 'ScaledObject/www']);
    const www = only(objects, 'ScaledObject', 'www');
    expect(www.spec).toMatchObject({ minReplicaCount: 5, maxReplicaCount: 10, fallback: { replicas: 8 } });
    expect(www.spec.triggers.map((t: any) => `${t.name}=${t.metadata.threshold}`)).toEqual(['requests-per-replica=7', 'shed-per-replica=1']);
    const backend = only(objects, 'ScaledObject', 'backend');
    expect(backend.spec.minReplicaCount).toBe(2);
    expect(backend.spec.triggers.map((t: any) => t.type)).toEqual(['prometheus', 'cpu']);
  });

  it('keeps local fixed with no autoscaler unless asked', () => {
    expect(kinds({ env: 'local', version: '1.2.3' })).toEqual([]);
    expect(only(render({ env: 'local', version: '1.2.3' }), 'Deployment', 'www').spec.replicas).toBe(8);
  });

  it('autoscales local with KEDA on request, with the namespace, Prometheus and scale-down window asked for', () => {
    const objects = render({ env: 'local', version: '1.2.3', namespace: 'castle-t', autoscaling: { autoscaler: 'keda', prometheusUrl: 'http://198.19.0.99:9090', scaleDownStabilizationSeconds: 20 } });
    expect(only(objects, 'Deployment', 'www').spec).not.toHaveProperty('replicas');
    const www = only(objects, 'ScaledObject', 'www');
    expect(www.spec).toMatchObject({ minReplicaCount: 5, maxReplicaCount: 10 });
    expect(www.spec.triggers[0].metadata.serverAddress).toBe('http://198.19.0.99:9090');
    expect(www.spec.triggers[0].metadata.query).toContain('namespace="castle-t"');
    expect(www.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds).toBe(20);
  });

  it('falls back to CPU HPAs, or to fixed replicas, when the cluster has no KEDA', () => {
    expect(kinds({ env: 'production', version: '1.2.3', autoscaling: { autoscaler: 'hpa' } })).toEqual(['HorizontalPodAutoscaler/backend', 'HorizontalPodAutoscaler/www']);
    const fixed = render({ env: 'production', version: '1.2.3', autoscaling: { autoscaler: 'none' } });
    expect(kinds({ env: 'production', version: '1.2.3', autoscaling: { autoscaler: 'none' } })).toEqual([]);
    expect([only(fixed, 'Deployment', 'www').spec.replicas, only(fixed, 'Deployment', 'backend').spec.replicas]).toEqual([8, 3]);
  });

  it.each<[string, RenderOptions['autoscaling'], string]>([
    ['an unknown autoscaler', { autoscaler: 'vpa' as 'keda' }, 'autoscaling.autoscaler: must be one of keda, hpa, none, got "vpa"'],
    ['a Prometheus URL without a scheme', { prometheusUrl: 'prometheus' }, 'autoscaling.prometheusUrl: must be an http:// or https:// URL, got "prometheus"'],
    ['a fractional window', { scaleDownStabilizationSeconds: 1.5 }, 'autoscaling.scaleDownStabilizationSeconds: must be an integer, got 1.5'],
  ])('rejects %s', (_, autoscaling, problem) => {
    expect(() => render({ env: 'local', version: '1.2.3', autoscaling })).toThrow(expect.objectContaining({ problems: [problem] }));
  });
});
