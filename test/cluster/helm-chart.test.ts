import { execFile } from 'node:child_process';
import { existsSync, globSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { environmentNames, render, type KubernetesObject, type RenderOptions } from '@castle/k8s';

const run = promisify(execFile);
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const chart = fileURLToPath(new URL('../../deploy/helm/castle/', import.meta.url));

/**
 * The helm binary: $HELM, else the one the hermetic cluster build makes
 * (/var/cache/castle/k8s-<version>/bin/helm). Missing helm fails under CI and skips elsewhere.
 * This test lives in the cluster tier, though it needs no cluster, because that is where CI
 * has built helm: the int tier runs before the cluster build.
 */
const helm = process.env.HELM ?? globSync(`${process.env.CASTLE_CACHE_DIR ?? '/var/cache/castle'}/k8s-*/bin/helm`).sort().at(-1);
const found = helm !== undefined && existsSync(helm);
const skip = !found && !process.env.CI;

async function helmTemplate(args: string[]): Promise<KubernetesObject[]> {
  // --kube-version: `helm template` checks the chart's kubeVersion against a built-in default
  // that a helm built from its Go module leaves at an old version.
  const { stdout } = await run(helm ?? 'helm', ['template', 'castle', chart, '--kube-version', '1.33.0', ...args], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null);
}

const key = (o: KubernetesObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const byKey = (objects: KubernetesObject[]) => [...objects].sort((a, b) => key(a).localeCompare(key(b)));

const overrides = { registry: 'registry.example.com/castle-images', version: '2.3.4-rc.1', namespace: 'castle-canary', gitSha: '0a1b2c3d4e5f' };

describe.skipIf(skip)('the Helm chart deploy/helm/castle under helm template', () => {
  it('has a helm binary to run (build it with npm run cluster:build, or set HELM)', () => {
    expect(found, `no helm: set HELM or run npm run cluster:build (makes /var/cache/castle/k8s-*/bin/helm); CI=${process.env.CI}`).toBe(true);
  });

  it.each(environmentNames)('renders the same objects as render() for %s with its values file and the default tag', async (env) => {
    const fromHelm = await helmTemplate(['-f', `${chart}values-${env}.yaml`]);
    expect(byKey(fromHelm)).toEqual(byKey(render({ env, version })));
  });

  it.each(environmentNames)('renders the same objects as render() for %s with registry, tag, namespace and commit set', async (env) => {
    const fromHelm = await helmTemplate([
      '-f', `${chart}values-${env}.yaml`,
      '--set', `image.registry=${overrides.registry}`,
      '--set', `image.tag=${overrides.version}`,
      '--set', `namespace=${overrides.namespace}`,
      '--set-string', `gitSha=${overrides.gitSha}`,
    ]);
    const options: RenderOptions = { env, ...overrides };
    expect(byKey(fromHelm)).toEqual(byKey(render(options)));
  });

  it.each([
    [['--set', 'environment=prod'], 'environment: must be one of local, staging, production, production-us-east-1, production-eu-west-1, got "prod"'],
    [['--set', 'image.tag=v1.2.3'], 'image.tag: must be a semantic version'],
    [['--set', 'namespace=Castle'], 'namespace: must be a DNS label, got "Castle"'],
  ])('refuses bad values %j, naming them', async (args, message) => {
    await expect(helmTemplate(args)).rejects.toThrow(message);
  });
});
