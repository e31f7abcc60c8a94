import autocannon from 'autocannon';

/** What one closed-loop autocannon run saw. */
export interface CannonRun {
  readonly requests: number;
  readonly durationS: number;
  readonly rps: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

/**
 * Drives `url` with `connections` keep-alive connections for `durationS` seconds, in this
 * process (no workers: they would take the server's core). A watchdog stops a run that
 * overstays its duration by 30 s.
 */
export function cannon(url: string, connections: number, durationS: number): Promise<CannonRun> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      { url, connections, duration: durationS, headers: { accept: 'text/plain' }, timeout: 10 },
      (err, result) => {
        clearTimeout(watchdog);
        if (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        const seconds = result.duration > 0 ? result.duration : durationS;
        resolve({
          requests: result.requests.total,
          durationS: seconds,
          rps: result.requests.total / seconds,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          latencyP50Ms: result.latency.p50,
          latencyP99Ms: result.latency.p99,
        });
      },
    );
    const watchdog = setTimeout(() => instance.stop(), (durationS + 30) * 1000);
  });
}
