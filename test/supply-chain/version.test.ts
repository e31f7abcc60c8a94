import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { inspect, root } from '../support/docker.js';
import { runToolOk } from '../support/tools.js';

/**
 * One version, from the git release tag: what `npm run release:version` derives for this
 * work tree is what `castle version` says, what `npm run images:build` tagged and labelled
 * the images with, and (through CASTLE_VERSION) what their /version serves (test/images).
 * Run after `npm run build` and `npm run images:build` on the same commit, as .ci/run does.
 */
interface ImageInfo {
  Id: string;
  Config: { Labels: Record<string, string> | null; Env: string[] | null };
}

const head = execFileSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
const derived = execFileSync('node', ['--import', 'tsx', '--conditions', 'castle-source', 'scripts/version.ts'], { cwd: root, encoding: 'utf8' }).trim();

describe('the version', () => {
  it('that castle version reports is the one derived from git', async () => {
    const out = JSON.parse(await runToolOk('node', ['cli/dist/main.js', 'version', '--output', 'json'], { cwd: root, env: { CASTLE_VERSION: '' } })) as {
      result: { version: string };
    };
    expect(derived).toMatch(/^\d+\.\d+\.\d+(-dev\.\d+\.g[0-9a-f]+(\.dirty)?)?$/);
    expect(out.result.version).toBe(derived);
  });

  it.each(['www', 'backend'])('of the %s image is in its tag, OCI labels and CASTLE_VERSION, for this commit', async (service) => {
    const dev = await inspect<ImageInfo>(`castle/${service}:dev`, 'image');
    const labels = dev.Config.Labels ?? {};
    expect(labels['org.opencontainers.image.revision'], `castle/${service}:dev is of another commit than HEAD: rebuild it with npm run images:build`).toBe(head);
    expect(labels['org.opencontainers.image.version']).toBe(derived);
    expect(dev.Config.Env ?? []).toContain(`CASTLE_VERSION=${derived}`);
    expect((await inspect<ImageInfo>(`castle/${service}:${derived}`, 'image')).Id).toBe(dev.Id);
  });
});
