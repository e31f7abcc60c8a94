import { describe, expect, it } from 'vitest';
import { renderSource } from '../src/render-source.js';

const kinds = (objects: readonly { kind: string }[]) => objects.map((o) => o.kind);
const www = (objects: readonly { kind: string; metadata: { name: string }; spec?: unknown }[]) =>
  objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'www') as { spec: { replicas?: number } };

describe('rendering --env for castle', () => {
  it('keeps the environment’s fixed replicas without --autoscaler', async () => {
    const objects = await renderSource({ env: 'local', version: '1.0.0', namespace: 'castle' });
    expect(kinds(objects)).not.toContain('ScaledObject');
    expect(www(objects).spec.replicas).toBe(8);
  });

  it.each([
    ['keda', 'ScaledObject'],
    ['hpa', 'HorizontalPodAutoscaler'],
  ] as const)('autoscales local with --autoscaler %s: a %s, and www without a fixed replica count', async (autoscaler, kind) => {
    const objects = await renderSource({ env: 'local', version: '1.0.0', namespace: 'castle', autoscaler });
    expect(kinds(objects)).toContain(kind);
    expect(www(objects).spec.replicas).toBeUndefined();
  });
});
