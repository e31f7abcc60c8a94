import type { LockClock } from '../src/release/lock.js';

/** A lock clock that moves only when told: wall time and elapsed time advance together. */
export interface FakeClock extends LockClock {
  advance(ms: number): void;
}

/** A {@link FakeClock} starting at `start`. */
export function fakeClock(start = Date.parse('2026-03-01T12:00:00.000Z')): FakeClock {
  let t = 0;
  return {
    now: () => new Date(start + t),
    elapsedMs: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}
