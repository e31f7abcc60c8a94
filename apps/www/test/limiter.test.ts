import { describe, expect, it } from 'vitest';
import { CapacityLimiter } from '../src/limiter.js';

function limiter(opts: Partial<ConstructorParameters<typeof CapacityLimiter>[0]> = {}) {
  const clock = { t: 1_000_000 };
  const l = new CapacityLimiter({ ratePerSecond: 10, burst: 1, maxWaitMs: 250, maxConcurrency: 100, now: () => clock.t, ...opts });
  return { l, clock };
}

describe('CapacityLimiter', () => {
  it('spaces admissions at the configured rate and sheds what would wait longer than the bound', () => {
    const { l } = limiter();
    const decisions = Array.from({ length: 5 }, () => l.decide());
    expect(decisions.map((d) => (d.admitted ? d.waitMs : 'shed'))).toEqual([0, 100, 200, 'shed', 'shed']);
    const shed = decisions[3];
    expect(shed?.admitted === false && shed.shed).toEqual({ reason: 'rate', retryAfterSeconds: 1 });
  });

  it('serves exactly the capacity over time under 3x overload', () => {
    const { l, clock } = limiter();
    let admitted = 0;
    // 30 requests per second for 10 seconds, evenly spaced, each done at once.
    for (let i = 0; i < 300; i++) {
      clock.t += 1000 / 30;
      const d = l.decide();
      if (d.admitted) {
        admitted++;
        l.release();
      }
    }
    expect(admitted).toBeGreaterThanOrEqual(100);
    expect(admitted).toBeLessThanOrEqual(103);
  });

  it('lets a burst through back to back before the rate applies', () => {
    const { l } = limiter({ burst: 3, maxWaitMs: 0 });
    expect([l.decide(), l.decide(), l.decide(), l.decide()].map((d) => d.admitted)).toEqual([true, true, true, false]);
  });

  it('recovers its full capacity after an idle period', () => {
    const { l, clock } = limiter({ maxWaitMs: 0 });
    expect(l.decide().admitted).toBe(true);
    expect(l.decide().admitted).toBe(false);
    clock.t += 100;
    expect(l.decide().admitted).toBe(true);
  });

  it('sheds on the concurrency bound until a held request is released', () => {
    const { l } = limiter({ ratePerSecond: 0, maxConcurrency: 2 });
    expect(l.decide().admitted).toBe(true);
    expect(l.decide().admitted).toBe(true);
    const third = l.decide();
    expect(third.admitted === false && third.shed.reason).toBe('concurrency');
    l.release();
    expect(l.decide().admitted).toBe(true);
    expect(l.held).toBe(2);
  });

  it('admits everything at once when both limits are off', () => {
    const { l } = limiter({ ratePerSecond: 0, maxConcurrency: 0 });
    const all = Array.from({ length: 1000 }, () => l.decide());
    expect(all.filter((d) => !d.admitted || d.waitMs !== 0)).toEqual([]);
    expect(l.utilisation()).toBe(0);
  });

  it('suggests a Retry-After of at least one second', () => {
    const { l } = limiter({ ratePerSecond: 1, maxWaitMs: 0 });
    l.decide();
    const d = l.decide();
    expect(d.admitted === false && d.shed.retryAfterSeconds).toBe(1);
  });

  it('reports utilisation over the last ten seconds as a share of capacity', () => {
    const { l, clock } = limiter({ maxWaitMs: 10_000 });
    for (let i = 0; i < 50; i++) {
      clock.t += 200; // 5 per second: half the capacity
      if (l.decide().admitted) l.release();
    }
    expect(l.utilisation()).toBeCloseTo(0.5, 1);
    clock.t += 20_000;
    expect(l.utilisation()).toBe(0);
  });

  it('counts a request as waiting while it waits out its turn', async () => {
    const l = new CapacityLimiter({ ratePerSecond: 20, burst: 1, maxWaitMs: 500, maxConcurrency: 10 });
    expect(l.decide()).toEqual({ admitted: true, waitMs: 0 });
    const second = l.decide();
    expect(second.admitted && second.waitMs).toBeGreaterThan(0);
    const waiting = l.wait(second.admitted ? second.waitMs : 0);
    expect(l.waiting).toBe(1);
    await waiting;
    expect(l.waiting).toBe(0);
    expect(l.held).toBe(2);
  });

  it('offers only waits it can keep: a timer seen to fire late shortens the queue, not the rate', async () => {
    const slots = async (late: number) => {
      const { l, clock } = limiter();
      expect(l.decide()).toEqual({ admitted: true, waitMs: 0 });
      // One 1 ms wait whose timer fires `late` ms late, by the limiter's clock.
      const waited = l.wait(1);
      clock.t += 1 + late;
      await expect(waited).resolves.toBe(1 + late);
      l.release();
      clock.t = 1_000_071; // the next slots are 29, 129 and 229 ms away
      return { lateness: l.lateness, offered: Array.from({ length: 3 }, () => l.decide()) };
    };
    const punctual = await slots(0);
    expect(punctual.lateness).toBe(0);
    expect(punctual.offered.map((d) => (d.admitted ? d.waitMs : 'shed'))).toEqual([29, 129, 229]);
    // 229 ms + 30 ms of lateness would break the 250 ms bound: shed at once instead.
    const late = await slots(30);
    expect(late.lateness).toBe(30);
    expect(late.offered.map((d) => (d.admitted ? d.waitMs : 'shed'))).toEqual([29, 129, 'shed']);
    const shed = late.offered[2];
    expect(shed?.admitted === false && shed.shed).toEqual({ reason: 'rate', retryAfterSeconds: 1 });
  });

  it('forgets a late timer after 10 to 20 seconds', async () => {
    const { l, clock } = limiter();
    const waited = l.wait(1);
    clock.t += 50;
    await waited;
    expect(l.lateness).toBe(49);
    clock.t += 10_000;
    expect(l.lateness).toBe(49);
    clock.t += 10_000;
    expect(l.lateness).toBe(0);
  });
});
