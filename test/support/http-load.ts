import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';

/** What one request came to: a response, or the code of the connection error. */
export interface Outcome {
  /** Client-side start, `performance.now()` milliseconds. */
  readonly startedAt: number;
  readonly ms: number;
  readonly status?: number;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** Set when no response came: ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, ... */
  readonly error?: string;
}

export interface HitOptions {
  readonly method?: Dispatcher.HttpMethod;
  readonly headers?: Readonly<Record<string, string>>;
  readonly dispatcher?: Dispatcher;
  /** Client-side deadline of the whole exchange. */
  readonly timeoutMs?: number;
}

function errorCode(err: unknown): string {
  const e = err as { code?: string; name?: string; cause?: { code?: string } };
  return e.cause?.code ?? e.code ?? e.name ?? 'UNKNOWN';
}

/** Sends one request and reports its outcome; never throws. */
export async function hit(url: string, options: HitOptions = {}): Promise<Outcome> {
  const startedAt = performance.now();
  try {
    const res = await request(url, {
      method: options.method ?? 'GET',
      headers: options.headers ?? {},
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    const body = await res.body.text();
    return { startedAt, ms: performance.now() - startedAt, status: res.statusCode, body, headers: res.headers };
  } catch (err) {
    return { startedAt, ms: performance.now() - startedAt, error: errorCode(err) };
  }
}

/** A keep-alive client of its own, so one test's connections never leak into another's. */
export function newClient(connections = 64): Agent {
  return new Agent({ connections, keepAliveTimeout: 10_000 });
}

export interface ClosedLoopOptions extends HitOptions {
  readonly concurrency: number;
  /** Stop after this many requests... */
  readonly total?: number;
  /** ...or once this says so (checked before each request). */
  readonly stop?: () => boolean;
  /** Called with each outcome as it arrives. */
  readonly onOutcome?: (outcome: Outcome) => void;
}

/** `concurrency` workers sending back-to-back requests: load bounded by the clients, not a rate. */
export async function closedLoop(url: string, options: ClosedLoopOptions): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let sent = 0;
  const more = () => (options.total === undefined || sent < options.total) && !(options.stop?.() ?? false);
  const worker = async () => {
    while (more()) {
      sent += 1;
      const outcome = await hit(url, options);
      outcomes.push(outcome);
      options.onOutcome?.(outcome);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return outcomes;
}

/**
 * Sends requests one after another (`intervalMs` apart) until one is `accepted` or the
 * deadline passes; returns them all, the last being the accepted one if any was.
 */
export async function pollUntil(
  url: string,
  accepted: (o: Outcome) => boolean,
  options: HitOptions & { readonly deadlineMs: number; readonly intervalMs?: number },
): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const deadline = performance.now() + options.deadlineMs;
  for (;;) {
    const o = await hit(url, options);
    outcomes.push(o);
    if (accepted(o) || performance.now() > deadline) return outcomes;
    await delay(options.intervalMs ?? 20);
  }
}

/**
 * Offers `rps` requests per second for `durationMs`, whatever the answers: an open-loop
 * load such as real clients make. The pacing targets a schedule, so a slow tick catches up.
 */
export async function openLoop(url: string, options: HitOptions & { readonly rps: number; readonly durationMs: number }): Promise<Outcome[]> {
  const started = performance.now();
  const total = Math.round((options.rps * options.durationMs) / 1000);
  const pending: Promise<Outcome>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / options.rps;
    const wait = due - performance.now();
    if (wait > 0) await delay(wait);
    pending.push(hit(url, options));
  }
  return Promise.all(pending);
}

/** The p-th percentile (0..100) of `values`, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Counts outcomes by status code, or by error code for requests without a response. */
export function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.status === undefined ? (o.error ?? 'UNKNOWN') : String(o.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** The JSON error body of a response, or undefined when the body is not JSON. */
export function errorBodyOf(outcome: Outcome): { statusCode?: number; code?: string; message?: string } | undefined {
  try {
    return JSON.parse(outcome.body ?? '') as { statusCode?: number; code?: string; message?: string };
  } catch {
    return undefined;
  }
}

/** Reads one sample of a Prometheus text exposition, e.g. `metric(text, 'www_shed_total', { reason: 'rate' })`. */
export function metric(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[3]);
  }
  return undefined;
}

/** Fetches a service's /metrics text from its management listener. */
export async function scrape(service: { readonly metricsUrl: string }): Promise<string> {
  const res = await hit(`${service.metricsUrl}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status ?? res.error}`);
  return res.body ?? '';
}

/** The RFC 850 layout of the backend's answer, e.g. `Monday, 02-Jan-06 15:04:05 UTC`. */
export const rfc850 = /^(Sun|Mon|Tues|Wednes|Thurs|Fri|Satur)day, \d{2}-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{2} \d{2}:\d{2}:\d{2} UTC$/;
