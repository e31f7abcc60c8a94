import { describe, expect, it } from 'vitest';
import { applyVerdict } from '../src/engine/verdict.js';
import type { KubeObject } from '../src/kube/objects.js';
import { heldDeployment, type VerdictOptions } from '../src/rollout/canary.js';
import type { Verdict } from '../src/rollout/verdict.js';
import { record } from './fixtures.js';

const deployment: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'www' }, spec: { replicas: 4, template: { spec: { image: 'new' } } } };
const options: VerdictOptions = { deployment: 'www', windowSeconds: 30, port: 9090, path: '/metrics', policy: { minRequests: 50, tolerance: 0.01 }, onInconclusive: 'fail' };
const verdict = (outcome: Verdict['outcome']): Verdict => ({
  outcome,
  reason: 'why',
  old: { total: 300, errors: 0, ratio: 0, pods: 3 },
  new: { total: 100, errors: 9, ratio: 0.09, pods: 1 },
  trafficShare: 0.25,
});

describe('holding a rollout for the verdict', () => {
  it('surges one new pod at a time and keeps it unavailable past the window, leaving the template alone', () => {
    const held = heldDeployment(deployment, 30);
    expect(held.spec).toEqual({ replicas: 4, template: { spec: { image: 'new' } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, minReadySeconds: 90 });
  });
});

describe('applying the verdict to a revision', () => {
  it('is skipped when the pod template did not change', async () => {
    const r = record(2, 'pending');
    await expect(applyVerdict(r, { spec: { image: 'new' } }, deployment, options, () => Promise.reject(new Error('not taken')))).resolves.toMatch(/skipped/);
    expect(r.verdict).toBeUndefined();
  });

  it('stores a pass with the counts and the real traffic share', async () => {
    const r = record(2, 'pending');
    await expect(applyVerdict(r, { old: true }, deployment, options, () => Promise.resolve(verdict('pass')))).resolves.toMatch(/pass: why; new pods had 25% of the traffic \(100 requests, 9 5xx; old 300, 0\)/);
    expect(r.verdict?.outcome).toBe('pass');
  });

  it.each<[Verdict['outcome'], VerdictOptions['onInconclusive'], boolean]>([
    ['fail', 'continue', true],
    ['inconclusive', 'fail', true],
    ['inconclusive', 'continue', false],
  ])('%s with inconclusive=%s fails the revision: %s', async (outcome, onInconclusive, fails) => {
    const r = record(2, 'pending');
    const run = applyVerdict(r, { old: true }, deployment, { ...options, onInconclusive }, () => Promise.resolve(verdict(outcome)));
    if (fails) await expect(run).rejects.toThrow(/rollout verdict/);
    else await expect(run).resolves.toMatch(/inconclusive/);
    expect(r.verdict?.outcome).toBe(outcome);
  });
});
