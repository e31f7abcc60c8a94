import { spawn, spawnSync } from 'node:child_process';

/** Whether `wrk` is on the PATH. */
export function wrkInstalled(): boolean {
  // wrk has no --version that exits 0; a missing binary is ENOENT either way.
  const probe = spawnSync('wrk', ['--version'], { stdio: 'ignore' });
  return !(probe.error && (probe.error as NodeJS.ErrnoException).code === 'ENOENT');
}

/** What one closed-loop wrk run saw. */
export interface LoadRun {
  readonly requests: number;
  readonly durationS: number;
  readonly rps: number;
  readonly non2xx: number;
  /** Connect, read and write errors (timeouts apart). */
  readonly errors: number;
  readonly timeouts: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
}

const unitsMs: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latencyMs(text: string, percentile: string): number {
  const m = new RegExp(`^\\s*${percentile}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
  return m ? Number(m[1]) * (unitsMs[m[2] ?? 'ms'] ?? Number.NaN) : Number.NaN;
}

/**
 * Reads wrk's report (with `--latency`).
 * @throws Error when the report has no request count, i.e. wrk did not run a test.
 */
export function parseWrk(text: string): LoadRun {
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),/m.exec(text);
  if (!total) throw new Error(`wrk: no "N requests in T" line in its report:\n${text}`);
  const requests = Number(total[1]);
  const durationS = (Number(total[2]) * (unitsMs[total[3] ?? 's'] ?? Number.NaN)) / 1000;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requests,
    durationS,
    rps: requests / durationS,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    errors: socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0,
    timeouts: socket ? Number(socket[4]) : 0,
    latencyP50Ms: latencyMs(text, '50'),
    latencyP99Ms: latencyMs(text, '99'),
  };
}

/**
 * Drives `url` with wrk (one thread, `connections` keep-alive connections) for `durationS`
 * seconds, whole seconds as wrk takes them. wrk is a child of the bench process, so it runs
 * on the load generator's core. A watchdog kills a run that overstays by 30 s.
 */
export function wrk(url: string, connections: number, durationS: number): Promise<LoadRun> {
  const seconds = Math.max(1, Math.round(durationS));
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '--latency', '-H', 'accept: text/plain', url];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const watchdog = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('error', (e) => {
      clearTimeout(watchdog);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(watchdog);
      if (code !== 0) {
        reject(new Error(`wrk ${args.join(' ')} exited with ${code ?? signal}: ${err.trim() || out.trim()}`));
        return;
      }
      try {
        resolve(parseWrk(out));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}
