import { describe, expect, it } from 'vitest';
import { type ContainerState, fatalState } from '../src/rollout/diagnose.js';
import { type DeploymentState, rolloutProgress } from '../src/rollout/progress.js';

const done: DeploymentState = { generation: 2, observedGeneration: 2, desired: 3, updated: 3, ready: 3, available: 3, total: 3, oldReplicas: 0 };

describe('rollout progress', () => {
  it('is done when every desired pod is updated, ready and available and nothing old remains', () => {
    expect(rolloutProgress(done)).toEqual({ done: true });
  });

  it.each<[string, Partial<DeploymentState>, RegExp]>([
    ['stale status (generation not yet observed)', { observedGeneration: 1 }, /observe generation 2/],
    ['pods not yet updated', { updated: 2 }, /2 of 3 pods updated/],
    ['pods not ready', { ready: 1 }, /1 of 3 pods ready/],
    ['pods not available', { available: 2 }, /2 of 3 pods available/],
    ['an old ReplicaSet with pods', { oldReplicas: 1 }, /1 old pods to terminate/],
    ['surplus pods still terminating', { total: 4 }, /1 old pods to terminate/],
  ])('is not done with %s', (_, change, why) => {
    const p = rolloutProgress({ ...done, ...change });
    expect(p.done).toBe(false);
    expect(p.waitingFor).toMatch(why);
  });
});

describe('states that will not recover', () => {
  const c = (s: Partial<ContainerState>): ContainerState => ({ name: 'www', restartCount: 0, ...s });
  it.each(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError'])('%s is fatal at once', (reason) => {
    expect(fatalState([c({ waitingReason: reason, waitingMessage: 'm' })])).toEqual({ container: 'www', reason, message: 'm', crashed: false });
  });

  it('a crash loop is fatal only after the allowed restarts', () => {
    expect(fatalState([c({ waitingReason: 'CrashLoopBackOff', restartCount: 2 })], 3)).toBeUndefined();
    expect(fatalState([c({ waitingReason: 'CrashLoopBackOff', restartCount: 3, lastTerminatedReason: 'Error', lastExitCode: 1 })], 3)).toMatchObject({
      reason: 'CrashLoopBackOff',
      message: '3 restarts; last exit: Error (1)',
      crashed: true,
    });
  });

  it('a CreateContainerConfigError while the kubelet syncs its ConfigMap cache is not fatal; a missing ConfigMap is', () => {
    const waiting = (waitingMessage: string) => c({ waitingReason: 'CreateContainerConfigError', waitingMessage });
    expect(fatalState([waiting('failed to sync configmap cache: timed out waiting for the condition')])).toBeUndefined();
    expect(fatalState([waiting('configmap "www-config" not found')])).toMatchObject({ reason: 'CreateContainerConfigError' });
  });

  it('ContainerCreating and a running container are not fatal', () => {
    expect(fatalState([c({ waitingReason: 'ContainerCreating' }), c({})])).toBeUndefined();
  });
});
