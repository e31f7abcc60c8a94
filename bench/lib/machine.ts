import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

/** The machine a run measured on: results from different machines are not comparable. */
export interface MachineInfo {
  readonly node: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryMiB: number;
  /** 1, 5 and 15 minute load averages when the run started: a busy machine makes noisy figures. */
  readonly loadAverageAtStart: readonly number[];
  readonly taskset: boolean;
}

/** Whether `taskset` (util-linux) can run here. */
export function hasTaskset(): boolean {
  const probe = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  return probe.status === 0;
}

/** Describes this machine. */
export function describeMachine(): MachineInfo {
  const list = cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    taskset: hasTaskset(),
  };
}

/**
 * Which cores to use: the load generator (this process) on the first core, servers under
 * test on the last, so the two do not take turns on one core. `undefined` means unpinned.
 */
export interface CorePlan {
  readonly loader: number | undefined;
  readonly server: number | undefined;
  /** For a second server in the path (the backend behind a proxy). */
  readonly upstream: number | undefined;
}

/** Plans core pinning; pinning needs taskset and at least two cores. */
export function planCores(pin: boolean, machine: MachineInfo): CorePlan {
  if (!pin || !machine.taskset || machine.cores < 2) return { loader: undefined, server: undefined, upstream: undefined };
  const last = machine.cores - 1;
  return { loader: 0, server: last, upstream: machine.cores > 2 ? last - 1 : 0 };
}

/** Pins this process (the load generator) to one core. */
export function pinSelf(core: number | undefined): void {
  if (core === undefined) return;
  spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
}
