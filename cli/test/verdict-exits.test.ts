/**
 * Every way out of a deploy that held its rollout for the verdict, against the in-memory API
 * with a Deployment controller small enough to read: a held Deployment runs one new pod beside
 * the old ones, a paused one goes no further, a plain one rolls out at once.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ReleaseContext } from '../src/engine/context.js';
import { type DeployRequest, DeployFailedError, deployRelease } from '../src/engine/deploy.js';
import { releaseStatus } from '../src/engine/inspect.js';
import { InterruptedError } from '../src/errors.js';
import type { Kube } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/objects.js';
import { formatStatus } from '../src/output/format.js';
import { humanReporter } from '../src/output/reporter.js';
import { LeaseLostError } from '../src/release/fence.js';
import { ReleaseStore } from '../src/release/store.js';
import type { VerdictOptions } from '../src/rollout/canary.js';
import { HOLD_ANNOTATION, HOLD_MIN_READY_SECONDS, HOLD_PROGRESS_DEADLINE_SECONDS, heldDeployment } from '../src/rollout/hold.js';
import { type FakeClock, fakeClock } from './clock.js';
import { FakeKube } from './fake-kube.js';

const NS = 'shop';
const REVISION = 'deployment.kubernetes.io/revision';

interface Deployment extends KubeObject {
  spec: { replicas: number; minReadySeconds?: number; progressDeadlineSeconds?: number; paused?: boolean; strategy?: unknown; selector?: unknown; template: { metadata?: unknown; spec: { containers: { name?: string; image: string }[] } } };
}

/** www as its manifests have it: its own strategy and minReadySeconds, which the hold replaces for a while. */
const www = (image: string): Deployment => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'www' },
  spec: {
    replicas: 3,
    minReadySeconds: 5,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: { metadata: { labels: { app: 'www' } }, spec: { containers: [{ name: 'www', image }] } },
    selector: { matchLabels: { app: 'www' } },
  },
});

const verdict: VerdictOptions = { deployment: 'www', windowSeconds: 0, port: 9090, path: '/metrics', policy: { minRequests: 50, tolerance: 0.01 }, onInconclusive: 'fail' };

interface World {
  readonly fake: FakeKube;
  readonly kube: Kube;
  readonly clock: FakeClock;
  /** 5xx answers a new pod adds between two reads of its counters (of 100 requests). */
  newErrors: number;
  /** Runs at each read of a pod's counters, before it is answered. */
  onRead?: (pod: string) => void;
  readonly log: string[];
  ctx(signal?: AbortSignal): ReleaseContext;
  pods(): { name: string; image: string }[];
}

const hashOf = (template: unknown): string => createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 6);
const ready = { conditions: [{ type: 'Ready', status: 'True' }] };

/**
 * The Deployment controller, as far as the hold goes: a ReplicaSet per template; paused, nothing
 * moves; held (minReadySeconds = the hold), one new pod runs beside the old ones; else every
 * pod is of the current template at once.
 */
function reconcile(fake: FakeKube): void {
  const d = fake.peek<Deployment>('Deployment', 'www', NS);
  if (!d) return;
  const hash = hashOf(d.spec.template);
  const sets = fake.all('ReplicaSet', NS);
  const revisionOf = (rs: KubeObject): number => Number(rs.metadata.annotations?.[REVISION] ?? 0);
  let current = sets.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
  if (!current) {
    current = fake.seed({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `www-${hash}`, namespace: NS, labels: { app: 'www', 'pod-template-hash': hash }, annotations: { [REVISION]: String(Math.max(0, ...sets.map(revisionOf)) + 1) }, ownerReferences: [{ uid: d.metadata.uid }] },
      status: { replicas: 0 },
    });
  }
  const pods = fake.all('Pod', NS);
  const image = d.spec.template.spec.containers[0]?.image ?? '';
  // An image named `…-crash` crash-loops.
  const status = image.endsWith('-crash') ? { containerStatuses: [{ name: 'www', restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } : ready;
  const start = (n: number): void => {
    for (let i = 0; i < n; i++) fake.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `www-${hash}-${i}`, namespace: NS, labels: { app: 'www', 'pod-template-hash': hash, image } }, status });
  };
  const mine = pods.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash);
  if (d.spec.paused) {
    // A paused Deployment does not roll out.
  } else if (d.spec.minReadySeconds === HOLD_MIN_READY_SECONDS) {
    if (mine.length === 0) start(1);
  } else {
    for (const p of pods.filter((x) => x.metadata.labels?.['pod-template-hash'] !== hash)) void fake.delete({ apiVersion: 'v1', kind: 'Pod', namespace: NS, name: p.metadata.name });
    if (mine.length < d.spec.replicas) start(d.spec.replicas);
  }
  const now = fake.all('Pod', NS);
  const updated = now.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash).length;
  for (const rs of fake.all('ReplicaSet', NS)) {
    const n = now.filter((p) => p.metadata.labels?.['pod-template-hash'] === rs.metadata.labels?.['pod-template-hash']).length;
    if ((rs.status as { replicas: number }).replicas !== n) fake.seed({ ...rs, status: { replicas: n } });
  }
  const held = d.spec.minReadySeconds === HOLD_MIN_READY_SECONDS;
  const deploymentStatus = { observedGeneration: 0, replicas: now.length, updatedReplicas: updated, readyReplicas: now.length, availableReplicas: held ? now.length - updated : now.length };
  fake.seed({ ...d, metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, [REVISION]: current.metadata.annotations?.[REVISION] ?? '1' } }, status: deploymentStatus });
}

function world(): World {
  const fake = new FakeKube();
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const clock = fakeClock();
  const reads = new Map<string, number>();
  const w: World = {
    fake,
    clock,
    newErrors: 0,
    log: [],
    kube: new Proxy(fake, {
      get(target, prop) {
        if (prop === 'apply') {
          return async (object: KubeObject, options: object): Promise<KubeObject> => {
            const result = await target.apply(object, options);
            if (object.kind !== 'Deployment') return result;
            // Server-side apply: the annotations castle no longer sends are gone (the fake merges them).
            const live = target.peek('Deployment', object.metadata.name, NS) as KubeObject;
            target.seed({ ...live, metadata: { ...live.metadata, annotations: { ...object.metadata.annotations, [REVISION]: live.metadata.annotations?.[REVISION] ?? '' } } });
            reconcile(target);
            return result;
          };
        }
        if (prop === 'proxyGet') {
          return (path: string) => {
            const pod = /pods\/([^:]+):9090\/proxy\/metrics$/.exec(path)?.[1] ?? '';
            w.onRead?.(pod);
            const n = (reads.get(pod) ?? 0) + 1;
            reads.set(pod, n);
            const fresh = target.peek('Pod', pod, NS)?.metadata.labels?.['pod-template-hash'] === hashOf((target.peek<Deployment>('Deployment', 'www', NS) as Deployment).spec.template);
            const errors = fresh ? w.newErrors * n : 0;
            return Promise.resolve({ status: 200, body: `http_requests_total{route="/",status_code="200"} ${100 * n - errors}\nhttp_requests_total{route="/",status_code="500"} ${errors}\n` });
          };
        }
        return Reflect.get(target, prop, target) as unknown;
      },
    }) as unknown as Kube,
    ctx: (signal) => ({ kube: w.kube, release: 'web', namespace: NS, store: new ReleaseStore(w.kube, NS, 'web'), reporter: humanReporter({ write: (t) => void w.log.push(t), color: false }), who: 'alice@laptop', clock, signal }),
    pods: () => fake.all('Pod', NS).map((p) => ({ name: p.metadata.name, image: p.metadata.labels?.image ?? '' })),
  };
  return w;
}

const request = (image: string, more: Partial<DeployRequest> = {}): DeployRequest => ({
  objects: [www(image)],
  version: image.replace(/^www:/, ''),
  forceConflicts: false,
  deadlineMs: 2000,
  historyMax: 10,
  rollbackOnFailure: true,
  leaseSeconds: 10,
  verdict,
  ...more,
});

/** A world where version 1.0.0 runs on three pods. */
async function running(): Promise<World> {
  const w = world();
  await deployRelease(w.ctx(), request('www:1.0.0'));
  expect(w.pods().map((p) => p.image)).toEqual(['www:1.0.0', 'www:1.0.0', 'www:1.0.0']);
  return w;
}

const live = (w: World): Deployment => w.fake.peek<Deployment>('Deployment', 'www', NS) as Deployment;
const images = (w: World): string[] => w.pods().map((p) => p.image).sort();

/** The failed version stays where it failed: paused, with its own strategy and minReadySeconds back, one new pod beside the old ones. */
function expectPausedWithItsOwnSettings(w: World, revision: number): void {
  const d = live(w);
  expect(d.spec).toMatchObject({ paused: true, minReadySeconds: 5, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } });
  // Not sent any more: the API server's default (600 s) again.
  expect(d.spec.progressDeadlineSeconds).toBeUndefined();
  expect(d.metadata.annotations?.[HOLD_ANNOTATION]).toBe(String(revision));
  expect(images(w)).toEqual(['www:1.0.0', 'www:1.0.0', 'www:1.0.0', 'www:2.0.0']);
  // The controller runs again: a paused Deployment does not finish the failed version's rollout.
  reconcile(w.fake);
  expect(images(w)).toEqual(['www:1.0.0', 'www:1.0.0', 'www:1.0.0', 'www:2.0.0']);
}

async function records(w: World): Promise<{ revision: number; status: string; reason?: string }[]> {
  return (await new ReleaseStore(w.kube, NS, 'web').list()).map(({ revision, status, reason }) => ({ revision, status, ...(reason ? { reason } : {}) }));
}

describe('the hold of a verdict, on every way out of the deploy', () => {
  it('is applied to a Deployment the API server accepts, which refuses a minReadySeconds not under the progress deadline as the real one does', async () => {
    const w = await running();
    const ns = { ...www('www:2.0.0'), metadata: { name: 'www', namespace: NS } };
    await expect(w.fake.apply({ ...ns, spec: { ...ns.spec, minReadySeconds: 2 ** 31 - 1 } })).rejects.toMatchObject({
      status: 422,
      message: 'Deployment.apps "www" is invalid: spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds',
    });
    await expect(w.fake.apply(heldDeployment(ns, 2))).resolves.toMatchObject({ spec: { minReadySeconds: HOLD_MIN_READY_SECONDS, progressDeadlineSeconds: HOLD_PROGRESS_DEADLINE_SECONDS } });
  });

  it('is held without lapsing while the verdict is taken: one new pod beside the old ones, the revision named on the Deployment', async () => {
    const w = await running();
    let during: Deployment | undefined;
    w.onRead = () => (during ??= live(w));
    await deployRelease(w.ctx(), request('www:2.0.0'));
    expect(during?.spec).toMatchObject({ minReadySeconds: HOLD_MIN_READY_SECONDS, progressDeadlineSeconds: HOLD_PROGRESS_DEADLINE_SECONDS, strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } });
    expect(during?.metadata.annotations?.[HOLD_ANNOTATION]).toBe('2');
  });

  it('is released when the verdict passes: the manifests’ own minReadySeconds, progress deadline and strategy, no pause, no annotation, the rollout finished', async () => {
    const w = await running();
    await deployRelease(w.ctx(), request('www:2.0.0'));
    const d = live(w);
    expect(d.spec.minReadySeconds).toBe(5);
    expect(d.spec.progressDeadlineSeconds).toBeUndefined();
    expect(d.spec.paused).toBeUndefined();
    expect(d.metadata.annotations?.[HOLD_ANNOTATION]).toBeUndefined();
    expect(images(w)).toEqual(['www:2.0.0', 'www:2.0.0', 'www:2.0.0']);
  });

  it('is replaced by a pause when the deploy is interrupted during the window: minReadySeconds is the manifests’ again and the failed version does not roll out', async () => {
    const w = await running();
    const interrupt = new AbortController();
    w.onRead = () => interrupt.abort('SIGINT');

    const error = await deployRelease(w.ctx(interrupt.signal), request('www:2.0.0')).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InterruptedError);
    expectPausedWithItsOwnSettings(w, 2);
    expect(await records(w)).toEqual([
      { revision: 2, status: 'failed', reason: expect.stringMatching(/interrupted.*; Deployment\/www paused with its new pods beside the old ones/) },
      { revision: 1, status: 'succeeded' },
    ]);
    expect(w.log.join('')).toMatch(/Deployment\/www paused: minReadySeconds and strategy back to the manifests’ \(5 s\), and revision 2 goes no further; castle rollback goes back, castle deploy goes on/);
  });

  it('is replaced by a pause when the verdict fails and the deploy does not roll back (--no-rollback-on-failure)', async () => {
    const w = await running();
    w.newErrors = 20;

    const error = await deployRelease(w.ctx(), request('www:2.0.0', { rollbackOnFailure: false })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeployFailedError);
    expect(error).toMatchObject({ code: 'CASTLE_ERR_VERDICT', rollback: undefined });
    expectPausedWithItsOwnSettings(w, 2);
    expect((await records(w))[0]).toMatchObject({ revision: 2, status: 'failed', reason: expect.stringMatching(/^rollout verdict fail: .*; Deployment\/www paused/) });
  });

  it('is replaced by a pause when taking the verdict fails (the new pod crashes) and the deploy does not roll back', async () => {
    const w = await running();

    const error = await deployRelease(w.ctx(), request('www:2.0.0-crash', { rollbackOnFailure: false })).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'CASTLE_ERR_ROLLOUT_FAILED', message: expect.stringMatching(/CrashLoopBackOff/) });
    const d = live(w);
    expect(d.spec).toMatchObject({ paused: true, minReadySeconds: 5 });
    expect(d.metadata.annotations?.[HOLD_ANNOTATION]).toBe('2');
    expect(images(w)).toEqual(['www:1.0.0', 'www:1.0.0', 'www:1.0.0', 'www:2.0.0-crash']);
  });

  it('is gone after a failed verdict that is rolled back: the healthy revision re-applied, not paused, no annotation', async () => {
    const w = await running();
    w.newErrors = 20;

    const error = await deployRelease(w.ctx(), request('www:2.0.0')).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'CASTLE_ERR_VERDICT', rollback: { revision: 3, to: 1 } });
    const d = live(w);
    expect(d.spec.paused).toBeUndefined();
    expect(d.spec.minReadySeconds).toBe(5);
    expect(d.metadata.annotations?.[HOLD_ANNOTATION]).toBeUndefined();
    expect(images(w)).toEqual(['www:1.0.0', 'www:1.0.0', 'www:1.0.0']);
  });

  it('is left as it is by a deploy that lost its lock during the window, which writes nothing more and says what happens then', async () => {
    const w = await running();
    let sent = -1;
    w.onRead = () => {
      if (sent >= 0) return;
      // Frozen for a minute: past its 10 s lease, the deploy may not write any more.
      w.clock.advance(60_000);
      sent = w.fake.writes.length;
    };

    const error = await deployRelease(w.ctx(), request('www:2.0.0')).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeployFailedError);
    expect((error as DeployFailedError).cause).toBeInstanceOf(LeaseLostError);
    expect(w.fake.writes.slice(sent).filter((x) => x.what === 'Deployment/www')).toEqual([]);
    const d = live(w);
    expect(d.spec.minReadySeconds).toBe(HOLD_MIN_READY_SECONDS);
    expect(d.metadata.annotations?.[HOLD_ANNOTATION]).toBe('2');
    // The hold does not lapse: the controller keeps the one new pod beside the old ones.
    reconcile(w.fake);
    expect(images(w)).toEqual(['www:1.0.0', 'www:1.0.0', 'www:1.0.0', 'www:2.0.0']);
    expect(w.log.join('')).toMatch(/Deployment\/www stays held for revision 2: this deploy lost its lock and writes nothing more\. The hold does not lapse, so the rollout goes no further; castle status shows it, and the next castle deploy or castle rollback releases it/);
  });
});

describe('castle status and a held or paused rollout', () => {
  it('names the Deployment paused after a failed revision and what to run next', async () => {
    const w = await running();
    w.newErrors = 20;
    await deployRelease(w.ctx(), request('www:2.0.0', { rollbackOnFailure: false })).catch(() => undefined);

    const report = await releaseStatus(w.ctx());

    expect(report.deployments[0]?.hold).toEqual({ revision: 2, state: 'paused', revisionStatus: 'failed' });
    expect(formatStatus(report)).toMatch(/Deployment\/www: paused by castle after revision 2 failed; its new pods run beside the old ones and it goes no further\. castle rollback goes back, castle deploy goes on/);
  });

  it('names a hold its deploy did not release, and that it does not lapse', async () => {
    const w = await running();
    w.onRead = () => w.clock.advance(60_000);
    await deployRelease(w.ctx(), request('www:2.0.0')).catch(() => undefined);

    const report = await releaseStatus(w.ctx());

    expect(report.deployments[0]?.hold).toEqual({ revision: 2, state: 'held', revisionStatus: 'failed' });
    expect(formatStatus(report)).toMatch(/Deployment\/www: held for the verdict of revision 2 \(failed\), which its deploy did not release; it does not lapse\. castle rollback goes back, castle deploy goes on/);
  });
});
