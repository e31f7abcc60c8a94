import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig } from '../../support/cluster.js';
import { at, buildCli, castle, manifests } from './support.js';

describe('a crashing container on a real cluster', () => {
  let kc: KubeConfig;
  let namespace: string;

  beforeAll(async () => {
    buildCli();
    kc = loadKubeConfig();
    namespace = await createTestNamespace('castle-cli-crash', kc);
  });

  afterAll(async () => {
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('fails the deploy after the allowed restarts, naming the pod, the crash loop and the container’s last log lines', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, kc).then(() => undefined));
    // An invalid setting makes www exit at start: a crash loop that will not recover.
    const file = manifests({ wwwEnv: { WWW_CAPACITY_RPS: 'lots' } });
    const run = await castle(['deploy', ...at(namespace), '--version', '1.0.0', '--manifests', file, '--no-smoke', '--crash-restarts', '1', '--progress-deadline', '170']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/Deployment\/www pod www-[a-z0-9]+-[a-z0-9]+: CrashLoopBackOff — \d+ restarts; last exit: Error \(\d+\)/);
    expect(run.stderr).toMatch(/last log lines:\n(.*\n)*.*WWW_CAPACITY_RPS/);
    expect(run.stderr).toMatch(/no earlier healthy revision to roll back to/);
    expect(run.ms).toBeLessThan(120_000);
  });
});
