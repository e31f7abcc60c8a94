import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readSync, watch } from 'node:fs';

/** Where a server listens, from its `ready` log line. */
export interface ReadyLine {
  readonly port: number;
  readonly url: string;
}

function parseReady(line: string): ReadyLine | undefined {
  if (!line.includes('"ready"')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: unknown; port?: unknown; url?: unknown };
    if (entry.msg !== 'ready' || typeof entry.port !== 'number') return undefined;
    return { port: entry.port, url: typeof entry.url === 'string' ? entry.url : `http://127.0.0.1:${entry.port}` };
  } catch {
    return undefined;
  }
}

/**
 * Resolves on the first `{"msg":"ready","port":N}` line appended to `path`, reading on each
 * file-change event (no polling, no fixed sleep). Rejects if the child exits first or the
 * line does not come within `timeoutMs`.
 */
export function waitForReadyLine(path: string, child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<ReadyLine> {
  return new Promise((resolve, reject) => {
    const fd = openSync(path, 'r');
    const buffer = Buffer.alloc(64 * 1024);
    let offset = 0;
    let pending = '';
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      watcher.close();
      clearTimeout(timer);
      child.off('exit', onExit);
      closeSync(fd);
      outcome();
    };
    const check = () => {
      if (settled) return;
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, offset);
        if (n === 0) break;
        offset += n;
        pending += buffer.subarray(0, n).toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const ready = parseReady(line);
          if (ready) {
            finish(() => resolve(ready));
            return;
          }
        }
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      check();
      finish(() => reject(new Error(`exited (${code ?? signal}) before it was ready; stderr: ${stderr().trim() || '(empty)'}`)));
    };
    const watcher = watch(path, check);
    const timer = setTimeout(() => {
      finish(() => reject(new Error(`no ready line within ${timeoutMs} ms; stderr: ${stderr().trim() || '(empty)'}`)));
    }, timeoutMs);
    child.once('exit', onExit);
    check();
  });
}
