import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRssMiB } from './procfs.js';
import { waitForReadyLine } from './ready.js';

/** How to start one server process. */
export interface ServiceSpec {
  /** A short name for messages and file names, e.g. `backend`. */
  readonly name: string;
  /** The script node runs, relative to the repository root or absolute. */
  readonly script: string;
  /** Variables added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** The core to pin the process to, or undefined to leave it to the scheduler. */
  readonly core?: number | undefined;
}

/** A started server process that has logged its `ready` line. */
export interface RunningProcess {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  /** The file that receives the process's stdout (its JSON log lines). */
  readonly logPath: string;
  /** Bytes the process has written to stdout so far. */
  logBytes(): number;
  /** Stops the process: SIGTERM, then SIGKILL if it has not exited within 5 s. Idempotent. */
  stop(): Promise<void>;
}

const readyTimeoutMs = 20_000;
const stopTimeoutMs = 5_000;
const live = new Set<ChildProcess>();
let workDir: string | undefined;

function logDir(): string {
  workDir ??= mkdtempSync(join(tmpdir(), 'castle-bench-'));
  return workDir;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (exited(child)) {
    live.delete(child);
    return;
  }
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), stopTimeoutMs);
  });
  if ((await Promise.race([gone, late])) === 'late') {
    child.kill('SIGKILL');
    await gone;
  }
  clearTimeout(timer);
  live.delete(child);
}

/**
 * Starts a server with its stdout going to a log file (a real sink, so logging costs what it
 * costs in production) and waits for its `{"msg":"ready","port":N}` line.
 * @throws Error when the process exits or does not become ready within 20 s.
 */
export async function startService(spec: ServiceSpec): Promise<RunningProcess> {
  const logPath = join(logDir(), `${spec.name}-${Date.now()}.log`);
  const out = openSync(logPath, 'w');
  const [command, args] =
    spec.core === undefined ? ['node', [spec.script]] : ['taskset', ['-c', String(spec.core), 'node', spec.script]];
  const child = spawn(command, args, {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', out, 'pipe'],
  });
  closeSync(out);
  live.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  try {
    const ready = await waitForReadyLine(logPath, child, readyTimeoutMs, () => stderr);
    const pid = child.pid;
    if (pid === undefined) throw new Error(`${spec.name}: no process id`);
    return {
      name: spec.name,
      pid,
      url: ready.url,
      logPath,
      logBytes: () => statSync(logPath).size,
      stop: () => stopChild(child),
    };
  } catch (err) {
    await stopChild(child);
    throw new Error(`${spec.name} did not start: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The RSS of a baseline's and a Castle service's process right after each is ready, before
 * any load, in MiB: both are started, read, and stopped.
 */
export async function idleRss(baseline: ServiceSpec, castle: ServiceSpec): Promise<{ readonly baseline: number; readonly castle: number }> {
  const started: RunningProcess[] = [];
  try {
    for (const spec of [baseline, castle]) started.push(await startService(spec));
    const [b, c] = started.map((p) => readRssMiB(p.pid));
    return { baseline: b ?? Number.NaN, castle: c ?? Number.NaN };
  } finally {
    await Promise.all(started.map((p) => p.stop()));
  }
}

/** Stops every process this module started that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => stopChild(child)));
}

/** Removes the log files of this run. */
export function removeLogs(): void {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

/**
 * Makes sure no server outlives the bench: SIGINT/SIGTERM stop them and exit 130, and any
 * exit (including a crash) kills what is left.
 */
export function installCleanup(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nbench: ${signal}, stopping servers\n`);
    void stopAll().finally(() => {
      removeLogs();
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('exit', () => {
    for (const child of live) if (!exited(child)) child.kill('SIGKILL');
    removeLogs();
  });
}
