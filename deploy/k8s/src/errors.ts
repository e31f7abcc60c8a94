/**
 * The one error this package throws: every problem found in the input, at once, each naming
 * where it is and what was given (`env.production.www.replicas: must be ≥ 1, got 0`).
 */
export class ManifestError extends Error {
  /** Every problem found, one line each. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid manifest input:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ManifestError';
    this.problems = [...problems];
  }
}

/** Throws a {@link ManifestError} when any problem was collected. */
export function throwIfProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw new ManifestError(problems);
}
