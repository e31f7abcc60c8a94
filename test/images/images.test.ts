import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { docker, dockerOk, get, inspect, root, useContainers, waitFor } from '../support/docker.js';

/**
 * The service images as `npm run images:build` makes them. Set CASTLE_IMAGE_TAG to test
 * another tag than `dev`. The tests install nothing: a Docker engine must be running and
 * the images built (`npm run images:build` does both; `.ci/run` runs it first).
 */
const tag = process.env.CASTLE_IMAGE_TAG ?? 'dev';
const sizeBudgetMb = 250;
const drainDelayMs = 1500;
/** Drain delay plus closing the listener and exiting, with room for a busy two-core machine. */
const stopBudgetMs = drainDelayMs + 3000;
const resultsDir = `${root}test/images/results`;

const services = [
  { name: 'backend', prefix: 'BACKEND' },
  { name: 'www', prefix: 'WWW' },
] as const;

interface ImageInfo {
  Id: string;
  Size: number;
  Config: { User: string; Env: string[] | null; Labels: Record<string, string> | null; Entrypoint: string[] | null; WorkingDir: string; ExposedPorts: Record<string, unknown> | null };
}
interface LockPackage {
  dev?: boolean;
  link?: boolean;
}

const imageOf = (name: string): string => `castle/${name}:${tag}`;

/**
 * Runs a command in a fresh container of the image and returns its stdout lines. It runs as
 * root so that it can look into every folder of the image.
 */
async function lines(image: string, entrypoint: string, ...args: string[]): Promise<string[]> {
  const out = await dockerOk(['run', '--rm', '--read-only', '--user', '0:0', '--entrypoint', entrypoint, image, ...args]);
  return out.split('\n').filter(Boolean);
}

beforeAll(async () => {
  const engine = await docker(['info', '--format', '{{.ServerVersion}}']);
  if (engine.code !== 0) {
    throw new Error(`no Docker engine answers (${engine.stderr.trim()}): run npm run images:build, which starts one`);
  }
  const missing: string[] = [];
  for (const { name } of services) {
    if ((await docker(['image', 'inspect', imageOf(name)])).code !== 0) missing.push(imageOf(name));
  }
  if (missing.length > 0) {
    const build = tag === 'dev' ? 'npm run images:build' : `npm run images:build -- --tag ${tag}`;
    throw new Error(`not in the local Docker engine: ${missing.join(', ')}; build them with ${build}`);
  }
});

describe.each(services)('the $name image', ({ name, prefix }) => {
  const image = imageOf(name);
  const containers = useContainers();

  it('runs Node.js 24 as PID 1 under the numeric non-root user 1000:1000', async () => {
    const info = await inspect<ImageInfo>(image, 'image');
    expect(info.Config.User).toBe('1000:1000');
    expect(info.Config.Entrypoint).toEqual(['node', 'dist/server.js']);
    expect(info.Config.WorkingDir).toBe(`/app/apps/${name}`);
    expect(Object.keys(info.Config.ExposedPorts ?? {}).sort()).toEqual(['8080/tcp', '9090/tcp']);

    const { id } = await containers.run(image);
    const status = await dockerOk(['exec', id, 'cat', '/proc/1/status']);
    expect(status).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    expect(status).toMatch(/^Gid:\s+1000\s+1000\s+1000\s+1000$/m);
    const cmdline = (await dockerOk(['exec', id, 'cat', '/proc/1/cmdline'])).split('\0').filter(Boolean);
    expect(cmdline).toEqual(['node', 'dist/server.js']);
    expect((await dockerOk(['exec', id, 'node', '--version'])).trim()).toMatch(/^v24\.\d+\.\d+$/);
  });

  it('serves /healthz and /readyz on port 8080 and /metrics only on port 9090, both published on 127.0.0.1', async () => {
    const { url, metricsUrl } = await containers.run(image);

    expect(await get(`${url}/healthz`)).toMatchObject({ status: 200 });
    expect(await get(`${url}/readyz`)).toMatchObject({ status: 200, body: 'ready\n' });
    expect(await get(`${url}/metrics`)).toMatchObject({ status: 404 });
    const metrics = await get(`${metricsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/^# HELP /m);
  });

  it('reports the version, commit and build time it was built with in /version, its env and its OCI labels', async () => {
    const info = await inspect<ImageInfo>(image, 'image');
    const labels = info.Config.Labels ?? {};
    const env = Object.fromEntries((info.Config.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    const { url } = await containers.run(image);

    const answer = await get(`${url}/version`);
    const version = JSON.parse(answer.body) as Record<string, unknown>;

    expect(answer.status).toBe(200);
    expect(labels['org.opencontainers.image.title']).toBe(`castle-${name}`);
    expect(labels['org.opencontainers.image.revision']).toMatch(/^[0-9a-f]{40}$/);
    expect(Number.isNaN(Date.parse(labels['org.opencontainers.image.created'] ?? ''))).toBe(false);
    expect(version).toMatchObject({
      version: labels['org.opencontainers.image.version'],
      gitSha: labels['org.opencontainers.image.revision'],
      buildTime: labels['org.opencontainers.image.created'],
    });
    expect(env).toMatchObject({
      CASTLE_VERSION: version.version,
      CASTLE_GIT_SHA: version.gitSha,
      CASTLE_BUILD_TIME: version.buildTime,
      [`${prefix}_HOST`]: '0.0.0.0',
      [`${prefix}_PORT`]: '8080',
      [`${prefix}_METRICS_PORT`]: '9090',
    });
  });

  it('serves with a read-only root filesystem and writes nothing to its filesystem while serving', async () => {
    const readOnly = await containers.run(image, { readOnly: true });
    const write = await docker(['exec', readOnly.id, 'touch', '/app/probe']);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);

    const writable = await containers.run(image, { readOnly: false });
    for (const path of ['/', '/healthz', '/readyz', '/version']) await get(`${writable.url}${path}`);
    await get(`${writable.metricsUrl}/metrics`);
    expect(await dockerOk(['diff', writable.id])).toBe('');
  });

  it('turns not-ready on SIGTERM, drains for the configured delay and exits 0 within the budget', async () => {
    const { id, url } = await containers.run(image, { env: { [`${prefix}_DRAIN_DELAY_MS`]: String(drainDelayMs) } });
    const started = performance.now();
    // docker stop sends STOPSIGNAL (SIGTERM) and would SIGKILL after 30 s, far beyond the budget.
    const stopping = docker(['stop', '--time', '30', id]);

    const draining = await waitFor(`${url}/readyz to answer 503`, async () => {
      const ready = await get(`${url}/readyz`, 500);
      return ready.status === 503 ? ready : undefined;
    }, drainDelayMs);
    expect(draining.body).toBe('draining\n');
    expect(await get(`${url}/healthz`, 500)).toMatchObject({ status: 200 });
    expect((await stopping).code).toBe(0);
    const elapsedMs = performance.now() - started;

    const { State } = await inspect<{ State: { ExitCode: number; OOMKilled: boolean } }>(id, 'container');
    expect(State).toMatchObject({ ExitCode: 0, OOMKilled: false });
    expect(elapsedMs).toBeGreaterThanOrEqual(drainDelayMs);
    expect(elapsedMs).toBeLessThan(stopBudgetMs);
    const logs = (await dockerOk(['logs', id])).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg?: string });
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['draining', 'stopped']));
  });

  it('holds only production code: no devDependencies, tests, TypeScript sources, npm or .git', async () => {
    const lock = JSON.parse(await readFile(`${root}package-lock.json`, 'utf8')) as { packages: Record<string, LockPackage> };
    // Package folders as lockfile keys: the runtime package's own nested dependencies are
    // keyed under packages/runtime/ in the lockfile.
    const packageDirs = (await lines(image, 'find', '/app/node_modules', '/app/apps', '-name', 'package.json', '-printf', '%h\n'))
      .map((dir) => dir.slice('/app/'.length).replace(/^node_modules\/@castle\/runtime\/node_modules\//, 'packages/runtime/node_modules/'))
      .filter((dir) => /(^|\/)node_modules\/(@[^/]+\/)?[^/@][^/]*$/.test(dir));
    const unknown = packageDirs.filter((dir) => lock.packages[dir] === undefined);
    const dev = packageDirs.filter((dir) => lock.packages[dir]?.dev === true);
    const toolNames = /^node_modules\/(typescript|vitest|@vitest\/.*|@types\/.*|eslint|tsx|esbuild|fast-check|autocannon|@kubernetes\/.*)$/;

    expect(packageDirs).toContain('node_modules/fastify');
    expect(unknown).toEqual([]);
    expect(dev).toEqual([]);
    expect(packageDirs.filter((dir) => toolNames.test(dir))).toEqual([]);

    // The workspace runtime package is a real copy of its manifest and build output, not a link.
    expect(await lines(image, 'find', '/app/node_modules/@castle', '-maxdepth', '2', '-printf', '%y %P\n')).toEqual(
      expect.arrayContaining(['d runtime', 'f runtime/package.json', 'd runtime/dist']),
    );
    expect(await lines(image, 'find', '/app/node_modules/@castle', '-maxdepth', '2', '(', '-type', 'l', '-o', '-mindepth', '2', '!', '-name', 'package.json', '!', '-name', 'dist', '!', '-name', 'node_modules', ')')).toEqual([]);
    expect(await lines(image, 'find', `/app/apps/${name}`, '-mindepth', '1', '-maxdepth', '1', '-printf', '%P\n')).toEqual(
      expect.arrayContaining(['package.json', 'dist']),
    );
    expect(await lines(image, 'find', '/app/apps', '/app/node_modules/@castle', '(', '-name', '*.ts', '-o', '-name', 'test', '-o', '-name', '*.test.js', '-o', '-name', 'tsconfig*.json', ')')).toEqual([]);
    expect(await lines(image, 'find', '/', '-xdev', '(', '-name', '.git', '-o', '-name', '.npmrc', ')', '-print')).toEqual([]);
    expect((await docker(['run', '--rm', '--entrypoint', 'sh', image, '-c', 'command -v npm || command -v npx || command -v yarn'])).code).not.toBe(0);
  });

  it(`weighs less than ${sizeBudgetMb} MB, and its size is recorded`, async () => {
    const info = await inspect<ImageInfo>(image, 'image');
    const sizeMb = Math.round(info.Size / 1e5) / 10;
    const base = await inspect<ImageInfo>('castle/node:24-bookworm-slim', 'image').catch(() => undefined);
    const record = {
      image,
      id: info.Id,
      sizeBytes: info.Size,
      sizeMb,
      budgetMb: sizeBudgetMb,
      runtimeBaseMb: base === undefined ? null : Math.round(base.Size / 1e5) / 10,
      measuredAt: new Date().toISOString(),
    };
    await mkdir(resultsDir, { recursive: true });
    await writeFile(`${resultsDir}/${name}-size.json`, `${JSON.stringify(record, null, 2)}\n`);
    console.log(`${image}: ${sizeMb} MB (budget ${sizeBudgetMb} MB; runtime base ${record.runtimeBaseMb ?? '?'} MB)`);

    expect(info.Size).toBeLessThan(sizeBudgetMb * 1e6);
  });
});
