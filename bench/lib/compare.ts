import { interleave } from './alternate.js';
import type { Check, ScenarioResult } from './checks.js';
import { verdict } from './checks.js';
import type { ScenarioContext } from './context.js';
import { recordMemory } from './memory.js';
import { idleRss, startService, type RunningProcess, type ServiceSpec } from './service.js';
import { median, round, spread } from './stats.js';
import { measureCoScheduled, measureThroughput, type CoScheduledRound, type ThroughputRound, type ThroughputTarget } from './throughput.js';

/**
 * A target whose front process is started afresh from `spec` for each measured round; the
 * processes `behind` it (e.g. a proxy's backend) are shared.
 */
export interface FreshTarget {
  readonly label: string;
  readonly spec: ServiceSpec;
  readonly behind?: readonly RunningProcess[];
}

/** A throughput comparison: Castle against a baseline, as interleaved rounds. */
export interface ThroughputComparison {
  readonly scenario: string;
  readonly baseline: FreshTarget;
  readonly castle: FreshTarget;
  /** The lowest acceptable castle/baseline ratio of responses per second. */
  readonly minRatio: number;
}

/** The medians of one side's rounds (for the table; the gated ratios are per round). */
export interface SideSummary {
  readonly rps: number;
  readonly rpsSpread: number;
  /** CPU microseconds per response of the process that answers the load. */
  readonly frontCpuUsPerRequest: number;
  readonly frontCoreShare: number;
  readonly rssMaxMiB: Readonly<Record<string, number>>;
  readonly logBytesPerRequest: Readonly<Record<string, number>>;
  readonly invalidRounds: number;
}

function summarise(rounds: readonly ThroughputRound[], front: string): SideSummary {
  const rssMaxMiB: Record<string, number> = {};
  const logBytes: Record<string, number[]> = {};
  for (const r of rounds) {
    for (const [name, mib] of Object.entries(r.rssMaxMiB)) rssMaxMiB[name] = round(Math.max(rssMaxMiB[name] ?? 0, mib), 1);
    for (const [name, bytes] of Object.entries(r.logBytesPerRequest)) (logBytes[name] ??= []).push(bytes);
  }
  return {
    rps: round(median(rounds.map((r) => r.rps)), 0),
    rpsSpread: round(spread(rounds.map((r) => r.rps)), 3),
    frontCpuUsPerRequest: round(median(rounds.map((r) => r.cpuUsPerRequest[front] ?? Number.NaN)), 1),
    frontCoreShare: round(median(rounds.map((r) => r.coreShare[front] ?? Number.NaN)), 2),
    rssMaxMiB,
    logBytesPerRequest: Object.fromEntries(Object.entries(logBytes).map(([k, v]) => [k, round(median(v), 0)])),
    invalidRounds: rounds.filter((r) => r.non2xx > 0 || r.errors > 0).length,
  };
}

/**
 * `BENCH_ROUNDS` rounds of `measureCoScheduled`, each on a fresh pair of front processes,
 * alternating which starts and is loaded first so that the first one's small advantage
 * cancels in the median.
 *
 * Why fresh processes: a process keeps its speed for its lifetime (what its JIT compiled,
 * where its memory landed, how it interleaves with the other on the shared core). In a noisy
 * hour two identical backends measured 0.87x to 1.20x of each other across eight fresh
 * pairs, each pair steady over its own rounds (0.95x to 1.01x in a calmer one), so rounds on
 * one pair would repeat a single sample of that spread.
 */
async function coScheduledRounds(ctx: ScenarioContext, baseline: FreshTarget, other: FreshTarget): Promise<CoScheduledRound[]> {
  const { settings } = ctx;
  const rounds: CoScheduledRound[] = [];
  for (let i = 0; i < settings.rounds; i++) {
    const castleFirst = i % 2 === 1;
    ctx.progress(`  ${other.label} and ${baseline.label} at once on one core, fresh processes: warm-up ${settings.warmupS}s + ${settings.durationS}s`);
    const r = await withFreshFronts([baseline, other], ([b, o]) => measureCoScheduled(b, o, { ...settings, castleFirst }), castleFirst);
    ctx.progress(`    CPU per response ${round(r.baselineCpuUs, 1)} us vs ${round(r.castleCpuUs, 1)} us`);
    rounds.push(r);
  }
  return rounds;
}

/**
 * Starts a fresh front process for each of a pair of targets (the second one first when
 * `reversed`), runs `use` on them in their given order and stops them, also on failure.
 */
function withFreshFronts<T>(
  targets: readonly [FreshTarget, FreshTarget],
  use: (started: readonly [ThroughputTarget, ThroughputTarget]) => Promise<T>,
  reversed = false,
): Promise<T> {
  const [first, second] = reversed ? [targets[1], targets[0]] : targets;
  return withFreshFront(first, (a) => withFreshFront(second, (b) => use(reversed ? [b, a] : [a, b])));
}

/** Starts a fresh front process for `target`, runs `use` on it and stops it, also on failure. */
async function withFreshFront<T>(target: FreshTarget, use: (started: ThroughputTarget) => Promise<T>): Promise<T> {
  const front = await startService(target.spec);
  try {
    return await use({ label: target.label, url: `${front.url}/`, path: [front, ...(target.behind ?? [])] });
  } finally {
    await front.stop();
  }
}

/**
 * Two gated rows. Throughput: both targets in interleaved rounds, one at a time, each
 * measurement on a fresh front process, and the median of the per-round req/s ratios.
 * Capacity per core: both loaded at once on the same core, a fresh pair each round, and the
 * median of the per-round ratios of CPU time per response, which measures the one-core
 * capacity even when the load generator rather than the server is the limit, and is immune
 * to the machine's drift between rounds.
 */
export async function compareThroughput(ctx: ScenarioContext, comparison: ThroughputComparison) {
  const { settings } = ctx;
  // A fresh process for every measurement: a process keeps its speed for its lifetime (see
  // coScheduledRounds), so rounds on one pair would repeat a single sample of that spread.
  const measure = (target: FreshTarget) => () =>
    withFreshFront(target, async (started) => {
      ctx.progress(`  ${target.label} (fresh process): warm-up ${settings.warmupS}s + ${settings.durationS}s`);
      const result = await measureThroughput(started, settings);
      ctx.progress(`    ${round(result.rps, 0)} req/s, core share ${round(result.coreShare[target.spec.name] ?? 0, 2)}`);
      return result;
    });
  const rounds = await interleave(settings.rounds, measure(comparison.baseline), measure(comparison.castle));
  const base = summarise(rounds.baseline, comparison.baseline.spec.name);
  const castle = summarise(rounds.target, comparison.castle.spec.name);
  const front = comparison.castle.spec.name;
  // Each round measures both sides back to back, so the machine's drift (its speed varies
  // by a quarter from minute to minute here) cancels in that round's ratio: the req/s ratio
  // is the median of the per-round ratios, not a ratio of the per-side medians.
  const pairs = rounds.baseline.map((b, i) => ({ b, t: rounds.target[i] }));
  const rpsRatios = pairs.map(({ b, t }) => (t ? t.rps / b.rps : Number.NaN));
  const co = await coScheduledRounds(ctx, comparison.baseline, comparison.castle);
  const perCoreRatios = co.map((r) => r.baselineCpuUs / r.castleCpuUs);
  const coInvalid = co.filter((r) => r.invalid).length;
  const ratio = median(rpsRatios);
  const perCoreRatio = median(perCoreRatios);
  const valid = base.invalidRounds === 0 && castle.invalidRounds === 0 && coInvalid === 0;
  const coCpu = { baseline: median(co.map((r) => r.baselineCpuUs)), castle: median(co.map((r) => r.castleCpuUs)) };
  const perCore = { baseline: 1e6 / coCpu.baseline, castle: 1e6 / coCpu.castle };
  const range = (xs: readonly number[]) => `${round(Math.min(...xs), 2)}-${round(Math.max(...xs), 2)}`;
  const invalid = valid ? '' : `rounds with errors or non-2xx: baseline ${base.invalidRounds}, castle ${castle.invalidRounds}, both at once ${coInvalid}; `;
  const saturation =
    base.frontCoreShare < 0.8
      ? `; the baseline used only ${base.frontCoreShare} of a core, so it was not the bottleneck and its req/s understates it: trust the per-core row`
      : '';
  const checks: Check[] = [
    {
      scenario: comparison.scenario,
      metric: 'throughput',
      unit: 'req/s',
      baselineLabel: comparison.baseline.label,
      baseline: base.rps,
      castle: castle.rps,
      ratio: round(ratio, 3),
      target: `>= ${comparison.minRatio.toFixed(2)}x`,
      status: verdict(valid && ratio >= comparison.minRatio),
      note: `${invalid}one server loaded at a time, a fresh process for each measurement: median of ${settings.rounds} per-round ratios (range ${range(rpsRatios)}); req/s spread across rounds: baseline ${round(base.rpsSpread * 100, 0)}%, castle ${round(castle.rpsSpread * 100, 0)}%${saturation}`,
    },
    {
      scenario: comparison.scenario,
      metric: `req/s per core of ${front}`,
      unit: 'req/s',
      baselineLabel: comparison.baseline.label,
      baseline: round(perCore.baseline, 0),
      castle: round(perCore.castle, 0),
      ratio: round(perCoreRatio, 3),
      target: `>= ${comparison.minRatio.toFixed(2)}x`,
      status: verdict(valid && perCoreRatio >= comparison.minRatio),
      note:
        `responses per CPU-second of the front process, both loaded at once on one core, a fresh pair of processes each round: median of ${settings.rounds} per-round ratios (range ${range(perCoreRatios)}; ` +
        `median CPU ${round(coCpu.baseline, 1)} us vs ${round(coCpu.castle, 1)} us per response; one at a time: ${base.frontCpuUsPerRequest} us vs ${castle.frontCpuUsPerRequest} us)`,
    },
  ];
  return { checks, summary: { baseline: base, castle }, rounds: { ...rounds, coScheduled: co } };
}

/**
 * An INFO row: the capacity per core of the same service written with the bare framework
 * (Fastify, no logger, no hooks) against the baseline, both loaded at once on one core as in
 * the gated per-core row. It is the ceiling for anything built on the framework: what the
 * target leaves for Castle's own per-request work is the target divided by this.
 */
export async function frameworkFloor(
  ctx: ScenarioContext,
  row: { readonly scenario: string; readonly baseline: FreshTarget; readonly framework: FreshTarget; readonly minRatio: number },
): Promise<{ readonly check: Check; readonly rounds: readonly CoScheduledRound[] }> {
  const { settings } = ctx;
  const rounds = await coScheduledRounds(ctx, row.baseline, row.framework);
  const ratios = rounds.map((r) => r.baselineCpuUs / r.castleCpuUs);
  const ratio = median(ratios);
  const cpu = { baseline: median(rounds.map((r) => r.baselineCpuUs)), framework: median(rounds.map((r) => r.castleCpuUs)) };
  const invalid = rounds.some((r) => r.invalid) ? 'rounds with errors or non-2xx; ' : '';
  return {
    rounds,
    check: {
      scenario: row.scenario,
      metric: `req/s per core of ${row.framework.label}`,
      unit: 'req/s',
      baselineLabel: row.baseline.label,
      baseline: round(1e6 / cpu.baseline, 0),
      castle: round(1e6 / cpu.framework, 0),
      ratio: round(ratio, 3),
      target: '-',
      status: 'INFO',
      note:
        `${invalid}the framework alone, measured like the row above (median of ${settings.rounds} per-round ratios, range ${round(Math.min(...ratios), 2)}-${round(Math.max(...ratios), 2)}): ` +
        `a ${row.minRatio.toFixed(2)}x target leaves ${round(row.minRatio / ratio, 2)}x of the bare framework for Castle's own per-request work`,
    },
  };
}

/** A throughput scenario: Castle against a baseline, plus the bare framework's INFO row. */
export interface ThroughputScenario {
  readonly id: string;
  readonly title: string;
  readonly baseline: FreshTarget;
  readonly castle: FreshTarget;
  /** The same service written with the bare framework (the INFO row). */
  readonly framework: FreshTarget;
  readonly minRatio: number;
  /** How the memory rows name what they measure, e.g. `backend idle` and `backend under load`. */
  readonly memory: { readonly idle: string; readonly load: string; readonly baselineLabel: string };
}

/**
 * Runs a throughput scenario: the idle RSS of both services, the two gated rows
 * (`compareThroughput`), the RSS under that load and the framework's INFO row. Every measured
 * round starts its own front processes.
 */
export async function runThroughputScenario(ctx: ScenarioContext, scenario: ThroughputScenario): Promise<ScenarioResult> {
  const { id, title, baseline, castle, minRatio, memory } = scenario;
  ctx.progress(`scenario ${id}: ${title}`);
  const idle = await idleRss(baseline.spec, castle.spec);
  const result = await compareThroughput(ctx, { scenario: id, baseline, castle, minRatio });
  recordMemory({ what: memory.idle, baselineLabel: memory.baselineLabel, baselineMiB: round(idle.baseline, 1), castleMiB: round(idle.castle, 1), during: 'after ready, before load' });
  recordMemory({
    what: memory.load,
    baselineLabel: memory.baselineLabel,
    baselineMiB: result.summary.baseline.rssMaxMiB[baseline.spec.name] ?? null,
    castleMiB: result.summary.castle.rssMaxMiB[castle.spec.name] ?? Number.NaN,
    during: `scenario ${id.split(' ')[0] ?? id}, max over ${ctx.settings.rounds} rounds`,
  });
  const floor = await frameworkFloor(ctx, { scenario: id, baseline, framework: scenario.framework, minRatio });
  return { id, title, checks: [...result.checks, floor.check], raw: { idleRssMiB: idle, ...result, framework: floor.rounds } };
}
