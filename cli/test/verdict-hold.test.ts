import { describe, expect, it } from 'vitest';
import { applyVerdict } from '../src/engine/verdict.js';
import type { Kube } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/objects.js';
import { takeVerdict, type VerdictOptions } from '../src/rollout/canary.js';
import { HOLD_ANNOTATION, HOLD_MIN_READY_SECONDS, HOLD_PROGRESS_DEADLINE_SECONDS, type DeploymentHold, heldDeployment, holdOf, pausedDeployment } from '../src/rollout/hold.js';
import type { Verdict } from '../src/rollout/verdict.js';
import { deploymentProblems } from './fake-kube.js';
import { record } from './fixtures.js';

const deployment: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'www' }, spec: { replicas: 4, template: { spec: { image: 'new' } } } };
const options: VerdictOptions = { deployment: 'www', windowSeconds: 30, port: 9090, path: '/metrics', policy: { minRequests: 50, tolerance: 0.01 }, onInconclusive: 'fail' };
const verdict = (outcome: Verdict['outcome']): Verdict => ({
  outcome,
  reason: 'why',
  old: { total: 300, errors: 0, ratio: 0, pods: 3 },
  new: { total: 100, errors: 9, ratio: 0.09, pods: 1 },
  trafficShare: 0.25,
  pValue: 0.0001,
  confidence: 0.99,
  excluded: [],
});

describe('holding a rollout for the verdict', () => {
  it('surges one new pod at a time and keeps it unavailable until castle releases it, naming the revision, leaving the template alone', () => {
    const held = heldDeployment({ ...deployment, metadata: { name: 'www', annotations: { team: 'a' } } }, 3);
    expect(held.spec).toEqual({
      replicas: 4,
      template: { spec: { image: 'new' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      minReadySeconds: 2_147_483_646,
      progressDeadlineSeconds: 2_147_483_647,
    });
    expect(held.metadata.annotations).toEqual({ team: 'a', [HOLD_ANNOTATION]: '3' });
  });

  it('never lapses by itself: the largest minReadySeconds the API server takes, under a progress deadline the controller reads as none (the largest int32)', () => {
    expect(HOLD_PROGRESS_DEADLINE_SECONDS).toBe(2 ** 31 - 1);
    expect(HOLD_MIN_READY_SECONDS).toBe(2 ** 31 - 2);
  });

  it.each<[string, Record<string, unknown>]>([
    ['no progressDeadlineSeconds (the API server’s 600)', {}],
    ['a progressDeadlineSeconds of their own', { progressDeadlineSeconds: 60 }],
    ['their own minReadySeconds and progressDeadlineSeconds', { minReadySeconds: 10, progressDeadlineSeconds: 30 }],
  ])('is a Deployment the API server accepts, whatever the manifests set: %s', (_, own) => {
    const manifests = { ...deployment, spec: { ...(deployment.spec as object), ...own } };
    expect(deploymentProblems(manifests)).toEqual([]);
    const held = heldDeployment(manifests, 3);
    expect(deploymentProblems(held)).toEqual([]);
    expect(held.spec).toMatchObject({ minReadySeconds: HOLD_MIN_READY_SECONDS, progressDeadlineSeconds: HOLD_PROGRESS_DEADLINE_SECONDS });
    expect(deploymentProblems(pausedDeployment(manifests, 3))).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['neither set', {}, []],
    ['minReadySeconds under the default deadline', { minReadySeconds: 599 }, []],
    ['minReadySeconds at the default deadline', { minReadySeconds: 600 }, ['spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds']],
    ['the largest int32 as minReadySeconds, no deadline', { minReadySeconds: 2 ** 31 - 1 }, ['spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds']],
    ['a deadline equal to minReadySeconds', { minReadySeconds: 30, progressDeadlineSeconds: 30 }, ['spec.progressDeadlineSeconds: Invalid value: 30: must be greater than minReadySeconds']],
    [
      'a deadline past int32',
      { minReadySeconds: 2 ** 31 - 1, progressDeadlineSeconds: 2 ** 31 },
      ['spec.progressDeadlineSeconds: Invalid value: 2147483648: must be a non-negative 32-bit integer'],
    ],
  ])('the API server’s rule, as the in-memory API enforces it: %s', (_, spec, problems) => {
    expect(deploymentProblems({ ...deployment, spec: { ...(deployment.spec as object), ...spec } })).toEqual(problems);
  });

  it('once the revision failed, gives the Deployment its own spec back, paused, still naming the revision', () => {
    const own = { ...deployment, spec: { ...(deployment.spec as object), minReadySeconds: 10 } };
    const paused = pausedDeployment(own, 3);
    expect(paused.spec).toEqual({ replicas: 4, minReadySeconds: 10, template: { spec: { image: 'new' } }, paused: true });
    expect(paused.metadata.annotations).toEqual({ [HOLD_ANNOTATION]: '3' });
  });

  it.each<[string, Record<string, unknown>, Record<string, string> | undefined, DeploymentHold | undefined]>([
    ['held', { minReadySeconds: HOLD_MIN_READY_SECONDS, progressDeadlineSeconds: HOLD_PROGRESS_DEADLINE_SECONDS }, { [HOLD_ANNOTATION]: '3' }, { revision: 3, state: 'held' }],
    ['paused', { paused: true, minReadySeconds: 0 }, { [HOLD_ANNOTATION]: '3' }, { revision: 3, state: 'paused' }],
    ['released (the annotation gone)', { minReadySeconds: 0 }, undefined, undefined],
    ['resumed by hand (kubectl rollout resume)', { paused: false, minReadySeconds: 0 }, { [HOLD_ANNOTATION]: '3' }, undefined],
    ['paused by someone else', { paused: true }, undefined, undefined],
  ])('reads a live Deployment %s', (_, spec, annotations, hold) => {
    expect(holdOf({ ...deployment, metadata: { name: 'www', ...(annotations ? { annotations } : {}) }, spec: { ...(deployment.spec as object), ...spec } })).toEqual(hold);
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

  it('names the pods left out of the verdict and why', async () => {
    const r = record(2, 'pending');
    const excluded = [{ pod: 'www-old-a', group: 'old' as const, reason: 'counters unreadable at the start of the window (HTTP 503)' }];
    await expect(applyVerdict(r, { old: true }, deployment, options, () => Promise.resolve({ ...verdict('pass'), excluded }))).resolves.toMatch(
      /; left out: old pod www-old-a, counters unreadable at the start of the window \(HTTP 503\)$/,
    );
  });

  it('stores the fields older revisions have, so their history still reads the same', async () => {
    const r = record(2, 'pending');
    await applyVerdict(r, { old: true }, deployment, options, () => Promise.resolve(verdict('pass')));
    expect(r.verdict).toMatchObject({ outcome: 'pass', detail: { outcome: 'pass', reason: 'why', old: { total: 300, errors: 0, ratio: 0, pods: 3 }, new: { total: 100, errors: 9, ratio: 0.09, pods: 1 }, trafficShare: 0.25 } });
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

describe('taking the verdict', () => {
  const pod = (name: string, hash: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'www', 'pod-template-hash': hash } },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const metrics = (total: number, errors: number): string =>
    [`http_requests_total{route="/",status_code="200"} ${total - errors}`, `http_requests_total{route="/",status_code="500"} ${errors}`].join('\n');

  /** A cluster with one new pod and three old ones; each pod answers its metrics reads in turn (a number is an HTTP status). */
  function cluster(reads: Record<string, (string | number)[]>): Kube {
    const fake = {
      get: () => Promise.resolve({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'www', generation: 2, annotations: { 'deployment.kubernetes.io/revision': '2' } }, spec: { selector: { matchLabels: { app: 'www' } } }, status: { observedGeneration: 2 } }),
      list: (_: string, kind: string) =>
        Promise.resolve(kind === 'ReplicaSet' ? [{ apiVersion: 'apps/v1', kind, metadata: { name: 'www-new', annotations: { 'deployment.kubernetes.io/revision': '2' }, labels: { 'pod-template-hash': 'new' } } }] : [pod('www-new-1', 'new'), pod('www-old-1', 'old'), pod('www-old-2', 'old'), pod('www-old-3', 'old')]),
      proxyGet: (path: string) => {
        const next = reads[/pods\/([^:]+):/.exec(path)?.[1] ?? '']?.shift();
        return Promise.resolve(typeof next === 'number' ? { status: next, body: 'unavailable' } : { status: 200, body: next ?? '' });
      },
    };
    return fake as unknown as Kube;
  }

  it('leaves out a pod whose start read failed instead of counting its lifetime totals, and names it', async () => {
    const progress: string[] = [];
    const v = await takeVerdict(
      cluster({
        'www-new-1': [metrics(0, 0), metrics(250, 5)],
        'www-old-1': [503, metrics(8250, 240)],
        'www-old-2': [metrics(9000, 270), metrics(9250, 270)],
        'www-old-3': [metrics(9500, 280), metrics(9750, 280)],
      }),
      'ns',
      { ...options, windowSeconds: 0 },
      { deadlineMs: 1000, onProgress: (line) => progress.push(line) },
    );
    expect(v).toMatchObject({ outcome: 'fail', old: { total: 500, errors: 0, pods: 2 }, new: { total: 250, errors: 5, pods: 1 } });
    expect(v.excluded).toEqual([{ pod: 'www-old-1', group: 'old', reason: 'counters unreadable at the start of the window (HTTP 503)' }]);
    expect(progress.join('\n')).toMatch(/left out of the verdict: old pod www-old-1, counters unreadable at the start of the window \(HTTP 503\); is port 9090 path \/metrics right\?/);
  });
});
