/** PASS/FAIL against a target, or INFO for a figure that is recorded without one. */
export type Status = 'PASS' | 'FAIL' | 'INFO';

/** One row of the results table: a Castle figure against its baseline from the same run. */
export interface Check {
  readonly scenario: string;
  readonly metric: string;
  readonly unit: string;
  /** What the baseline is, e.g. `node:http hello world`. */
  readonly baselineLabel: string;
  readonly baseline: number | null;
  readonly castle: number;
  /** castle / baseline (or as the row says); null when there is no baseline. */
  readonly ratio: number | null;
  /** The target in words, e.g. `>= 0.60x`; `-` for INFO rows. */
  readonly target: string;
  readonly status: Status;
  /** Why it failed, or what to keep in mind when reading it. */
  readonly note?: string;
}

/** What a scenario hands back: its table rows and everything it measured. */
export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly checks: readonly Check[];
  readonly raw: unknown;
}

/** PASS when `ok`, else FAIL. */
export function verdict(ok: boolean): Status {
  return ok ? 'PASS' : 'FAIL';
}

/** A FAIL row for a scenario that could not run to the end. */
export function crashed(id: string, title: string, err: unknown): ScenarioResult {
  const message = err instanceof Error ? err.message : String(err);
  return {
    id,
    title,
    checks: [
      {
        scenario: id,
        metric: 'scenario ran',
        unit: '',
        baselineLabel: '-',
        baseline: null,
        castle: Number.NaN,
        ratio: null,
        target: 'completes',
        status: 'FAIL',
        note: message,
      },
    ],
    raw: { error: message },
  };
}
