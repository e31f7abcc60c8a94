/** The rounds of an interleaved comparison, per side, in the order they ran. */
export interface Interleaved<T> {
  readonly baseline: readonly T[];
  readonly target: readonly T[];
  /** e.g. `['baseline', 'target', 'target', 'baseline']`. */
  readonly order: readonly ('baseline' | 'target')[];
}

/**
 * Runs `rounds` rounds of baseline and target in ABBA order (B T, T B, B T, ...), so slow
 * drifts of a noisy machine (a compile starting, a thermal limit) hit both sides alike.
 */
export async function interleave<T>(
  rounds: number,
  baseline: () => Promise<T>,
  target: () => Promise<T>,
): Promise<Interleaved<T>> {
  const result = { baseline: [] as T[], target: [] as T[], order: [] as ('baseline' | 'target')[] };
  for (let round = 0; round < rounds; round++) {
    const sides: ('baseline' | 'target')[] = round % 2 === 0 ? ['baseline', 'target'] : ['target', 'baseline'];
    for (const side of sides) {
      result[side].push(await (side === 'baseline' ? baseline() : target()));
      result.order.push(side);
    }
  }
  return result;
}

/**
 * Runs several variants for `rounds` rounds, rotating which goes first each round, and
 * returns each variant's results in variant order.
 */
export async function rotate<T>(rounds: number, variants: readonly (() => Promise<T>)[]): Promise<T[][]> {
  const results = variants.map(() => [] as T[]);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (round + k) % variants.length;
      const run = variants[i];
      if (run) results[i]?.push(await run());
    }
  }
  return results;
}
