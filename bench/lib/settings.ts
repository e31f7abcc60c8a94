import { wrkInstalled } from './wrk.js';

/** What one bench run does, read from the environment. */
export interface BenchSettings {
  /** Seconds each throughput target is measured per round (BENCH_DURATION_S). */
  readonly durationS: number;
  /** Seconds of load before each measurement, not counted (BENCH_WARMUP_S). */
  readonly warmupS: number;
  /** Rounds per comparison, one at a time and again both at once; the gated ratios are medians of per-round ratios (BENCH_ROUNDS). */
  readonly rounds: number;
  /** Concurrent keep-alive connections of the throughput load (BENCH_CONNECTIONS). */
  readonly connections: number;
  /** Seconds of the 3x overload measurement of scenario 3 (BENCH_OVERLOAD_S). */
  readonly overloadS: number;
  /** Whether to pin servers and the load generator to separate cores (BENCH_PIN). */
  readonly pin: boolean;
}

/** A bench setting that cannot be used; the message names the variable. */
export class SettingsError extends Error {
  constructor(problems: readonly string[]) {
    super(`invalid bench settings:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

function numberFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    problems.push(`${name}: must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return fallback;
  }
  return value;
}

/**
 * Reads the bench settings, reporting every bad variable at once.
 * @throws SettingsError listing each problem as `NAME: message`.
 */
export function readSettings(env: NodeJS.ProcessEnv = process.env, hasWrk: () => boolean = wrkInstalled): BenchSettings {
  const problems: string[] = [];
  const durationS = numberFrom(env, 'BENCH_DURATION_S', 6, 1, 600, problems);
  const warmupS = numberFrom(env, 'BENCH_WARMUP_S', 2, 0, 60, problems);
  const rounds = Math.round(numberFrom(env, 'BENCH_ROUNDS', 5, 1, 20, problems));
  const connections = Math.round(numberFrom(env, 'BENCH_CONNECTIONS', 100, 1, 10_000, problems));
  // The overload check needs enough shed and served samples for a p99: never under 5 s.
  const overloadS = numberFrom(env, 'BENCH_OVERLOAD_S', Math.min(15, Math.max(5, durationS * 2.5)), 3, 600, problems);
  const pinRaw = (env.BENCH_PIN ?? 'auto').trim().toLowerCase();
  if (!['auto', '0', '1', 'true', 'false', 'on', 'off'].includes(pinRaw)) {
    problems.push(`BENCH_PIN: must be auto, on or off, got ${JSON.stringify(env.BENCH_PIN)}`);
  }
  // A generator in JavaScript spends about as much CPU per request as the bare node:http
  // server it drives, so on a small machine it cannot saturate the baselines and flatters
  // every req/s ratio: the throughput rows need wrk.
  if (!hasWrk()) problems.push('wrk: not installed; the throughput rows need it (Debian: apt-get install wrk; macOS: brew install wrk)');
  if (problems.length > 0) throw new SettingsError(problems);
  const pin = !['0', 'false', 'off'].includes(pinRaw);
  return { durationS, warmupS, rounds, connections, overloadS, pin };
}
