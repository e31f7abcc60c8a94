import { Agent, request } from 'node:http';

/** One request of a paced run. */
export interface PacedSample {
  /** When it was sent, in ms since the run started. */
  readonly sentAtMs: number;
  /** HTTP status, or 0 when it failed without one (timeout, reset). */
  readonly status: number;
  /** From sending the request to the end of the response body. */
  readonly latencyMs: number;
  readonly retryAfter: string | undefined;
  /** The `code` of a JSON error body, e.g. `WWW_ERR_OVERLOADED`. */
  readonly errorCode: string | undefined;
}

/** An open-loop run: requests at a fixed rate whatever the answers, each timed on its own. */
export interface PacedOptions {
  readonly url: string;
  /** Requests per second, evenly spaced. */
  readonly rate: number;
  readonly durationS: number;
  /** Per-request time limit, after which the request counts as status 0. */
  readonly timeoutMs?: number;
}

function errorCodeOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { code?: unknown };
    return typeof parsed.code === 'string' ? parsed.code : undefined;
  } catch {
    return undefined;
  }
}

function send(agent: Agent, url: URL, timeoutMs: number, startedAt: number): Promise<PacedSample> {
  return new Promise((resolve) => {
    const sent = performance.now();
    const done = (status: number, retryAfter: string | undefined, errorCode: string | undefined) =>
      resolve({ sentAtMs: sent - startedAt, status, latencyMs: performance.now() - sent, retryAfter, errorCode });
    const req = request(url, { agent, method: 'GET', headers: { accept: 'text/plain' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const retryAfter = res.headers['retry-after'];
        done(status, retryAfter, status === 200 ? undefined : errorCodeOf(Buffer.concat(chunks).toString('utf8')));
      });
      res.on('error', () => done(0, undefined, undefined));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(0, undefined, undefined));
    req.end();
  });
}

/**
 * Sends requests at exactly `rate` per second, evenly spaced (the schedule catches up after a
 * late timer rather than drifting), for `durationS` seconds, then waits for the answers.
 * Unlike autocannon's `overallRate`, which releases each second's requests in one burst at the
 * start of the second, this offers a steady rate, which is what "3x capacity" means.
 */
export async function paced(options: PacedOptions): Promise<PacedSample[]> {
  const url = new URL(options.url);
  const timeoutMs = options.timeoutMs ?? 5_000;
  const agent = new Agent({ keepAlive: true, maxSockets: 1_000 });
  const intervalMs = 1000 / options.rate;
  const startedAt = performance.now();
  const endAt = startedAt + options.durationS * 1000;
  const pending: Promise<PacedSample>[] = [];
  try {
    await new Promise<void>((resolve) => {
      let next = startedAt;
      const tick = () => {
        const now = performance.now();
        while (next <= now && next < endAt) {
          pending.push(send(agent, url, timeoutMs, startedAt));
          next += intervalMs;
        }
        if (next >= endAt) {
          resolve();
          return;
        }
        setTimeout(tick, Math.max(0, next - performance.now()));
      };
      tick();
    });
    return await Promise.all(pending);
  } finally {
    agent.destroy();
  }
}
