import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach } from 'vitest';

/** The repository root. */
export const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every container these tests start carries this label, so strays can be found and removed. */
const testLabel = 'castle.test=images';

export interface DockerResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/**
 * Runs the docker CLI with an argument vector (never a shell string) and resolves with its
 * output and exit code, whatever the code.
 */
export function docker(args: readonly string[], timeoutMs = 60_000): Promise<DockerResult> {
  return new Promise((resolve) => {
    execFile('docker', [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ stdout, stderr: error !== null && stderr === '' ? error.message : stderr, code });
    });
  });
}

/** Like {@link docker}, but rejects with the command and its stderr when it fails. */
export async function dockerOk(args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await docker(args, timeoutMs);
  if (result.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** `docker inspect` of one object, parsed. */
export async function inspect<T>(ref: string, type: 'image' | 'container'): Promise<T> {
  const [first] = JSON.parse(await dockerOk([type, 'inspect', ref])) as T[];
  if (first === undefined) throw new Error(`docker ${type} inspect ${ref} returned nothing`);
  return first;
}

/** Thrown by a {@link waitFor} probe to stop polling at once (e.g. the container exited). */
export class GiveUp extends Error {}

/**
 * Polls `probe` until it returns a value, or rejects once `deadlineMs` has passed; an error
 * from the probe counts as "not yet", except {@link GiveUp}.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let last: string | undefined;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      last = error instanceof Error ? error.message : JSON.stringify(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${last === undefined ? '' : ` (last error: ${last})`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

/** One GET with a short timeout; rejects on a connection error. */
export async function get(url: string, timeoutMs = 2000): Promise<HttpAnswer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text(), contentType: response.headers.get('content-type') ?? '' };
}

export interface Container {
  readonly id: string;
  /** Base URL of the container's port 8080, published on 127.0.0.1. */
  readonly url: string;
  /** Base URL of the container's management port 9090 (/metrics), published on 127.0.0.1. */
  readonly metricsUrl: string;
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Run with a read-only root filesystem (the default, as in production). */
  readonly readOnly?: boolean;
  /** How long the service may take to answer /healthz. */
  readonly readyDeadlineMs?: number;
}

/**
 * Containers started through the returned `run` are removed after each test, and their
 * logs and state are printed when the test failed. Strays from a crashed run are removed
 * after the file.
 */
export function useContainers(): { run: (image: string, options?: RunOptions) => Promise<Container> } {
  const started: string[] = [];

  afterEach(async ({ task }) => {
    for (const id of started.splice(0)) {
      if (task.result?.state === 'fail') {
        const logs = await docker(['logs', '--timestamps', id]);
        const state = await docker(['inspect', '--format', '{{json .State}}', id]);
        console.error(`--- container ${id.slice(0, 12)}: state ${state.stdout.trim()}\n${logs.stdout}${logs.stderr}--- end`);
      }
      await docker(['rm', '--force', '--volumes', id]);
    }
  });

  afterAll(async () => {
    const strays = (await docker(['ps', '--all', '--quiet', '--filter', `label=${testLabel}`])).stdout.split('\n').filter(Boolean);
    if (strays.length > 0) await docker(['rm', '--force', '--volumes', ...strays]);
  });

  async function run(image: string, options: RunOptions = {}): Promise<Container> {
    const args = ['run', '--detach', '--label', testLabel, '--publish', '127.0.0.1::8080', '--publish', '127.0.0.1::9090'];
    if (options.readOnly ?? true) args.push('--read-only');
    for (const [key, value] of Object.entries(options.env ?? {})) args.push('--env', `${key}=${value}`);
    const id = (await dockerOk([...args, image])).trim();
    started.push(id);
    const published = async (containerPort: number): Promise<string> => {
      const port = (await dockerOk(['port', id, `${containerPort}/tcp`])).trim().split('\n')[0]?.split(':').at(-1);
      if (port === undefined || port === '') throw new Error(`container ${id} has no published port ${containerPort}`);
      return `http://127.0.0.1:${port}`;
    };
    const url = await published(8080);
    const metricsUrl = await published(9090);
    await waitFor(
      `${image} to answer ${url}/healthz`,
      async () => {
        const state = await inspect<{ State: { Running: boolean; ExitCode: number } }>(id, 'container');
        if (!state.State.Running) throw new GiveUp(`${image} exited with code ${state.State.ExitCode}`);
        return (await get(`${url}/healthz`, 1000)).status === 200 ? true : undefined;
      },
      options.readyDeadlineMs ?? 20_000,
    );
    return { id, url, metricsUrl };
  }

  return { run };
}
