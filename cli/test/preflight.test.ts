import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploy } from '../src/commands/deploy.js';
import { EXIT_CODES } from '../src/errors.js';
import { quietReporter } from '../src/output/reporter.js';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function kubeconfigFor(server: string): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'castle-kc-')), 'config');
  await writeFile(
    file,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: here, context: {cluster: c, user: u}}]\ncurrent-context: here\n`,
  );
  return file;
}

const base = {
  release: 'castle',
  namespace: 'castle',
  env: 'dev',
  reporter: quietReporter,
  source: () => [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }],
  historyMax: 10,
  forceConflicts: false,
  rollbackOnFailure: true,
  progressDeadlineSeconds: 180,
  crashRestarts: 3,
  leaseSeconds: 30,
};

describe('deploy preflight', () => {
  it('names the API server it cannot reach and what to check, with the unreachable exit code', async () => {
    const kubeconfig = await kubeconfigFor(`https://127.0.0.1:${await closedPort()}`);
    const error = await deploy({ ...base, version: '1.0.0', kubeconfig }).catch((e: unknown) => e);
    expect(error).toMatchObject({ exitCode: EXIT_CODES.unreachable, message: expect.stringMatching(/cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:\d+/), hint: expect.stringMatching(/--context/) });
  });

  it.each([
    [{ version: '1.0' }, /version "1.0" is not a semantic version/],
    [{ version: '1.0.0', namespace: 'Bad_Name' }, /namespace "Bad_Name" is not a valid name/],
    [{ version: '1.0.0', historyMax: 0 }, /--history-max must be a positive integer/],
    [{ version: '1.0.0', context: 'nowhere' }, /context "nowhere" is not in the kubeconfig \(known: here\)/],
  ])('refuses bad input %j before connecting', async (change, message) => {
    const kubeconfig = await kubeconfigFor('https://127.0.0.1:1');
    await expect(deploy({ ...base, kubeconfig, ...change })).rejects.toMatchObject({ exitCode: EXIT_CODES.usage, message: expect.stringMatching(message) });
  });
});
