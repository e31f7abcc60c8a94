import { describe, expect, it } from 'vitest';
import { planRollback } from '../src/engine/rollback.js';
import { record } from './fixtures.js';

describe('choosing a rollback target', () => {
  it('goes to the newest healthy revision before the current one', () => {
    const plan = planRollback([record(3, 'succeeded'), record(2, 'superseded'), record(1, 'superseded')]);
    expect(plan.target.revision).toBe(2);
    expect(plan.skipped).toEqual([]);
  });

  it('skips failed revisions after the current one and says which', () => {
    const plan = planRollback([record(4, 'failed'), record(3, 'failed'), record(2, 'succeeded'), record(1, 'superseded')]);
    expect(plan.target.revision).toBe(2);
    expect(plan.skipped.map((s) => [s.revision, s.status])).toEqual([[4, 'failed'], [3, 'failed']]);
  });

  it('passes over failed revisions between the current one and the target', () => {
    const plan = planRollback([record(4, 'succeeded'), record(3, 'failed'), record(2, 'superseded')]);
    expect(plan.target.revision).toBe(2);
    expect(plan.skipped.map((s) => s.revision)).toEqual([3]);
  });

  it('passes over revisions with the same manifests as the current one (an earlier rollback)', () => {
    const plan = planRollback([record(4, 'succeeded', [], 'X'), record(3, 'failed'), record(2, 'superseded', [], 'X'), record(1, 'superseded')]);
    expect(plan.target.revision).toBe(1);
    expect(plan.skipped.map((s) => s.revision)).toEqual([3, 2]);
  });

  it('refuses when there is nothing healthy to go back to', () => {
    expect(() => planRollback([record(2, 'succeeded'), record(1, 'failed')])).toThrow(/no earlier healthy revision/);
  });

  it('refuses --to a revision that never was healthy, or that is not in the history', () => {
    const records = [record(2, 'succeeded'), record(1, 'failed')];
    expect(() => planRollback(records, 1)).toThrow(/revision 1 is failed/);
    expect(() => planRollback(records, 9)).toThrow(/revision 9 is not in the history \(have: 2, 1\)/);
  });
});
