import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where scripts/ensure-tools.sh installs the CI tools. */
export const toolsBin = `${process.env.CASTLE_TOOLS_DIR ?? `${process.env.CASTLE_CACHE_DIR ?? '/var/cache/castle'}/tools`}/bin`;

/** The path of a CI tool, or an error saying how to install it. */
export function tool(name: 'syft' | 'cosign' | 'registry' | 'gitleaks' | 'actionlint' | 'zizmor'): string {
  const path = `${toolsBin}/${name}`;
  if (!existsSync(path)) throw new Error(`${name} is not installed at ${path}: run npm run tools:ensure`);
  return path;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program with an argument vector (no shell) and resolves with its exit code and output, whatever the code. */
export function runTool(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { env: { ...process.env, ...options.env }, cwd: options.cwd, timeout: options.timeoutMs ?? 240_000, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr: error !== null && stderr === '' ? error.message : stderr });
      },
    );
  });
}

/** Like {@link runTool}, but rejects with the command and its stderr when it exits non-zero. */
export async function runToolOk(file: string, args: readonly string[], options?: Parameters<typeof runTool>[2]): Promise<string> {
  const r = await runTool(file, args, options);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().slice(-2000)}`);
  return r.stdout;
}
