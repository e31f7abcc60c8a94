import { describe, expect, it, vi } from 'vitest';
import { EXIT_CODES } from '../src/errors.js';
import { run } from '../src/program.js';
import { version } from '../src/commands/version.js';

async function exitOf(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    return { code: await run(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('the castle program', () => {
  it.each([
    [['--help'], EXIT_CODES.ok],
    [['deploy', '--help'], EXIT_CODES.ok],
    [['frobnicate'], EXIT_CODES.usage],
    [['diff', '--manifests', 'x.yaml'], EXIT_CODES.usage],
    [['deploy', '--version', '1.0.0', '--history-max', 'ten'], EXIT_CODES.usage],
    [['deploy', '--version', '1.0.0', '--output', 'yaml'], EXIT_CODES.usage],
    [['deploy', '--version', '1.0.0', '--verdict-source', 'logs'], EXIT_CODES.usage],
    [['deploy', '--version', '1.0.0', '--autoscaler', 'vpa'], EXIT_CODES.usage],
  ])('%j exits %i', async (argv, code) => {
    expect((await exitOf(argv)).code).toBe(code);
  });

  it.each(['deploy', 'diff'])('%s refuses --autoscaler with --manifests, naming both, before anything else', async (command) => {
    const r = await exitOf([command, '--version', '1.0.0', '--manifests', 'x.yaml', '--autoscaler', 'keda', '--kubeconfig', '/nonexistent']);
    expect(r.code).toBe(EXIT_CODES.usage);
    expect(r.stderr).toMatch(/--autoscaler chooses how an environment is rendered; --manifests deploys objects as they are/);
  });

  it('without a manifest source says to pass --manifests', async () => {
    const r = await exitOf(['deploy', '--version', '1.0.0', '--kubeconfig', '/nonexistent']);
    expect(r.code).toBe(EXIT_CODES.usage);
    expect(r.stderr).toMatch(/no manifests to deploy\n\s+pass --manifests <file>/);
  });

  it("refuses a verdict's --prometheus that is not an http(s) URL before anything else", async () => {
    const r = await exitOf(['deploy', '--version', '1.0.0', '--manifests', 'x.yaml', '--verdict-window', '30', '--prometheus', 'prometheus:9090', '--kubeconfig', '/nonexistent']);
    expect(r.code).toBe(EXIT_CODES.usage);
    expect(r.stderr).toMatch(/--prometheus must be an http\(s\) URL such as http:\/\/127\.0\.0\.1:9090, not "prometheus:9090"/);
  });

  it('writes exactly one JSON document to stdout with --output json, errors included', async () => {
    const ok = await exitOf(['version', '--output', 'json']);
    expect(JSON.parse(ok.stdout)).toMatchObject({ schemaVersion: 1, command: 'version', ok: true, result: { version: version().version, source: version().source } });
    const bad = await exitOf(['status', '-n', 'Not_Valid', '--output', 'json', '--kubeconfig', '/nonexistent']);
    expect(bad.code).toBe(EXIT_CODES.usage);
    expect(JSON.parse(bad.stdout)).toMatchObject({ schemaVersion: 1, ok: false, error: { code: 'CASTLE_ERR_USAGE', exitCode: 2 } });
  });
});
