/**
 * A steady, open-loop load that runs in the background of a cluster scenario and counts
 * every outcome at the client, as users would see it.
 *
 * Arrivals are Poisson at a fixed mean rate and every request opens a connection of its
 * own, so the Service balances per request as an L7 load balancer or many independent
 * clients would (a few long-lived keep-alive connections would pin load to a few pods).
 * Capacity sheds (503 `WWW_ERR_OVERLOADED`) are counted apart from failures, and both are
 * reported. The load stops by itself after `maxDurationMs`.
 */
import { request } from 'undici';

/** How one request ended. */
export type Verdict = 'ok' | 'shed' | 'failed';

/** A request that did not get a 200, with what the client saw. */
export interface Miss {
  /** Milliseconds since the load started. */
  readonly at: number;
  readonly verdict: Exclude<Verdict, 'ok'>;
  /** HTTP status, or the connection error's code when no response came. */
  readonly what: string;
  /** The error `code` of a JSON error body, when there was one. */
  readonly code?: string;
}

/** Counts over one second of the run. */
export interface Second {
  readonly second: number;
  readonly sent: number;
  readonly ok: number;
  readonly shed: number;
  readonly failed: number;
}

export interface LoadReport {
  readonly rps: number;
  readonly durationMs: number;
  readonly sent: number;
  /** Requests answered (or failed) so far; equals `sent` after {@link SteadyLoad.stop}. */
  readonly done: number;
  readonly ok: number;
  readonly shed: number;
  readonly failed: number;
  readonly misses: readonly Miss[];
  readonly seconds: readonly Second[];
}

export interface SteadyLoadOptions {
  /** Mean arrival rate, requests per second. */
  readonly rps: number;
  /** The load stops by itself after this long, whatever the test does. @default 10 minutes */
  readonly maxDurationMs?: number;
  /** Client deadline of one request. @default 10 s */
  readonly timeoutMs?: number;
  /** Fixed spacing instead of Poisson arrivals. @default false */
  readonly uniform?: boolean;
}

/** A running load; {@link stop} waits for every request in flight and returns the report. */
export interface SteadyLoad {
  /** Counts so far (requests still in flight are not in `done`). */
  report(): LoadReport;
  /** Stops sending, waits for the requests in flight, and reports. */
  stop(): Promise<LoadReport>;
}

function errorCode(err: unknown): string {
  const e = err as { code?: string; name?: string; cause?: { code?: string } };
  return e.cause?.code ?? e.code ?? e.name ?? 'UNKNOWN';
}

function jsonCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { code?: string }).code;
  } catch {
    return undefined;
  }
}

/** Starts offering `rps` requests per second to `url` (GET), until stopped or `maxDurationMs`. */
export function startSteadyLoad(url: string, options: SteadyLoadOptions): SteadyLoad {
  if (!(options.rps > 0)) throw new Error(`rps must be > 0, got ${options.rps}`);
  const started = performance.now();
  const maxDurationMs = options.maxDurationMs ?? 600_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const seconds: { sent: number; ok: number; shed: number; failed: number }[] = [];
  const misses: Miss[] = [];
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let done = 0;
  let stopped = false;
  let stoppedAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;

  const bucket = (ms: number) => {
    const i = Math.floor(ms / 1000);
    while (seconds.length <= i) seconds.push({ sent: 0, ok: 0, shed: 0, failed: 0 });
    return seconds[i] as { sent: number; ok: number; shed: number; failed: number };
  };

  const settle = (startedAt: number, verdict: Verdict, what: string, code?: string) => {
    done += 1;
    bucket(startedAt)[verdict] += 1;
    if (verdict !== 'ok') misses.push({ at: Math.round(startedAt), verdict, what, ...(code ? { code } : {}) });
  };

  const one = async (): Promise<void> => {
    const at = performance.now() - started;
    bucket(at).sent += 1;
    sent += 1;
    try {
      const res = await request(url, { headers: { connection: 'close' }, signal: AbortSignal.timeout(timeoutMs) });
      const body = await res.body.text();
      if (res.statusCode === 200) return settle(at, 'ok', '200');
      const code = jsonCode(body);
      settle(at, res.statusCode === 503 && code === 'WWW_ERR_OVERLOADED' ? 'shed' : 'failed', String(res.statusCode), code);
    } catch (err) {
      settle(at, 'failed', errorCode(err));
    }
  };

  // The schedule is kept in absolute time, so a late timer sends what is due at once.
  let due = 0;
  const nextGap = () => (options.uniform ? 1000 / options.rps : (-Math.log(1 - Math.random()) * 1000) / options.rps);
  const tick = () => {
    const now = performance.now() - started;
    if (stopped || now >= maxDurationMs) {
      stopped = true;
      stoppedAt ??= now;
      return;
    }
    while (due <= now) {
      const p = one().finally(() => inFlight.delete(p));
      inFlight.add(p);
      due += nextGap();
    }
    timer = setTimeout(tick, Math.max(0, due - (performance.now() - started)));
  };
  tick();

  const report = (): LoadReport => ({
    rps: options.rps,
    durationMs: Math.round(stoppedAt ?? performance.now() - started),
    sent,
    done,
    ok: seconds.reduce((n, s) => n + s.ok, 0),
    shed: seconds.reduce((n, s) => n + s.shed, 0),
    failed: seconds.reduce((n, s) => n + s.failed, 0),
    misses: [...misses],
    seconds: seconds.map((s, second) => ({ second, ...s })),
  });

  return {
    report,
    async stop() {
      stopped = true;
      stoppedAt ??= performance.now() - started;
      if (timer) clearTimeout(timer);
      await Promise.all([...inFlight]);
      return report();
    },
  };
}

/** One line for a test log: counts, and the misses grouped by what the client saw. */
export function describeLoad(r: LoadReport): string {
  const groups = new Map<string, number>();
  for (const m of r.misses) {
    const key = `${m.verdict} ${m.what}${m.code ? ` ${m.code}` : ''}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const detail = [...groups].map(([k, n]) => `${n}× ${k}`).join(', ');
  return `${r.sent} sent at ${r.rps} rps over ${(r.durationMs / 1000).toFixed(1)} s: ${r.ok} ok, ${r.shed} shed, ${r.failed} failed${detail ? ` (${detail})` : ''}`;
}
