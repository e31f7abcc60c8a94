import { verdict, type Check, type ScenarioResult } from './checks.js';
import type { ScenarioContext } from './context.js';
import { idleRss, startService, type RunningProcess, type ServiceSpec } from './service.js';
import { median, round, spread } from './stats.js';
import { measureCoScheduled, measureThroughput, type CoScheduledRound, type ThroughputRound, type ThroughputTarget } from './throughput.js';

/**
 * A server whose front process is started afresh from `spec` for every measurement; the
 * processes `behind` it (a proxy's backend) are shared.
 */
export interface FreshTarget {
  readonly label: string;
  readonly spec: ServiceSpec;
  readonly behind?: readonly RunningProcess[];
}

/** A row's target: the lowest acceptable castle/baseline ratio, or `info` for a row recorded without one. */
export type Gate = number | 'info';

/** A comparison with a baseline measured in the same run, and the rows it reports. */
export interface Comparison {
  readonly id: string;
  readonly title: string;
  readonly baseline: FreshTarget;
  readonly castle: FreshTarget;
  /** Responses per second, one server loaded at a time. */
  readonly rps?: Gate;
  /** Responses per CPU-second of the front process, from the same one-at-a-time rounds. */
  readonly perCoreAlone?: Gate;
  /** Responses per CPU-second of the front process, both loaded at once on one core. */
  readonly perCoreShared?: Gate;
}

/** Starts a fresh front process for `target`, runs `use` on it and stops it, also on failure. */
async function withFresh<T>(target: FreshTarget, use: (started: ThroughputTarget) => Promise<T>): Promise<T> {
  const front = await startService(target.spec);
  try {
    return await use({ label: target.label, url: `${front.url}/`, path: [front, ...(target.behind ?? [])] });
  } finally {
    await front.stop();
  }
}

/**
 * `rounds` rounds of one server loaded at a time, in ABBA order (B T, T B, ...) so that slow
 * drifts hit both sides alike, each measurement on a fresh front process.
 */
async function oneAtATime(ctx: ScenarioContext, c: Comparison): Promise<{ baseline: ThroughputRound[]; castle: ThroughputRound[] }> {
  const { settings } = ctx;
  const result = { baseline: [] as ThroughputRound[], castle: [] as ThroughputRound[] };
  for (let i = 0; i < settings.rounds; i++) {
    const sides = i % 2 === 0 ? (['baseline', 'castle'] as const) : (['castle', 'baseline'] as const);
    for (const side of sides) {
      const target = c[side];
      ctx.progress(`  ${target.label} alone: warm-up ${settings.warmupS}s + ${settings.durationS}s`);
      const r = await withFresh(target, (t) => measureThroughput(t, settings));
      ctx.progress(`    ${round(r.rps, 0)} req/s, ${round(r.cpuUsPerRequest[target.spec.name] ?? Number.NaN, 1)} us CPU per response`);
      result[side].push(r);
    }
  }
  return result;
}

/**
 * `rounds` rounds with both loaded at once on one core, each on a fresh pair of processes
 * (a process keeps its speed for its lifetime, so rounds on one pair would repeat a single
 * sample), alternating which starts and is loaded first (the first does a few per cent
 * better; alternating cancels that in the median).
 */
async function coScheduled(ctx: ScenarioContext, c: Comparison): Promise<CoScheduledRound[]> {
  const { settings } = ctx;
  const rounds: CoScheduledRound[] = [];
  for (let i = 0; i < settings.rounds; i++) {
    const castleFirst = i % 2 === 1;
    ctx.progress(`  ${c.castle.label} and ${c.baseline.label} at once on one core: warm-up ${settings.warmupS}s + ${settings.durationS}s`);
    const measure = (b: ThroughputTarget, t: ThroughputTarget) => measureCoScheduled(b, t, { ...settings, castleFirst });
    const r = castleFirst
      ? await withFresh(c.castle, (t) => withFresh(c.baseline, (b) => measure(b, t)))
      : await withFresh(c.baseline, (b) => withFresh(c.castle, (t) => measure(b, t)));
    ctx.progress(`    CPU per response ${round(r.baselineCpuUs, 1)} us vs ${round(r.castleCpuUs, 1)} us`);
    rounds.push(r);
  }
  return rounds;
}

interface RowInput {
  readonly metric: string;
  readonly unit: string;
  readonly gate: Gate;
  /** castle/baseline, one per round: the row's ratio is their median. */
  readonly ratios: readonly number[];
  readonly baseline: number;
  readonly castle: number;
  readonly invalid: boolean;
  readonly how: string;
}

function row(c: Comparison, r: RowInput): Check {
  const ratio = median(r.ratios);
  const gated = typeof r.gate === 'number';
  const range = `${round(Math.min(...r.ratios), 2)}-${round(Math.max(...r.ratios), 2)}`;
  return {
    scenario: c.id,
    metric: r.metric,
    unit: r.unit,
    baselineLabel: c.baseline.label,
    baseline: round(r.baseline, 0),
    castle: round(r.castle, 0),
    ratio: round(ratio, 3),
    target: gated ? `>= ${r.gate.toFixed(2)}x` : '-',
    status: gated ? verdict(!r.invalid && ratio >= r.gate) : 'INFO',
    note: `${r.invalid ? 'some rounds had errors or non-2xx answers; ' : ''}${r.how}; median of ${r.ratios.length} per-round ratios, range ${range}${gated ? '' : '; information, not a gate'}`,
  };
}

function rssRow(c: Comparison, metric: string, baseline: number, castle: number, during: string): Check {
  return {
    scenario: c.id,
    metric,
    unit: 'MiB',
    baselineLabel: c.baseline.label,
    baseline: round(baseline, 1),
    castle: round(castle, 1),
    ratio: round(castle / baseline, 2),
    target: '-',
    status: 'INFO',
    note: during,
  };
}

const invalidRound = (r: ThroughputRound) => r.non2xx > 0 || r.errors > 0;
const maxOf = (xs: readonly number[]) => Math.max(...xs.filter((x) => !Number.isNaN(x)));

/**
 * The one compare-to-baseline flow. Every row is the median of per-round castle/baseline
 * ratios, each round measuring both sides back to back (or at once), so the machine's drift
 * from minute to minute cancels within a round. Also records each side's RSS idle and, when
 * one-at-a-time rounds ran, its peak under load.
 */
export async function compare(ctx: ScenarioContext, c: Comparison): Promise<ScenarioResult> {
  ctx.progress(`scenario ${c.id}: ${c.title}`);
  const b = c.baseline.spec.name;
  const t = c.castle.spec.name;
  const idle = await idleRss(c.baseline.spec, c.castle.spec);
  const checks: Check[] = [];
  const memory: Check[] = [rssRow(c, 'RSS idle', idle.baseline, idle.castle, 'after ready, before any load')];
  const raw: Record<string, unknown> = { idleRssMiB: idle };

  if (c.rps !== undefined || c.perCoreAlone !== undefined) {
    const alone = await oneAtATime(ctx, c);
    raw.oneAtATime = alone;
    const pairs = alone.baseline.map((base, i) => ({ base, own: alone.castle[i] as ThroughputRound }));
    const invalid = pairs.some((p) => invalidRound(p.base) || invalidRound(p.own));
    if (c.rps !== undefined) {
      const baseShare = median(alone.baseline.map((r) => r.coreShare[b] ?? Number.NaN));
      checks.push(
        row(c, {
          metric: 'req/s, one at a time',
          unit: 'req/s',
          gate: c.rps,
          ratios: pairs.map((p) => p.own.rps / p.base.rps),
          baseline: median(alone.baseline.map((r) => r.rps)),
          castle: median(alone.castle.map((r) => r.rps)),
          invalid,
          how:
            `one server loaded at a time, a fresh process each; req/s spread across rounds ${round(spread(alone.baseline.map((r) => r.rps)) * 100, 0)}% and ${round(spread(alone.castle.map((r) => r.rps)) * 100, 0)}%` +
            (baseShare < 0.8 ? `; the baseline used only ${round(baseShare, 2)} of a core, so its req/s understates it` : ''),
        }),
      );
    }
    if (c.perCoreAlone !== undefined) {
      const cpu = (rounds: readonly ThroughputRound[], name: string) => rounds.map((r) => r.cpuUsPerRequest[name] ?? Number.NaN);
      checks.push(
        row(c, {
          metric: 'req/s per CPU-second, one at a time',
          unit: 'req/s',
          gate: c.perCoreAlone,
          ratios: pairs.map((p) => (p.base.cpuUsPerRequest[b] ?? Number.NaN) / (p.own.cpuUsPerRequest[t] ?? Number.NaN)),
          baseline: 1e6 / median(cpu(alone.baseline, b)),
          castle: 1e6 / median(cpu(alone.castle, t)),
          invalid,
          how: `responses per CPU-second of the front process (/proc/<pid>/stat), each server with its core to itself`,
        }),
      );
    }
    memory.push(
      rssRow(
        c,
        'RSS under load',
        maxOf(alone.baseline.map((r) => r.rssMaxMiB[b] ?? Number.NaN)),
        maxOf(alone.castle.map((r) => r.rssMaxMiB[t] ?? Number.NaN)),
        `peak over the one-at-a-time rounds, sampled every 200 ms`,
      ),
    );
  }

  if (c.perCoreShared !== undefined) {
    const shared = await coScheduled(ctx, c);
    raw.coScheduled = shared;
    checks.push(
      row(c, {
        metric: 'req/s per CPU-second, sharing a core',
        unit: 'req/s',
        gate: c.perCoreShared,
        ratios: shared.map((r) => r.baselineCpuUs / r.castleCpuUs),
        baseline: 1e6 / median(shared.map((r) => r.baselineCpuUs)),
        castle: 1e6 / median(shared.map((r) => r.castleCpuUs)),
        invalid: shared.some((r) => r.invalid),
        how: 'responses per CPU-second of the front process, both loaded at once on one core (half the connections each), a fresh pair each round',
      }),
    );
  }
  return { id: c.id, title: c.title, checks: [...checks, ...memory], raw };
}
