import { setTimeout as delay } from 'node:timers/promises';

export interface LimiterOptions {
  /** Sustained admissions per second; 0 turns the rate limit off. */
  readonly ratePerSecond: number;
  /** Admissions that may start back to back before the rate applies (at least 1). */
  readonly burst: number;
  /** Longest wait a request may be given before it is shed instead. */
  readonly maxWaitMs: number;
  /** Requests held at once, waiting or running; 0 turns the bound off. */
  readonly maxConcurrency: number;
  readonly now?: () => number;
}

export type ShedReason = 'rate' | 'concurrency';

/**
 * A request the limiter will not take: answer 503 at once and suggest when to come back.
 * Plain data, not an Error: shedding must stay cheap, and a stack trace is not.
 */
export interface Shed {
  readonly reason: ShedReason;
  readonly retryAfterSeconds: number;
}

/** A decision taken at once: shed, or admitted after `waitMs`. */
export type Decision = { readonly admitted: true; readonly waitMs: number } | { readonly admitted: false; readonly shed: Shed };

const windowSeconds = 10;
/** How long a timer's lateness is remembered: at least this, at most twice this. */
const latenessMemoryMs = 10_000;

/**
 * The capacity of one www instance, modelled honestly: a GCRA rate limiter (exact sustained
 * rate, optional burst) whose only queue is a bounded wait, plus a bound on requests held
 * at once. Decisions are O(1) and immediate, so shedding costs microseconds.
 *
 * A wait ends when its timer fires, and timers fire late: by a millisecond or two on an idle
 * machine, by the event loop's lag on a busy one. So the limiter measures how late its
 * timers have fired lately (the worst of the last 10 to 20 seconds) and offers only the
 * waits it can keep: a request is admitted when its wait plus that lateness fits within
 * `maxWaitMs`. The rate is unchanged; only the queue is shorter by the lateness.
 */
export class CapacityLimiter {
  readonly #interval: number;
  readonly #tolerance: number;
  readonly #options: LimiterOptions;
  readonly #now: () => number;
  /** GCRA's theoretical arrival time of the next request. */
  #tat = Number.NEGATIVE_INFINITY;
  #held = 0;
  #waiting = 0;
  readonly #admittedPerSecond = new Array<number>(windowSeconds).fill(0);
  readonly #bucketSecond = new Array<number>(windowSeconds).fill(-1);
  /** The worst timer lateness seen in the current and the previous memory window. */
  #lateNow = 0;
  #lateBefore = 0;
  #lateWindow = Number.NEGATIVE_INFINITY;

  constructor(options: LimiterOptions) {
    this.#options = options;
    this.#now = options.now ?? performance.now.bind(performance);
    this.#interval = options.ratePerSecond > 0 ? 1000 / options.ratePerSecond : 0;
    this.#tolerance = (Math.max(1, options.burst) - 1) * this.#interval;
  }

  /** Requests admitted and not yet released (waiting or running). */
  get held(): number {
    return this.#held;
  }

  /** Requests admitted and still waiting for their turn. */
  get waiting(): number {
    return this.#waiting;
  }

  /** How late a wait's timer may be expected to fire, in milliseconds: the worst seen lately. */
  get lateness(): number {
    this.#rollLateness(this.#now());
    return Math.max(this.#lateNow, this.#lateBefore);
  }

  /**
   * Decides about a request arriving now, and books its slot if admitted: the caller waits
   * `waitMs` (see `wait`) before it starts, and calls `release` when it ends.
   */
  decide(): Decision {
    const { maxConcurrency, maxWaitMs } = this.#options;
    if (maxConcurrency > 0 && this.#held >= maxConcurrency) {
      return { admitted: false, shed: { reason: 'concurrency', retryAfterSeconds: 1 } };
    }
    const t = this.#now();
    let waitMs = 0;
    if (this.#interval > 0) {
      const tat = Math.max(this.#tat, t);
      waitMs = Math.max(0, tat - this.#tolerance - t);
      // A wait is kept only as well as its timer fires: budget for the lateness seen lately.
      const needed = waitMs >= 1 ? waitMs + this.lateness : waitMs;
      if (needed > maxWaitMs) {
        return { admitted: false, shed: { reason: 'rate', retryAfterSeconds: Math.max(1, Math.ceil((needed - maxWaitMs) / 1000)) } };
      }
      this.#tat = tat + this.#interval;
    }
    this.#held += 1;
    this.#count(t);
    return { admitted: true, waitMs };
  }

  /**
   * Waits out an admitted request's `waitMs`, counting it as waiting meanwhile, and learns how
   * late the timer fired. Resolves to the milliseconds actually waited.
   */
  async wait(ms: number): Promise<number> {
    this.#waiting += 1;
    const start = this.#now();
    try {
      await delay(ms);
    } finally {
      this.#waiting -= 1;
    }
    const end = this.#now();
    this.#noteLateness(end - start - ms, end);
    return end - start;
  }

  release(): void {
    this.#held -= 1;
  }

  /** Admissions over the last ten seconds as a share of capacity (0 when unlimited). */
  utilisation(): number {
    if (this.#options.ratePerSecond <= 0) return 0;
    const second = Math.floor(this.#now() / 1000);
    let sum = 0;
    for (let i = 0; i < windowSeconds; i++) {
      const s = this.#bucketSecond[i] ?? -1;
      if (s > second - windowSeconds && s <= second) sum += this.#admittedPerSecond[i] ?? 0;
    }
    return sum / (windowSeconds * this.#options.ratePerSecond);
  }

  #rollLateness(t: number): void {
    const window = Math.floor(t / latenessMemoryMs);
    if (window === this.#lateWindow) return;
    this.#lateBefore = window === this.#lateWindow + 1 ? this.#lateNow : 0;
    this.#lateNow = 0;
    this.#lateWindow = window;
  }

  #noteLateness(lateMs: number, t: number): void {
    this.#rollLateness(t);
    if (lateMs > this.#lateNow) this.#lateNow = lateMs;
  }

  #count(t: number): void {
    const second = Math.floor(t / 1000);
    const i = second % windowSeconds;
    if (this.#bucketSecond[i] !== second) {
      this.#bucketSecond[i] = second;
      this.#admittedPerSecond[i] = 0;
    }
    this.#admittedPerSecond[i] = (this.#admittedPerSecond[i] ?? 0) + 1;
  }
}
