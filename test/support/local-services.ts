import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach } from 'vitest';

/** The two services, run from their build output (`npm run build`). */
export type ServiceName = 'backend' | 'www';

const root = fileURLToPath(new URL('../../', import.meta.url));
const envPrefix: Record<ServiceName, string> = { backend: 'BACKEND', www: 'WWW' };

/** How long a service may take to print its ready line on a busy two-core machine. */
export const readyDeadlineMs = 20_000;

/** One parsed JSON log line. */
export interface LogLine {
  readonly msg?: string;
  readonly level?: string;
  readonly [field: string]: unknown;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * A service running as a child process: its stdout JSON lines and stderr are collected,
 * and tests wait on events (a log line, the exit) with deadlines instead of sleeping.
 */
export class ServiceProcess {
  readonly name: ServiceName;
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  stdout = '';
  stderr = '';
  /** Settles when the process has exited, however it ended. */
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #partial = '';
  readonly #listeners = new Set<() => void>();

  constructor(name: ServiceName, env: Readonly<Record<string, string>>) {
    this.name = name;
    const prefix = envPrefix[name];
    const base = { PATH: process.env.PATH ?? '', CASTLE_INSTANCE: `${name}-e2e`, [`${prefix}_PORT`]: '0', [`${prefix}_METRICS_PORT`]: '0' };
    this.child = spawn(process.execPath, [`${root}apps/${name}/dist/server.js`], {
      env: { ...base, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.#onStdout(chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.#notify();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.stderr += `spawn error: ${err.message}\n`;
        this.#exit ??= { code: null, signal: null };
        this.#notify();
        resolve(this.#exit);
      });
      // 'close' waits for stdio to end, so every log line has been read by then.
      this.child.once('close', (code, signal) => {
        this.#exit = { code, signal };
        this.#notify();
        resolve(this.#exit);
      });
    });
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** The exit once it happened. */
  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** Resolves with the first log line (already seen or future) matching `match`; rejects on exit or deadline. */
  waitForLine(match: (line: LogLine) => boolean, what: string, timeoutMs = 15_000): Promise<LogLine> {
    return this.waitUntil(() => this.lines.find(match), what, timeoutMs);
  }

  /** Resolves once `probe` returns a value, re-checked on every output event; rejects on exit or deadline. */
  waitUntil<T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        fn();
      };
      const check = () => {
        const found = probe();
        if (found !== undefined) finish(() => resolve(found));
        else if (this.#exit) finish(() => reject(new Error(`${this.name} exited (${JSON.stringify(this.#exit)}) before ${what}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms`))), timeoutMs);
      this.#listeners.add(check);
      check();
    });
  }

  /** Sends `signal` and waits for the exit; SIGKILLs and throws if the deadline passes first. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<Exit> {
    if (this.#exit) return this.#exit;
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const result = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (result !== 'late') return result;
    this.child.kill('SIGKILL');
    await this.exited;
    throw new Error(`${this.name} did not exit within ${timeoutMs} ms of ${signal}`);
  }

  /** Everything the process printed, for failure reports. */
  dump(): string {
    return `----- ${this.name} (pid ${this.child.pid}, exit ${JSON.stringify(this.#exit ?? 'running')})\n` +
      `stdout:\n${this.stdout}\nstderr:\n${this.stderr}`;
  }

  #onStdout(chunk: string): void {
    this.stdout += chunk;
    const parts = (this.#partial + chunk).split('\n');
    this.#partial = parts.pop() ?? '';
    for (const text of parts) {
      try {
        this.lines.push(JSON.parse(text) as LogLine);
      } catch {
        this.lines.push({ msg: `(not JSON) ${text}` });
      }
    }
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

/** A service that printed its ready line. */
export interface RunningService extends ServiceProcess {
  readonly port: number;
  readonly url: string;
  /** The management listener's URL, where /metrics is served. */
  readonly metricsUrl: string;
}

/** Waits for the `ready` log line and returns the process with its ports and URLs. */
export async function whenReady(proc: ServiceProcess, timeoutMs = readyDeadlineMs): Promise<RunningService> {
  const line = await proc.waitForLine((l) => l.msg === 'ready' && typeof l.port === 'number' && typeof l.metrics_port === 'number', 'ready line', timeoutMs);
  const port = line.port as number;
  const metricsPort = line.metrics_port as number;
  return Object.assign(proc, { port, url: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}` });
}

/**
 * Registers hooks that print the logs of every process a test used when it fails, and kill
 * them all afterwards: processes started in a test die in `afterEach`, those started in
 * `beforeAll` in `afterAll`.
 */
export function useServices() {
  const fileScoped: ServiceProcess[] = [];
  let testScoped: ServiceProcess[] | undefined;
  /** Every process the current test could see; kept after the kill so a failure can print them. */
  let shown: ServiceProcess[] = [];

  const killAll = async (procs: readonly ServiceProcess[]) => {
    await Promise.all(procs.map(async (p) => {
      if (p.running) p.child.kill('SIGKILL');
      await p.exited;
    }));
  };

  beforeEach(({ onTestFailed }) => {
    testScoped = [];
    const seen = (shown = [...fileScoped]);
    onTestFailed(() => {
      for (const p of seen) console.error(p.dump());
    });
  });
  afterEach(async () => {
    const procs = testScoped ?? [];
    testScoped = undefined;
    await killAll(procs);
  });
  afterAll(() => killAll(fileScoped));

  /** Spawns a service without waiting for it to listen. */
  const spawnService = (name: ServiceName, env: Readonly<Record<string, string>> = {}): ServiceProcess => {
    const proc = new ServiceProcess(name, env);
    (testScoped ?? fileScoped).push(proc);
    if (testScoped) shown.push(proc);
    return proc;
  };

  return {
    spawn: spawnService,
    /** Spawns a service and waits for its ready line. */
    start: (name: ServiceName, env: Readonly<Record<string, string>> = {}) => whenReady(spawnService(name, env)),
    /** Starts www in front of `backend`, with the rate limit off unless `env` sets one. */
    startWww: (backend: { readonly url: string }, env: Readonly<Record<string, string>> = {}) =>
      whenReady(spawnService('www', { WWW_BACKEND_URL: backend.url, WWW_CAPACITY_RPS: '0', ...env })),
  };
}
