import { describe, expect, it } from 'vitest';
import { DeployFailedError, deployRelease } from '../src/engine/deploy.js';
import { CastleError } from '../src/errors.js';
import type { VerdictOptions } from '../src/rollout/canary.js';
import { NS, configMap, fakeCluster, indexOf, request, service, www } from './fake-cluster.js';

const deletesOf = (c: ReturnType<typeof fakeCluster>, ...what: string[]) => c.fake.attempts.filter((w) => w.actor === 'me' && w.verb === 'delete' && what.includes(w.what));

describe('prune runs only once the new revision is healthy', () => {
  it('deletes what the new revision dropped after the rollout watch and the smoke check passed', async () => {
    const c = fakeCluster();
    await deployRelease(c.ctx(), request('1.0.0', [configMap('a'), configMap('b'), service(), www({ replicas: 2 })]));
    let atSmoke: { writes: number; b: boolean; ready?: number } | undefined;
    const smoke = {
      service: 'www',
      check: () => {
        atSmoke = { writes: c.fake.writes.length, b: Boolean(c.fake.peek('ConfigMap', 'b', NS)), ready: c.fake.peek<{ status?: { readyReplicas?: number } }>('Deployment', 'www', NS)?.status?.readyReplicas };
        return Promise.resolve('GET service www:80/ → 200');
      },
    };

    const result = await deployRelease(c.ctx(), request('1.1.0', [configMap('a'), service(), www({ replicas: 2, image: 'www:2' })], { smoke }));

    expect(result).toMatchObject({ status: 'succeeded', pruned: ['ConfigMap/b'] });
    expect(atSmoke).toEqual({ writes: expect.any(Number), b: true, ready: 2 });
    const deleted = indexOf(c.fake.writes, { actor: 'me', verb: 'delete', what: 'ConfigMap/b' });
    expect(deleted).toBeGreaterThanOrEqual(atSmoke?.writes ?? Infinity);
    expect(c.fake.peek('ConfigMap', 'b', NS)).toBeUndefined();
  });

  it('a revision whose smoke check fails deletes nothing it dropped: the rollback finds the LoadBalancer Service and the ConfigMap in place', async () => {
    const c = fakeCluster();
    await deployRelease(c.ctx(), request('1.0.0', [configMap('a'), service(), service('www-lb', 'LoadBalancer'), www({ replicas: 2 })]));
    const before = c.fake.peek('Service', 'www-lb', NS);
    let smokes = 0;
    const smoke = {
      service: 'www',
      check: () => {
        smokes += 1;
        if (smokes === 1) return Promise.reject(new CastleError('CASTLE_ERR_SMOKE', 'smoke check failed: GET service www:80/ answered 502'));
        return Promise.resolve('GET service www:80/ → 200');
      },
    };

    const error = await deployRelease(c.ctx(), request('1.1.0', [service(), www({ replicas: 2, image: 'www:2' })], { smoke })).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'CASTLE_ERR_SMOKE', rollback: { revision: 3, to: 1 } });
    expect(deletesOf(c, 'Service/www-lb', 'ConfigMap/a')).toEqual([]);
    expect(c.fake.peek('Service', 'www-lb', NS)?.metadata.uid).toBe(before?.metadata.uid);
    expect(c.fake.peek('ConfigMap', 'a', NS)).toBeDefined();
  });

  it('a revision whose rollout fails deletes nothing, also without a rollback', async () => {
    const c = fakeCluster();
    await deployRelease(c.ctx(), request('1.0.0', [configMap('a'), configMap('b'), www({ replicas: 2 })]));
    const error = await deployRelease(c.ctx(), request('1.1.0', [configMap('a'), www({ replicas: 2, image: 'bad' })], { rollbackOnFailure: false })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CASTLE_ERR_ROLLOUT_TIMEOUT' });
    expect(deletesOf(c, 'ConfigMap/b')).toEqual([]);
    expect(c.fake.peek('ConfigMap', 'b', NS)).toBeDefined();
  });

  it('a revision failed by the rollout verdict deletes nothing', async () => {
    const c = fakeCluster();
    await deployRelease(c.ctx(), request('1.0.0', [configMap('a'), configMap('b'), www({ replicas: 2 })]));
    // No pod's counters can be read: the verdict is inconclusive, which this deploy counts as a fail.
    const verdict: VerdictOptions = { deployment: 'www', windowSeconds: 0, port: 9090, path: '/metrics', policy: { minRequests: 1, tolerance: 0.01 }, onInconclusive: 'fail' };
    const error = await deployRelease(c.ctx(), request('1.1.0', [configMap('a'), www({ replicas: 2, image: 'www:2' })], { verdict, rollbackOnFailure: false })).catch((e: unknown) => e);
    // How the verdict decides is the verdict's business; here it only has to fail the revision.
    expect(error).toBeInstanceOf(DeployFailedError);
    expect((await c.ctx().store.list())[0]).toMatchObject({ revision: 2, status: 'failed' });
    expect(deletesOf(c, 'ConfigMap/b')).toEqual([]);
  });
});
