import { readCpuSeconds, RssSampler } from './procfs.js';
import type { RunningProcess } from './service.js';
import { wrk } from './wrk.js';

/** One measured round against one target, after its warm-up. */
export interface ThroughputRound {
  readonly target: string;
  readonly rps: number;
  readonly requests: number;
  readonly durationS: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** CPU time each process in the path used per response, in microseconds. */
  readonly cpuUsPerRequest: Readonly<Record<string, number>>;
  /** CPU time each process used as a share of one core over the round: near 1 means it was the bottleneck. */
  readonly coreShare: Readonly<Record<string, number>>;
  /** Largest RSS of each process during the round, MiB. */
  readonly rssMaxMiB: Readonly<Record<string, number>>;
  /** Log bytes each process wrote per response: evidence that logging was on. */
  readonly logBytesPerRequest: Readonly<Record<string, number>>;
}

/** What a throughput round needs: whom to load, and which processes are in its path. */
export interface ThroughputTarget {
  readonly label: string;
  readonly url: string;
  /** The process that answers `url` first, then any behind it (e.g. the backend of a proxy). */
  readonly path: readonly RunningProcess[];
}

/**
 * Warms the target up, then measures it: responses per second, and for every process in its
 * path the CPU time and log bytes per response and the peak RSS.
 */
export async function measureThroughput(
  target: ThroughputTarget,
  options: { readonly connections: number; readonly durationS: number; readonly warmupS: number },
): Promise<ThroughputRound> {
  const load = (durationS: number) => wrk(target.url, options.connections, durationS);
  if (options.warmupS > 0) await load(options.warmupS);
  const cpuBefore = target.path.map((p) => readCpuSeconds(p.pid));
  const logBefore = target.path.map((p) => p.logBytes());
  const sampler = new RssSampler(target.path.map((p) => p.pid)).start();
  const started = performance.now();
  let run;
  let rss;
  try {
    run = await load(options.durationS);
  } finally {
    rss = sampler.stop();
  }
  const wallS = (performance.now() - started) / 1000;
  const cpuUsPerRequest: Record<string, number> = {};
  const coreShare: Record<string, number> = {};
  const rssMaxMiB: Record<string, number> = {};
  const logBytesPerRequest: Record<string, number> = {};
  target.path.forEach((p, i) => {
    const cpu = readCpuSeconds(p.pid) - (cpuBefore[i] ?? Number.NaN);
    cpuUsPerRequest[p.name] = run.requests > 0 ? (cpu / run.requests) * 1e6 : Number.NaN;
    coreShare[p.name] = cpu / wallS;
    rssMaxMiB[p.name] = rss.get(p.pid) ?? Number.NaN;
    logBytesPerRequest[p.name] = run.requests > 0 ? (p.logBytes() - (logBefore[i] ?? 0)) / run.requests : 0;
  });
  return {
    target: target.label,
    rps: run.rps,
    requests: run.requests,
    durationS: run.durationS,
    non2xx: run.non2xx,
    errors: run.errors,
    latencyP50Ms: run.latencyP50Ms,
    latencyP99Ms: run.latencyP99Ms,
    cpuUsPerRequest,
    coreShare,
    rssMaxMiB,
    logBytesPerRequest,
  };
}

/** One co-scheduled round: both fronts loaded at once, on the same core. */
export interface CoScheduledRound {
  /** CPU microseconds per response of each front process over the same window. */
  readonly baselineCpuUs: number;
  readonly castleCpuUs: number;
  readonly baselineRequests: number;
  readonly castleRequests: number;
  readonly invalid: boolean;
}

/**
 * Loads baseline and castle at the same time, each with half of `connections`, while both
 * front processes share one core, and returns each one's CPU time per response over the
 * same window. Whatever the machine does meanwhile (its speed drifts by a quarter from
 * minute to minute on a shared virtual machine) happens to both alike, so the ratio of the
 * two costs is the ratio of their one-core capacities, free of that drift.
 */
export async function measureCoScheduled(
  baseline: ThroughputTarget,
  castle: ThroughputTarget,
  options: {
    readonly connections: number;
    readonly durationS: number;
    readonly warmupS: number;
    readonly castleFirst?: boolean;
  },
): Promise<CoScheduledRound> {
  const front = (t: ThroughputTarget) => {
    const p = t.path[0];
    if (!p) throw new Error(`${t.label}: no process to measure`);
    return p;
  };
  const [b, c] = [front(baseline), front(castle)];
  // The connections are split between the two, so the load generator (single-threaded, and
  // sharing the CPU with the servers) does no more work than in a one-at-a-time round.
  const each = Math.max(1, Math.round(options.connections / 2));
  // Whichever load starts first does a few per cent better (an identical pair measures about
  // 1.03x one way round); the caller alternates the order so that the bias cancels.
  const load = (t: ThroughputTarget, durationS: number) => wrk(t.url, each, durationS);
  const both = async (durationS: number) => {
    if (!options.castleFirst) return Promise.all([load(baseline, durationS), load(castle, durationS)]);
    const [rc, rb] = await Promise.all([load(castle, durationS), load(baseline, durationS)]);
    return [rb, rc] as const;
  };
  if (options.warmupS > 0) await both(options.warmupS);
  const before = [readCpuSeconds(b.pid), readCpuSeconds(c.pid)] as const;
  const [rb, rc] = await both(options.durationS);
  const cpuUs = (pid: number, from: number, requests: number) => (requests > 0 ? ((readCpuSeconds(pid) - from) / requests) * 1e6 : Number.NaN);
  return {
    baselineCpuUs: cpuUs(b.pid, before[0], rb.requests),
    castleCpuUs: cpuUs(c.pid, before[1], rc.requests),
    baselineRequests: rb.requests,
    castleRequests: rc.requests,
    invalid: rb.non2xx + rb.errors + rc.non2xx + rc.errors > 0,
  };
}
