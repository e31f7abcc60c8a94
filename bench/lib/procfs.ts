import { readFileSync } from 'node:fs';

const ticksPerSecond = 100;

/** Resident set size of a process in MiB (VmRSS from /proc/<pid>/status), or NaN if it is gone. */
export function readRssMiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) a process has used so far, in seconds (from /proc/<pid>/stat). */
export function readCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

/** Samples the RSS of some processes at a fixed interval and keeps the maximum of each. */
export class RssSampler {
  readonly #pids: readonly number[];
  readonly #max = new Map<number, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(pids: readonly number[]) {
    this.#pids = pids;
  }

  /** Starts sampling (every 200 ms by default) until `stop`. */
  start(intervalMs = 200): this {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    return this;
  }

  /** Stops sampling and returns the largest RSS seen per pid, in MiB. */
  stop(): ReadonlyMap<number, number> {
    clearInterval(this.#timer);
    this.#sample();
    return this.#max;
  }

  #sample(): void {
    for (const pid of this.#pids) {
      const rss = readRssMiB(pid);
      if (!Number.isNaN(rss)) this.#max.set(pid, Math.max(this.#max.get(pid) ?? 0, rss));
    }
  }
}
