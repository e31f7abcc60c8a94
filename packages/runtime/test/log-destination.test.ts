import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchedDestination, defaultBatchBytes } from '../src/log-destination.js';

const dir = mkdtempSync(join(tmpdir(), 'castle-logdest-'));
let fds: number[] = [];
afterEach(() => {
  for (const fd of fds) closeSync(fd);
  fds = [];
});

function fileDestination(name: string, options?: ConstructorParameters<typeof BatchedDestination>[1]) {
  const path = join(dir, name);
  const fd = openSync(path, 'w');
  fds.push(fd);
  return { dest: new BatchedDestination(fd, options), read: () => readFileSync(path, 'utf8') };
}

describe('defaultBatchBytes', () => {
  it('is 64 KiB for a regular file and 16 KiB for a pipe, a device or an unusable descriptor', () => {
    const file = openSync(join(dir, 'size.log'), 'w');
    fds.push(file);
    expect(defaultBatchBytes(file)).toBe(64 * 1024);
    const fifo = join(dir, 'size.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // Read-write, so opening does not wait for a reader.
    const pipe = openSync(fifo, 'r+');
    fds.push(pipe);
    expect(defaultBatchBytes(pipe)).toBe(16 * 1024);
    const device = openSync('/dev/null', 'w');
    fds.push(device);
    expect(defaultBatchBytes(device)).toBe(16 * 1024);
    expect(defaultBatchBytes(987_654)).toBe(16 * 1024);
  });
});

describe('BatchedDestination', () => {
  it('batches 64 KiB for a file when no size is given', () => {
    const { dest, read } = fileDestination('default.log', { flushMs: 60_000 });
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 63; i++) dest.writeBatched(line);
    expect(read()).toBe('');
    dest.writeBatched(line);
    expect(read()).toHaveLength(64 * 1024);
  });

  it('holds batched lines until the batch is full, then writes them in one piece', () => {
    const { dest, read } = fileDestination('batch.log', { batchBytes: 64, flushMs: 60_000 });
    dest.writeBatched('{"n":1,"pad":"xxxxxxxxxx"}\n');
    expect(read()).toBe('');
    dest.writeBatched('{"n":2,"pad":"xxxxxxxxxx"}\n');
    expect(read()).toBe('');
    dest.writeBatched('{"n":3,"pad":"xxxxxxxxxx"}\n');
    expect(read()).toBe('{"n":1,"pad":"xxxxxxxxxx"}\n{"n":2,"pad":"xxxxxxxxxx"}\n{"n":3,"pad":"xxxxxxxxxx"}\n');
  });

  it('writes other lines at once, after what is pending, so the order holds', () => {
    const { dest, read } = fileDestination('order.log', { batchBytes: 4096, flushMs: 60_000 });
    dest.writeBatched('a\n');
    dest.writeBatched('b\n');
    dest.write('ready\n');
    expect(read()).toBe('a\nb\nready\n');
  });

  it('encodes any Unicode exactly and writes a line larger than its buffer whole', () => {
    const { dest, read } = fileDestination('big.log', { batchBytes: 16, flushMs: 60_000 });
    const big = `${'é😀"\\'.repeat(200)}\n`;
    dest.writeBatched('x\n');
    dest.writeBatched(big);
    dest.flushSync();
    expect(read()).toBe(`x\n${big}`);
  });

  it('writes what has gathered every flush interval', async () => {
    const { dest, read } = fileDestination('timer.log', { batchBytes: 4096, flushMs: 20 });
    dest.writeBatched('late\n');
    await expect.poll(read, { interval: 5, timeout: 2000 }).toBe('late\n');
  });

  it.each([
    ['process.exit', 'process.exit(3)', 3],
    ['an uncaught exception', 'throw new Error("boom")', 1],
    ['the end of the program', '', 0],
  ])('loses no pending line when the process ends by %s', (_how, ending, code) => {
    const runtime = fileURLToPath(new URL('../src/log-destination.ts', import.meta.url));
    const script = `
      import { batchedStdout } from ${JSON.stringify(runtime)};
      const out = batchedStdout();
      for (let i = 0; i < 1000; i++) out.writeBatched(JSON.stringify({ i }) + '\\n');
      ${ending}
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.status).toBe(code);
    const lines = child.stdout.trim().split('\n');
    expect(lines).toHaveLength(1000);
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([...Array(1000).keys()]);
  });
});
