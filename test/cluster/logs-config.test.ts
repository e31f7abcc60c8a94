import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HERMETIC_SERVER, loadKubeConfig } from '../support/cluster.js';

const run = promisify(execFile);
const dir = fileURLToPath(new URL('../../deploy/logging/', import.meta.url));
// Where the logs add-on (cluster/addon-logs.sh) puts the collector it builds.
const collector = `${process.env.CASTLE_CACHE_DIR ?? '/var/cache/castle'}/k8s-v1.33.13/bin/otelcol-castle`;
const hermetic = loadKubeConfig().getCurrentCluster()?.server === HERMETIC_SERVER;

/** `otelcol-castle validate` on the given files, merged in order: its exit status and output. */
async function validate(...files: string[]): Promise<{ ok: boolean; output: string }> {
  if (!existsSync(collector)) throw new Error(`${collector} is missing: build the logs add-on first (npm run cluster:addons -- logs)`);
  const args = ['validate', ...files.map((f) => `--config=${dir}${f}`)];
  try {
    const { stdout, stderr } = await run(collector, args, { timeout: 30_000 });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

// The collector the hermetic cluster builds is on this machine only.
describe.runIf(hermetic)("the shipped collector configuration, checked by the hermetic cluster's collector", () => {
  it('accepts collector.yaml as it is, and with the Loki overlay', async () => {
    expect(await validate('collector.yaml')).toMatchObject({ ok: true });
    expect(await validate('collector.yaml', 'exporters/loki.yaml')).toMatchObject({ ok: true });
  });

  it('refuses the CloudWatch overlay for exactly one reason: this small collector has no awscloudwatchlogs exporter', async () => {
    const result = await validate('collector.yaml', 'exporters/cloudwatch.yaml');
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/unknown type: "awscloudwatchlogs"/);
  });
});
