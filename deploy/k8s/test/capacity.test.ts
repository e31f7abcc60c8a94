import { describe, expect, it } from 'vitest';
import { capacityPlan, shedShare } from '../src/capacity.js';
import { ManifestError } from '../src/errors.js';

describe('capacityPlan', () => {
  it("sizes 50 rps as the original did, 5 to 10 replicas, with the autoscaler aiming at 7 rps per replica (30% headroom)", () => {
    expect(capacityPlan({ baselineRps: 50 })).toEqual({
      minReplicas: 5,
      maxReplicas: 10,
      steadyReplicas: 8,
      targetRpsPerReplica: 7,
      targetUtilisation: 0.7,
      modelledShed: expect.any(Number) as number,
    });
    expect(capacityPlan({ baselineRps: 50 }).modelledShed).toBeLessThan(0.001);
  });

  it('scales with the load, the capacity per replica and the peak factor', () => {
    expect(capacityPlan({ baselineRps: 200, capacityRps: 20, peakFactor: 3 })).toMatchObject({ minReplicas: 10, maxReplicas: 30, steadyReplicas: 15, targetRpsPerReplica: 14 });
    expect(capacityPlan({ baselineRps: 1 })).toMatchObject({ minReplicas: 1, maxReplicas: 1, steadyReplicas: 1 });
  });

  it('keeps the maximum at least at the steady count when the headroom is large', () => {
    expect(capacityPlan({ baselineRps: 50, headroom: 0.6 })).toMatchObject({ minReplicas: 5, steadyReplicas: 13, maxReplicas: 13, targetRpsPerReplica: 4 });
  });

  it('rejects a headroom the queueing model predicts to shed beyond the budget, naming the headroom that suffices', () => {
    // www's default wait bound, 250 ms: 30% headroom sheds about 5% (measured 4.4% at 71%).
    expect(() => capacityPlan({ baselineRps: 50, maxWaitMs: 250 })).toThrow(ManifestError);
    expect(() => capacityPlan({ baselineRps: 50, maxWaitMs: 250 })).toThrow(
      /^invalid manifest input:\n {2}- headroom: 0.3 with maxWaitMs 250 and capacityRps 10 sheds [0-9.]+% of requests by the queueing model, more than the budget of 0.10%; use a headroom of at least 0\.[5-9][05]? or a longer wait bound$/,
    );
    expect(capacityPlan({ baselineRps: 50, maxWaitMs: 250, shedBudget: 0.1 }).targetRpsPerReplica).toBe(7);
  });

  it.each<[string, Parameters<typeof capacityPlan>[0], string[]]>([
    ['no load', { baselineRps: 0 }, ['baselineRps: must be a number > 0, got 0']],
    ['a peak below the baseline', { baselineRps: 50, peakFactor: 0.5 }, ['peakFactor: must be a number ≥ 1, got 0.5']],
    ['a fractional capacity', { baselineRps: 50, capacityRps: 2.5 }, ['capacityRps (WWW_CAPACITY_RPS): must be an integer, got 2.5']],
    ['a negative wait bound', { baselineRps: 50, maxWaitMs: -1 }, ['maxWaitMs (WWW_MAX_WAIT_MS): must be ≥ 0, got -1']],
    ['no headroom', { baselineRps: 50, headroom: 0 }, ['headroom: must be a number between 0 and 1 (exclusive), got 0']],
    ['a shed budget of 100%', { baselineRps: 50, shedBudget: 1 }, ['shedBudget: must be a number from 0 to below 1, got 1']],
    ['several at once', { baselineRps: Number.NaN, headroom: 1 }, ['baselineRps: must be a number > 0, got null', 'headroom: must be a number between 0 and 1 (exclusive), got 1']],
  ])('rejects %s with a ManifestError naming it', (_, inputs, problems) => {
    expect(() => capacityPlan(inputs)).toThrow(expect.objectContaining({ problems }));
  });
});

describe('shedShare, the queueing model of one replica', () => {
  // The measured table (FINDINGS: 10 rps per replica, per-request connections) against the
  // model: the model may be a little pessimistic, never optimistic by much.
  it.each([
    { utilisation: 1, maxWaitMs: 250, measured: 0.127 },
    { utilisation: 1, maxWaitMs: 1000, measured: 0.031 },
    { utilisation: 0.71, maxWaitMs: 250, measured: 0.044 },
    { utilisation: 0.71, maxWaitMs: 1000, measured: 0 },
    { utilisation: 0.5, maxWaitMs: 250, measured: 0.007 },
  ])('at $utilisation utilisation and a $maxWaitMs ms bound sheds near the measured $measured', ({ utilisation, maxWaitMs, measured }) => {
    const modelled = shedShare(utilisation, 10, maxWaitMs);
    expect(modelled).toBeGreaterThanOrEqual(measured * 0.8);
    expect(modelled).toBeLessThanOrEqual(measured * 2.2 + 0.001);
  });

  it('sheds more as utilisation rises and less as the wait bound grows, and nothing without load', () => {
    expect(shedShare(0.9, 10, 1000)).toBeGreaterThan(shedShare(0.8, 10, 1000));
    expect(shedShare(0.9, 10, 250)).toBeGreaterThan(shedShare(0.9, 10, 1000));
    expect(shedShare(0, 10, 250)).toBe(0);
  });

  it('is deterministic', () => {
    expect(shedShare(0.95, 10, 500)).toBe(shedShare(0.95, 10, 500));
  });
});
