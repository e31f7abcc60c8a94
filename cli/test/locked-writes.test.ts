import { describe, expect, it } from 'vitest';
import type { ReleaseContext } from '../src/engine/context.js';
import { type DeployRequest, DeployFailedError, deployRelease } from '../src/engine/deploy.js';
import { destroyRelease } from '../src/engine/destroy.js';
import { EXIT_CODES, LockedError } from '../src/errors.js';
import type { KubeObject } from '../src/kube/objects.js';
import { quietReporter } from '../src/output/reporter.js';
import { LeaseLostError } from '../src/release/fence.js';
import { MANAGED_BY_LABEL, RELEASE_LABEL } from '../src/release/inventory.js';
import { acquireLock, leaseName } from '../src/release/lock.js';
import { ReleaseStore } from '../src/release/store.js';
import { type FakeClock, fakeClock } from './clock.js';
import { FakeKube, type Write } from './fake-kube.js';

const NS = 'shop';
const OWNED = { [MANAGED_BY_LABEL]: 'castle', [RELEASE_LABEL]: 'web' };

const namespace = (labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels } });
const configMap = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { name } });

function world({ namespaceExists = true } = {}): { fake: FakeKube; clock: FakeClock } {
  const fake = new FakeKube();
  if (namespaceExists) fake.seed(namespace({ team: 'before' }));
  return { fake, clock: fakeClock() };
}

/** The context of one person's CLI run against the fake API. */
function ctxOf(fake: FakeKube, clock: FakeClock, who: string): ReleaseContext {
  return { kube: fake.kube, release: 'web', namespace: NS, store: new ReleaseStore(fake.kube, NS, 'web'), reporter: quietReporter, who, clock };
}

function request(version: string, objects: KubeObject[]): DeployRequest {
  return { objects, version, forceConflicts: false, deadlineMs: 1000, historyMax: 10, rollbackOnFailure: true, leaseSeconds: 10 };
}

async function history(fake: FakeKube): Promise<{ revision: number; status: string; who: string }[]> {
  return (await new ReleaseStore(fake.kube, NS, 'web').list()).map(({ revision, status, who }) => ({ revision, status, who }));
}

/** Freeze alice's deploy right after `at` reached the API, for `ms`, while `meanwhile` runs. */
function freezeAfter(fake: FakeKube, clock: FakeClock, at: Write['what'], ms: number, meanwhile: () => Promise<unknown> = () => Promise.resolve()): { writesAtResume: () => number } {
  let resumedAt = -1;
  fake.afterWrite = async (w) => {
    if (w.actor !== 'me' || w.what !== at) return;
    fake.afterWrite = undefined;
    clock.advance(ms);
    await meanwhile();
    resumedAt = fake.writes.length;
  };
  return { writesAtResume: () => resumedAt };
}

describe('a deploy that lost its lock', () => {
  it('stops before its next write when it resumes after another deploy took the release over: no rollback, one succeeded revision, the cluster the other’s', async () => {
    const { fake, clock } = world();
    const bob = () => fake.as('bob', () => deployRelease(ctxOf(fake, clock, 'bob@ci'), request('2.0.0', [namespace({ team: 'b' }), configMap('b-only')])));
    const frozen = freezeAfter(fake, clock, 'ConfigMap/a-only', 60_000, bob);

    const error = await deployRelease(ctxOf(fake, clock, 'alice@laptop'), request('1.0.0', [namespace({ team: 'a' }), configMap('a-only')])).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeployFailedError);
    expect(error).toMatchObject({ code: 'CASTLE_ERR_LEASE_LOST', exitCode: EXIT_CODES.failed, message: expect.stringMatching(/^lost the lock of release web: no renewal confirmed for 60\.0 s/) });
    expect((error as DeployFailedError).cause).toBeInstanceOf(LeaseLostError);
    expect((error as DeployFailedError).rollback).toBeUndefined();
    expect(fake.writes.slice(frozen.writesAtResume())).toEqual([]);
    expect(await history(fake)).toEqual([
      { revision: 2, status: 'succeeded', who: 'bob@ci' },
      { revision: 1, status: 'failed', who: 'alice@laptop' },
    ]);
    expect(fake.peek('ConfigMap', 'a-only', NS)).toBeUndefined();
    expect(fake.peek('ConfigMap', 'b-only', NS)).toBeDefined();
    expect(fake.peek('Namespace', NS)?.metadata.labels).toMatchObject({ team: 'b' });
  });

  it('that nobody took marks its own pending revision failed and frees the lease, and writes nothing else', async () => {
    const { fake, clock } = world();
    const frozen = freezeAfter(fake, clock, 'ConfigMap/a-only', 60_000);

    await expect(deployRelease(ctxOf(fake, clock, 'alice@laptop'), request('1.0.0', [configMap('a-only')]))).rejects.toMatchObject({ code: 'CASTLE_ERR_LEASE_LOST' });

    expect(fake.writes.slice(frozen.writesAtResume())).toEqual([
      { actor: 'me', verb: 'replace', what: 'Secret/castle.release.v1.web.v1' },
      { actor: 'me', verb: 'delete', what: `Lease/${leaseName('web')}` },
    ]);
    const [record] = await new ReleaseStore(fake.kube, NS, 'web').list();
    expect(record).toMatchObject({ revision: 1, status: 'failed', reason: expect.stringMatching(/^lost the lock of release web/) });
  });

  it('stops at the next wave when its lock was taken from it while it was not frozen at all', async () => {
    const { fake, clock } = world();
    // The first wave (the namespace) applied, someone takes the lease: the second wave is never sent.
    fake.afterWrite = async (w) => {
      if (w.actor !== 'me' || w.what !== `Namespace/${NS}`) return;
      fake.afterWrite = undefined;
      await fake.as('ops', () => acquireLock(fake.kube, NS, 'web', 'ops@desk pid 3', { force: true, clock }));
    };
    await expect(deployRelease(ctxOf(fake, clock, 'alice@laptop'), request('1.0.0', [namespace({ team: 'a' }), configMap('a-only')]))).rejects.toThrow(/the lease is held by ops@desk pid 3 now/);
    expect(fake.attempts.filter((w) => w.actor === 'me' && w.what === 'ConfigMap/a-only')).toEqual([]);
    expect(fake.peek<{ spec: { holderIdentity: string } }>('Lease', leaseName('web'), NS)?.spec.holderIdentity).toBe('ops@desk pid 3');
  });
});

describe('a deploy that fails while its lock is being taken from it', () => {
  it('asks the API server before marking its revision: no plain write, no rollback over the new holder', async () => {
    const { fake, clock } = world();
    await deployRelease(ctxOf(fake, clock, 'alice@laptop'), request('1.0.0', [configMap('one')]));
    // While revision 2 applies, its apply fails and, at that moment, someone takes the lease by force.
    fake.refuse = (w) => {
      if (w.actor !== 'me' || w.what !== 'ConfigMap/two') return;
      fake.refuse = undefined;
      const lease = fake.peek<KubeObject & { spec: object }>('Lease', leaseName('web'), NS) as KubeObject & { spec: object };
      fake.seed({ ...lease, spec: { ...lease.spec, holderIdentity: 'ops@desk pid 3', leaseTransitions: 1 } });
      throw new Error('etcdserver: leader changed');
    };
    const sent = fake.writes.length;

    const error = await deployRelease(ctxOf(fake, clock, 'alice@laptop'), request('2.0.0', [configMap('two')])).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'CASTLE_ERR_LEASE_LOST', message: expect.stringMatching(/held by ops@desk pid 3 now/) });
    expect((error as DeployFailedError).rollback).toBeUndefined();
    // Only the compare-and-swap of its own pending record, nothing applied, no lease deleted.
    expect(fake.writes.slice(sent).filter((w) => w.actor === 'me' && !w.what.startsWith('Lease/'))).toEqual([
      { actor: 'me', verb: 'create', what: 'Secret/castle.release.v1.web.v2' },
      { actor: 'me', verb: 'replace', what: 'Secret/castle.release.v1.web.v2' },
    ]);
    expect(fake.peek<{ spec: { holderIdentity: string } }>('Lease', leaseName('web'), NS)?.spec.holderIdentity).toBe('ops@desk pid 3');
    expect(await history(fake)).toEqual([
      { revision: 2, status: 'failed', who: 'alice@laptop' },
      { revision: 1, status: 'succeeded', who: 'alice@laptop' },
    ]);
  });
});

describe('a deploy refused by the lock', () => {
  it('changes nothing, its namespace’s labels included', async () => {
    const { fake, clock } = world();
    const at = clock.now().toISOString();
    fake.seed({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: leaseName('web'), namespace: NS }, spec: { holderIdentity: 'bob@ci pid 7', leaseDurationSeconds: 300, acquireTime: at, renewTime: at } });
    const before = fake.peek('Namespace', NS);

    const refused = deployRelease(ctxOf(fake, clock, 'alice@laptop'), request('1.0.0', [namespace({ team: 'a' }), configMap('a-only')]));

    await expect(refused).rejects.toBeInstanceOf(LockedError);
    await expect(refused).rejects.toMatchObject({ exitCode: EXIT_CODES.locked, message: expect.stringMatching(/locked by bob@ci pid 7/) });
    expect(fake.attempts).toEqual([]);
    expect(fake.peek('Namespace', NS)).toEqual(before);
  });
});

describe('a deploy into a namespace that does not exist yet', () => {
  it('creates it with only the ownership labels before locking (the lock lives there), and applies its own labels under the lock', async () => {
    const { fake, clock } = world({ namespaceExists: false });
    let labelsWhenLocking: Record<string, string> | undefined;
    fake.refuse = (w) => {
      if (w.verb === 'create' && w.what.startsWith('Lease/')) labelsWhenLocking = fake.peek('Namespace', NS)?.metadata.labels;
    };

    await deployRelease(ctxOf(fake, clock, 'alice@laptop'), request('1.0.0', [namespace({ team: 'a' }), configMap('a-only')]));

    const order = (verb: Write['verb'], what: string): number => fake.writes.findIndex((w) => w.verb === verb && w.what === what);
    expect(order('create', `Namespace/${NS}`)).toBe(0);
    expect(order('create', `Lease/${leaseName('web')}`)).toBe(1);
    expect(order('apply', `Namespace/${NS}`)).toBeGreaterThan(1);
    expect(labelsWhenLocking).toEqual(OWNED);
    expect(fake.peek('Namespace', NS)?.metadata.labels).toEqual({ team: 'a', ...OWNED });
  });

  it('is bad input when the manifests do not have it, and nothing is written', async () => {
    const { fake, clock } = world({ namespaceExists: false });
    await expect(deployRelease(ctxOf(fake, clock, 'alice@laptop'), request('1.0.0', [configMap('a-only')]))).rejects.toMatchObject({ exitCode: EXIT_CODES.usage, message: 'namespace shop does not exist' });
    expect(fake.attempts).toEqual([]);
  });
});

describe('destroy and the lock', () => {
  async function deployed(): Promise<{ fake: FakeKube; clock: FakeClock }> {
    const w = world();
    await deployRelease(ctxOf(w.fake, w.clock, 'alice@laptop'), request('1.0.0', [namespace({ team: 'a' }), configMap('a-only')]));
    return w;
  }

  it('is refused while a deploy holds the lock, naming the holder, and deletes nothing', async () => {
    const { fake, clock } = await deployed();
    const running = await fake.as('bob', () => acquireLock(fake.kube, NS, 'web', 'bob@ci pid 7', { clock }));
    const sent = fake.attempts.length;

    const refused = destroyRelease(ctxOf(fake, clock, 'ops@desk'));

    await expect(refused).rejects.toBeInstanceOf(LockedError);
    await expect(refused).rejects.toMatchObject({ exitCode: EXIT_CODES.locked, message: expect.stringMatching(/release web is locked by bob@ci pid 7 until/) });
    expect(fake.attempts.slice(sent)).toEqual([]);
    await running.release();
  });

  it('with ignoreLock takes the lock from the deploy holding it, deletes the release, and that deploy stops at its next renewal', async () => {
    const { fake, clock } = await deployed();
    const running = await fake.as('bob', () => acquireLock(fake.kube, NS, 'web', 'bob@ci pid 7', { clock }));

    const report = await destroyRelease(ctxOf(fake, clock, 'ops@desk'), { ignoreLock: true });

    expect(report).toMatchObject({ deleted: ['ConfigMap/a-only', `Namespace/${NS}`], records: 1, failures: [] });
    await expect(running.confirm()).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('takes the lock of a deploy that died (expired) and destroys', async () => {
    const { fake, clock } = await deployed();
    await fake.as('bob', () => acquireLock(fake.kube, NS, 'web', 'bob@ci pid 7', { clock }));
    clock.advance(31_000);
    const report = await destroyRelease(ctxOf(fake, clock, 'ops@desk'));
    expect(report.deleted).toContain('ConfigMap/a-only');
  });
});
