import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT_CODES, LockedError, UsageError } from '../src/errors.js';
import { KubeApiError } from '../src/kube/http.js';
import type { KubeObject } from '../src/kube/objects.js';
import { LeaseLostError, fenceDecision, fencedKube, takenBy } from '../src/release/fence.js';
import { type LockOptions, acquireLock, leaseName, systemClock, validateLeaseSeconds } from '../src/release/lock.js';
import { type FakeClock, fakeClock } from './clock.js';
import { FakeKube } from './fake-kube.js';

interface Lease extends KubeObject {
  spec: { holderIdentity?: string; renewTime?: string; acquireTime?: string; leaseDurationSeconds?: number; leaseTransitions?: number };
}

const NS = 'shop';
const ME = 'alice@laptop pid 11';

function world(): { fake: FakeKube; clock: FakeClock } {
  const fake = new FakeKube();
  fake.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  return { fake, clock: fakeClock() };
}

const lease = (fake: FakeKube): Lease | undefined => fake.peek<Lease>('Lease', leaseName('web'), NS);
const lock = (fake: FakeKube, clock: FakeClock, options: LockOptions = {}) => acquireLock(fake.kube, NS, 'web', ME, { durationSeconds: 30, clock, ...options });

/** Another holder's lease, renewed at `renewed`. */
function seedLease(fake: FakeKube, holder: string, renewed: Date, durationSeconds: number): void {
  const at = renewed.toISOString();
  fake.seed({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: leaseName('web'), namespace: NS }, spec: { holderIdentity: holder, leaseDurationSeconds: durationSeconds, acquireTime: at, renewTime: at } });
}

describe('the fencing rule', () => {
  it.each([
    { confirmed: 0, now: 0, write: true },
    { confirmed: 0, now: 19_999, write: true },
    { confirmed: 0, now: 20_000, write: false },
    { confirmed: 10_000, now: 29_999, write: true },
    { confirmed: 10_000, now: 30_000, write: false },
    { confirmed: 0, now: 600_000, write: false },
  ])('a holder of a 30 s lease confirmed at $confirmed ms may write at $now ms: $write', ({ confirmed, now, write }) => {
    expect(fenceDecision({ durationMs: 30_000, confirmedAtMs: confirmed }, now).write).toBe(write);
  });

  it('says how long no renewal was confirmed and where the window ends', () => {
    expect(fenceDecision({ durationMs: 10_000, confirmedAtMs: 0 }, 31_000)).toEqual({
      write: false,
      why: 'no renewal confirmed for 31.0 s (a holder stops writing after 6.7 s of its 10.0 s lease): another deploy may hold it now',
    });
  });

  const mine = { holderIdentity: ME, acquireTime: '2026-03-01T12:00:00.000000Z', leaseTransitions: 2 };
  it.each([
    ['a deleted lease', undefined, /the lease was deleted/],
    ['another holder', { ...mine, holderIdentity: 'bob@ci pid 7' }, /held by bob@ci pid 7 now/],
    ['the same name acquiring it again', { ...mine, acquireTime: '2026-03-01T12:05:00.000000Z', leaseTransitions: 3 }, /acquired again since/],
  ])('finds the lease taken by %s', (_, observed, why) => {
    expect(takenBy(observed, mine)).toMatch(why);
  });

  it('finds its own lease its own, whatever else was written to it', () => {
    expect(takenBy({ ...mine }, mine)).toBeUndefined();
  });
});

describe('the release lock', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('refuses another holder’s live lease naming it, changing nothing; with force it takes it, counting a transition', async () => {
    const { fake, clock } = world();
    seedLease(fake, 'bob@ci pid 7', clock.now(), 300);
    await expect(lock(fake, clock)).rejects.toThrow(LockedError);
    await expect(lock(fake, clock)).rejects.toMatchObject({ exitCode: EXIT_CODES.locked, message: expect.stringMatching(/release web is locked by bob@ci pid 7 until 2026-03-01T12:05:00/) });
    expect(fake.writes).toEqual([]);

    const takeovers: [string, boolean][] = [];
    const held = await lock(fake, clock, { force: true, onTakeover: (holder, _at, live) => takeovers.push([holder, live]) });
    expect(takeovers).toEqual([['bob@ci pid 7', true]]);
    expect(lease(fake)?.spec).toMatchObject({ holderIdentity: ME, leaseTransitions: 1 });
    await held.release();
  });

  it('taking a lease by force reads it again when its holder renewed it between the read and the write', async () => {
    const { fake, clock } = world();
    seedLease(fake, 'bob@ci pid 7', clock.now(), 30);
    fake.refuse = (w) => {
      if (w.actor !== 'me' || w.verb !== 'replace') return;
      fake.refuse = undefined;
      seedLease(fake, 'bob@ci pid 7', clock.now(), 30);
    };
    const takeovers: string[] = [];
    const held = await lock(fake, clock, { force: true, onTakeover: (holder) => takeovers.push(holder) });
    expect(lease(fake)?.spec.holderIdentity).toBe(ME);
    expect(takeovers).toEqual(['bob@ci pid 7']);
    expect(fake.attempts.filter((w) => w.actor === 'me' && w.verb === 'replace')).toHaveLength(2);
    await held.release();
  });

  it('takes over an expired lease, reporting it as expired', async () => {
    const { fake, clock } = world();
    seedLease(fake, 'bob@ci pid 7', new Date(clock.now().getTime() - 60_000), 30);
    const takeovers: [string, boolean][] = [];
    const held = await lock(fake, clock, { onTakeover: (holder, _at, live) => takeovers.push([holder, live]) });
    expect(takeovers).toEqual([['bob@ci pid 7', false]]);
    await held.release();
    expect(lease(fake)).toBeUndefined();
  });

  it('stops a holder frozen past two thirds of its lease before its next write, and never renews the lease again', async () => {
    const { fake, clock } = world();
    const held = await lock(fake, clock, { durationSeconds: 10 });
    const before = lease(fake);
    clock.advance(31_000);
    expect(() => held.check()).toThrow(LeaseLostError);
    expect(held.signal.aborted).toBe(true);
    expect(held.signal.reason).toBeInstanceOf(LeaseLostError);
    await expect(held.confirm()).rejects.toThrow(/lost the lock of release web: no renewal confirmed for 31\.0 s/);
    expect(lease(fake)).toEqual(before);
  });

  it('moves the fence with each renewal the API server confirms', async () => {
    const { fake, clock } = world();
    const held = await lock(fake, clock, { durationSeconds: 30 });
    clock.advance(15_000);
    await held.confirm();
    expect(lease(fake)?.spec.renewTime).toBe('2026-03-01T12:00:15.000000Z');
    clock.advance(19_999);
    expect(() => held.check()).not.toThrow();
    clock.advance(1);
    expect(() => held.check()).toThrow(LeaseLostError);
  });

  it('loses the lock at the first renewal that finds another holder, and its release leaves the new holder’s lease alone', async () => {
    const { fake, clock } = world();
    const held = await lock(fake, clock);
    const taken = lease(fake) as Lease;
    await fake.as('destroy', () => fake.replace({ ...taken, spec: { ...taken.spec, holderIdentity: 'ops@desk pid 3', leaseTransitions: 1 } }));
    clock.advance(1000);
    await expect(held.confirm()).rejects.toThrow(/lost the lock of release web: the lease is held by ops@desk pid 3 now; stopped before the next write/);
    expect(() => held.check()).toThrow(LeaseLostError);
    await held.release();
    expect(lease(fake)?.spec.holderIdentity).toBe('ops@desk pid 3');
    expect(fake.writes.filter((w) => w.actor === 'me' && w.what.startsWith('Lease/'))).toEqual([{ actor: 'me', verb: 'create', what: 'Lease/castle-release-web' }]);
  });

  it('loses the lock when its lease was deleted', async () => {
    const { fake, clock } = world();
    const held = await lock(fake, clock);
    await fake.as('ops', () => fake.delete({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: NS, name: leaseName('web') }));
    await expect(held.confirm()).rejects.toThrow(/the lease was deleted/);
    await held.release();
    expect(lease(fake)).toBeUndefined();
  });

  it('renews over a write that did not take the lease (an annotation), keeping it', async () => {
    const { fake, clock } = world();
    const held = await lock(fake, clock);
    const live = lease(fake) as Lease;
    await fake.as('kubectl', () => fake.replace({ ...live, metadata: { ...live.metadata, annotations: { note: 'hi' } } }));
    clock.advance(5000);
    await held.confirm();
    expect(lease(fake)).toMatchObject({ metadata: { annotations: { note: 'hi' } }, spec: { holderIdentity: ME, renewTime: '2026-03-01T12:00:05.000000Z' } });
    await held.release();
    expect(lease(fake)).toBeUndefined();
  });

  it('keeps writing through failed renewals until the window closes, then stops', async () => {
    const { fake, clock } = world();
    const errors: unknown[] = [];
    const held = await lock(fake, clock, { durationSeconds: 10, onRenewError: (e) => errors.push(e) });
    fake.refuse = (w) => {
      if (w.verb === 'replace' && w.what.startsWith('Lease/')) throw new KubeApiError(503, 'ServiceUnavailable', 'etcdserver: request timed out');
    };
    clock.advance(6000);
    await held.confirm();
    expect(errors).toHaveLength(1);
    clock.advance(700);
    await expect(held.confirm()).rejects.toThrow(LeaseLostError);
    expect(errors).toHaveLength(1);
  });

  it('renews in the background every third of the lease', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { fake, clock } = world();
    const held = await lock(fake, clock, { durationSeconds: 30 });
    clock.advance(10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lease(fake)?.spec.renewTime).toBe('2026-03-01T12:00:10.000000Z');
    clock.advance(10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(lease(fake)?.spec.renewTime).toBe('2026-03-01T12:00:20.000000Z');
    await held.release();
  });

  it('refuses every write once released', async () => {
    const { fake, clock } = world();
    const held = await lock(fake, clock);
    await held.release();
    expect(() => held.check()).toThrow(/the lock was released/);
  });

  it('abandoned (its namespace is being deleted), neither renews nor deletes its lease, and refuses every write', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { fake, clock } = world();
    const errors: unknown[] = [];
    const held = await lock(fake, clock, { durationSeconds: 30, onRenewError: (e) => errors.push(e) });
    held.abandon();
    clock.advance(30_000);
    await vi.advanceTimersByTimeAsync(30_000);
    await held.release();
    expect(fake.writes.filter((w) => w.actor === 'me' && w.what.startsWith('Lease/'))).toEqual([{ actor: 'me', verb: 'create', what: 'Lease/castle-release-web' }]);
    expect(errors).toEqual([]);
    expect(() => held.check()).toThrow(/the lock was released/);
  });

  it('counts time the machine slept (the wall clock jumps) and never goes back when the wall clock is set back', () => {
    const wall = vi.spyOn(Date, 'now').mockReturnValue(1_000_000);
    const mono = vi.spyOn(performance, 'now').mockReturnValue(500);
    const clock = systemClock();
    wall.mockReturnValue(1_060_000);
    expect(clock.elapsedMs()).toBe(60_000);
    wall.mockReturnValue(1_000_000 - 3_600_000);
    mono.mockReturnValue(500 + 61_000);
    expect(clock.elapsedMs()).toBe(61_000);
    mono.mockReturnValue(500 + 1000);
    expect(clock.elapsedMs()).toBe(61_000);
  });

  it.each([0, 2, 2.5])('refuses a lease of %s seconds as too short to renew', (seconds) => {
    expect(() => validateLeaseSeconds(seconds)).toThrow(UsageError);
  });
});

describe('fenced writes', () => {
  it('refuses every write once the lock is lost, before it is sent; reads and dry runs go through', async () => {
    const { fake, clock } = world();
    const held = await lock(fake, clock, { durationSeconds: 10 });
    const kube = fencedKube(fake.kube, () => held.check());
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: NS } };
    await kube.apply(cm);
    expect(fake.writes.at(-1)).toEqual({ actor: 'me', verb: 'apply', what: 'ConfigMap/c' });
    clock.advance(7000);
    const sent = fake.attempts.length;
    await expect(kube.apply(cm)).rejects.toThrow(LeaseLostError);
    await expect(kube.create(cm)).rejects.toThrow(LeaseLostError);
    await expect(kube.replace(cm)).rejects.toThrow(LeaseLostError);
    await expect(kube.delete({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'c' })).rejects.toThrow(LeaseLostError);
    expect(fake.attempts.length).toBe(sent);
    await expect(kube.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: NS, name: 'c' })).resolves.toMatchObject({ metadata: { name: 'c' } });
    await expect(kube.apply(cm, { dryRun: true })).resolves.toMatchObject({ metadata: { name: 'c' } });
  });
});
