import { describe, expect, it } from 'vitest';
import { applyWaves } from '../src/apply/apply.js';
import type { KubeObject } from '../src/kube/objects.js';

const o = (kind: string, name = kind.toLowerCase()): KubeObject => ({ apiVersion: 'v1', kind, metadata: { name } });

describe('the order objects are applied in', () => {
  it('applies namespaces, then what pods refer to, then workloads — whatever order they came in', () => {
    const waves = applyWaves([o('Deployment'), o('ConfigMap'), o('PodDisruptionBudget'), o('Service'), o('Namespace'), o('ServiceAccount'), o('NetworkPolicy')]);
    expect(waves.map((w) => w.map((x) => x.kind))).toEqual([
      ['Namespace'],
      ['ConfigMap', 'Service', 'ServiceAccount', 'NetworkPolicy'],
      ['Deployment', 'PodDisruptionBudget'],
    ]);
  });

  it('applies autoscalers after the workloads they scale (KEDA\'s webhook looks the Deployment up)', () => {
    const waves = applyWaves([o('ScaledObject'), o('HorizontalPodAutoscaler'), o('Deployment'), o('ConfigMap')]);
    expect(waves.map((w) => w.map((x) => x.kind))).toEqual([['ConfigMap'], ['Deployment'], ['ScaledObject', 'HorizontalPodAutoscaler']]);
  });

  it('leaves out empty waves', () => {
    expect(applyWaves([o('ConfigMap')]).map((w) => w.length)).toEqual([1]);
  });
});
