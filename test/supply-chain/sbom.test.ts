import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerOk, root } from '../support/docker.js';
import { devOnly, productionClosure, type Lock } from '../support/lockfile.js';
import { runToolOk, tool } from '../support/tools.js';

/**
 * The SBOM syft makes of each service image (as `npm run images:build` made it) lists
 * exactly the service's production dependencies from package-lock.json, and none of the
 * development ones. syft runs offline from the image saved by Docker.
 */
const tag = process.env.CASTLE_IMAGE_TAG ?? 'dev';
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lock;

interface SyftArtifact {
  name: string;
  version: string;
  type: string;
  locations: { path: string }[];
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'castle-sbom-'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

async function sbom(image: string): Promise<SyftArtifact[]> {
  const archive = join(work, `${image.replace(/[/:]/g, '_')}.tar`);
  await dockerOk(['save', '-o', archive, image], 120_000);
  const out = await runToolOk(tool('syft'), ['scan', `docker-archive:${archive}`, '-o', 'syft-json', '-q'], {
    env: { SYFT_CHECK_FOR_APP_UPDATE: 'false' },
  });
  return (JSON.parse(out) as { artifacts: SyftArtifact[] }).artifacts;
}

describe.each(['www', 'backend'])('the SBOM of the %s image', (service) => {
  let artifacts: SyftArtifact[];
  beforeAll(async () => {
    artifacts = await sbom(`castle/${service}:${tag}`);
  });

  it("lists exactly the service's production dependencies, at their locked versions, under /app", () => {
    const expected = productionClosure(lock, [`apps/${service}`, 'packages/runtime']);
    const underApp = artifacts.filter((a) => a.type === 'npm' && !a.name.startsWith('@castle/') && a.locations.some((l) => l.path.startsWith('/app/')));
    // An installed package's manifest is node_modules/<its name>/package.json. Other manifests
    // are files a package ships (fast-uri's benchmark/, pino's test fixtures): they must lie
    // inside an expected package's folder, and are not dependencies.
    const installed = (a: SyftArtifact): boolean => a.locations.some((l) => l.path.endsWith(`/node_modules/${a.name}/package.json`));
    const nested = underApp.filter((a) => !installed(a));
    const expectedDirs = underApp.filter(installed).flatMap((a) => a.locations.map((l) => l.path.slice(0, -'package.json'.length)));
    expect(expected.size).toBeGreaterThan(20);
    expect([...new Set(underApp.filter(installed).map((a) => `${a.name}@${a.version}`))].sort()).toEqual([...expected].sort());
    expect(nested.filter((a) => !a.locations.some((l) => expectedDirs.some((d) => l.path.startsWith(d)))).map((a) => a.locations[0]?.path)).toEqual([]);
  });

  it('lists no development dependency anywhere in the image', () => {
    const dev = devOnly(lock);
    const found = artifacts.filter((a) => a.type === 'npm' && dev.has(`${a.name}@${a.version}`)).map((a) => `${a.name}@${a.version} at ${a.locations[0]?.path}`);
    expect(dev.size).toBeGreaterThan(50);
    for (const name of ['vitest', 'typescript', 'eslint', 'tsx']) expect(artifacts.some((a) => a.type === 'npm' && a.name === name)).toBe(false);
    expect(found).toEqual([]);
  });

  it('lists the operating system packages of the base image too, so a scanner sees them', () => {
    expect(artifacts.filter((a) => a.type === 'deb').length).toBeGreaterThan(10);
    expect(artifacts.some((a) => a.type === 'deb' && a.name === 'libc6')).toBe(true);
  });
});
