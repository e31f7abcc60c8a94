import { describe, expect, it } from 'vitest';
import { prune } from '../src/apply/prune.js';
import type { ReleaseContext } from '../src/engine/context.js';
import { deployRelease } from '../src/engine/deploy.js';
import { destroyRelease } from '../src/engine/destroy.js';
import { diffRelease } from '../src/engine/diff.js';
import { rollbackRelease } from '../src/engine/rollback.js';
import { EXIT_CODES, OwnedElsewhereError } from '../src/errors.js';
import { exitCodeOf } from '../src/exit.js';
import type { KubeObject, ObjectRef } from '../src/kube/objects.js';
import type { Reporter } from '../src/output/reporter.js';
import { OWNER_ANNOTATION } from '../src/release/inventory.js';
import { ReleaseStore } from '../src/release/store.js';
import { fakeClock } from './clock.js';
import { configMap, request } from './fake-cluster.js';
import { FakeKube } from './fake-kube.js';

/** Both releases are named `castle`, in namespaces a and b, and render the same PriorityClass. */
const RELEASE = 'castle';
const priorityClass: KubeObject = { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'castle-critical' }, value: 1000 };
const PC_REF: ObjectRef = { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', name: 'castle-critical' };

/** A reporter that keeps every line, to read what a command said. */
function recording(): { reporter: Reporter; lines: string[] } {
  const lines: string[] = [];
  const reporter: Reporter = {
    step: (title) => ({ reason: (line) => lines.push(`${title}: ${line}`), ok: () => undefined, fail: (detail) => lines.push(`${title} failed: ${detail ?? ''}`) }),
    info: (line) => lines.push(line),
    warn: (line) => lines.push(line),
  };
  return { reporter, lines };
}

function world(): { fake: FakeKube; ctx: (namespace: string, reporter?: Reporter) => ReleaseContext; owner: () => string | undefined } {
  const fake = new FakeKube();
  for (const name of ['a', 'b']) fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const clock = fakeClock();
  return {
    fake,
    ctx: (namespace, reporter = recording().reporter) => ({ kube: fake.kube, release: RELEASE, namespace, store: new ReleaseStore(fake.kube, namespace, RELEASE), reporter, who: `ops@${namespace}`, clock }),
    owner: () => fake.peek('PriorityClass', 'castle-critical')?.metadata.annotations?.[OWNER_ANNOTATION],
  };
}

/** What release castle of namespace `ns` deploys: the shared PriorityClass and a ConfigMap of its own. */
const objectsOf = (withPriorityClass = true): KubeObject[] => [...(withPriorityClass ? [priorityClass] : []), configMap('settings')];

describe('two releases named castle in namespaces a and b never touch each other’s objects', () => {
  it('marks every object it applies with its namespace and release', async () => {
    const { fake, ctx } = world();
    await deployRelease(ctx('a'), request('1.0.0', objectsOf()));
    expect(fake.peek('PriorityClass', 'castle-critical')?.metadata).toMatchObject({
      labels: { 'app.kubernetes.io/managed-by': 'castle', 'castle.dev/release': 'castle' },
      annotations: { 'castle.dev/owner': 'a/castle' },
    });
    expect(fake.peek('ConfigMap', 'settings', 'a')?.metadata.annotations).toEqual({ 'castle.dev/owner': 'a/castle' });
  });

  it('refuses b’s deploy of a PriorityClass a owns, exit 6, naming a’s ownership, having written nothing', async () => {
    const { fake, ctx, owner } = world();
    await deployRelease(ctx('a'), request('1.0.0', objectsOf()));
    const before = fake.attempts.length;

    const refused = await deployRelease(ctx('b'), request('1.0.0', objectsOf())).catch((error: unknown) => error);

    expect(refused).toBeInstanceOf(OwnedElsewhereError);
    expect(exitCodeOf(refused)).toBe(EXIT_CODES.conflict);
    expect((refused as Error).message).toBe(
      'release castle in namespace b would apply objects that belong to another release: PriorityClass/castle-critical (owned by castle release castle in namespace a)',
    );
    expect(fake.attempts.slice(before)).toEqual([]);
    expect(await ctx('b').store.list()).toEqual([]);
    expect(fake.peek('ConfigMap', 'settings', 'b')).toBeUndefined();
    expect(owner()).toBe('a/castle');
  });

  it('refuses b’s diff the same way, sending nothing', async () => {
    const { fake, ctx } = world();
    await deployRelease(ctx('a'), request('1.0.0', objectsOf()));
    const before = fake.attempts.length;
    const refused = await diffRelease(ctx('b'), objectsOf(), false).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OwnedElsewhereError);
    expect(exitCodeOf(refused)).toBe(EXIT_CODES.conflict);
    expect((refused as Error).message).toMatch(/PriorityClass\/castle-critical \(owned by castle release castle in namespace a\)/);
    expect(fake.attempts.slice(before)).toEqual([]);
  });

  it('a’s destroy deletes the PriorityClass; then b’s deploy succeeds and b owns it, and a’s is refused', async () => {
    const { fake, ctx, owner } = world();
    await deployRelease(ctx('a'), request('1.0.0', objectsOf()));

    const destroyed = await destroyRelease(ctx('a'));
    expect(destroyed.deleted).toEqual(expect.arrayContaining(['PriorityClass/castle-critical', 'ConfigMap/settings']));
    expect(fake.peek('PriorityClass', 'castle-critical')).toBeUndefined();

    const b = await deployRelease(ctx('b'), request('1.0.0', objectsOf()));
    expect(b.status).toBe('succeeded');
    expect(owner()).toBe('b/castle');

    await expect(deployRelease(ctx('a'), request('1.0.1', objectsOf()))).rejects.toMatchObject({ exitCode: EXIT_CODES.conflict, message: expect.stringMatching(/owned by castle release castle in namespace b/) });
  });

  it('a’s prune and destroy never delete a cluster-scoped object b owns, saying whose it is', async () => {
    const { fake, ctx, owner } = world();
    await deployRelease(ctx('a'), request('1.0.0', objectsOf()));
    // As a and b left it when both deployed it before castle refused that: b applied it last.
    const live = fake.peek('PriorityClass', 'castle-critical') as KubeObject;
    fake.seed({ ...live, metadata: { ...live.metadata, annotations: { [OWNER_ANNOTATION]: 'b/castle' } } });

    const direct = await prune(fake.kube, { namespace: 'a', release: RELEASE }, [PC_REF], { nextCount: 1 });
    expect(direct).toMatchObject({ deleted: [], skipped: [{ ref: PC_REF, why: 'owned by castle release castle in namespace b (castle.dev/owner: b/castle)' }] });

    const pruning = recording();
    const second = await deployRelease(ctx('a', pruning.reporter), request('1.1.0', objectsOf(false)));
    expect(second.pruned).toEqual([]);
    expect(pruning.lines).toContain('Pruning objects no longer rendered: kept PriorityClass/castle-critical: owned by castle release castle in namespace b (castle.dev/owner: b/castle)');

    const destroying = recording();
    const destroyed = await destroyRelease(ctx('a', destroying.reporter));
    expect(destroyed.skipped).toEqual(['PriorityClass/castle-critical']);
    expect(destroyed.deleted).toEqual(['ConfigMap/settings']);
    expect(destroying.lines).toContain('Deleting the objects of release castle: kept PriorityClass/castle-critical: owned by castle release castle in namespace b (castle.dev/owner: b/castle)');
    expect(owner()).toBe('b/castle');
  });

  it('an object an older castle applied (labels, no owner annotation) is pruned when namespaced, kept and said so when cluster-scoped', async () => {
    const { fake, ctx } = world();
    await deployRelease(ctx('a'), request('1.0.0', [...objectsOf(), configMap('old-settings')]));
    for (const [kind, name, namespace] of [['PriorityClass', 'castle-critical', undefined], ['ConfigMap', 'old-settings', 'a']] as const) {
      const live = fake.peek(kind, name, namespace) as KubeObject;
      const { annotations: _annotations, ...metadata } = live.metadata;
      fake.seed({ ...live, metadata });
    }
    const pruning = recording();
    const second = await deployRelease(ctx('a', pruning.reporter), request('1.1.0', objectsOf(false)));
    expect(second.pruned).toEqual(['ConfigMap/old-settings']);
    expect(fake.peek('PriorityClass', 'castle-critical')).toBeDefined();
    expect(pruning.lines).toContainEqual(expect.stringMatching(/kept PriorityClass\/castle-critical: cluster-scoped and its owner's namespace is not recorded \(no castle\.dev\/owner annotation.*delete it by hand/));

    const destroying = recording();
    expect((await destroyRelease(ctx('a', destroying.reporter))).skipped).toEqual(['PriorityClass/castle-critical']);
    expect(fake.peek('PriorityClass', 'castle-critical')).toBeDefined();
    expect(destroying.lines).toContainEqual(expect.stringMatching(/kept PriorityClass\/castle-critical: cluster-scoped and its owner's namespace is not recorded/));
  });

  it('applies and owns a cluster-scoped object that exists without castle’s marks, as before', async () => {
    const { fake, ctx, owner } = world();
    fake.seed({ ...priorityClass, metadata: { name: 'castle-critical', labels: { team: 'ops' } } });
    expect((await deployRelease(ctx('b'), request('1.0.0', objectsOf()))).status).toBe('succeeded');
    expect(owner()).toBe('b/castle');
  });

  it('refuses a rollback to a revision whose cluster-scoped object another release owns now, before recording it', async () => {
    const { fake, ctx } = world();
    await deployRelease(ctx('a'), request('1.0.0', objectsOf()));
    await deployRelease(ctx('a'), request('1.1.0', objectsOf(false)));
    expect(fake.peek('PriorityClass', 'castle-critical')).toBeUndefined();
    await deployRelease(ctx('b'), request('1.0.0', objectsOf()));

    const refused = await rollbackRelease(ctx('a'), { forceConflicts: false, deadlineMs: 2000, historyMax: 10, leaseSeconds: 30 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OwnedElsewhereError);
    expect(exitCodeOf(refused)).toBe(EXIT_CODES.conflict);
    expect((await ctx('a').store.list()).map((r) => r.revision)).toEqual([2, 1]);
    expect(fake.peek('PriorityClass', 'castle-critical')?.metadata.annotations?.[OWNER_ANNOTATION]).toBe('b/castle');
  });
});
