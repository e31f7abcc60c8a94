import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, type KubeConfig, type KubernetesObject, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig } from '../../support/cluster.js';
import { buildCli, castle, snapshot } from './support.js';

/**
 * Two releases with the same name, `castle`, in two namespaces, both rendering one
 * PriorityClass (cluster-scoped): the first to apply it owns it, the other is refused, and
 * neither's prune or destroy deletes what the other owns.
 */
describe('two releases named castle in two namespaces sharing a PriorityClass, on a real cluster', () => {
  const suffix = randomBytes(3).toString('hex');
  /** The shared PriorityClass, and one that release a alone renders (for its prune). */
  const shared = `castle-two-${suffix}`;
  const onlyA = `castle-two-a-${suffix}`;
  let kc: KubeConfig;
  let objects: KubernetesObjectApi;
  let a: string;
  let b: string;

  const priorityClass = (name: string): KubernetesObject & { metadata: { name: string }; value: number } => ({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value: 1000 });
  const settings = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { tier: 'www' } };
  function file(...docs: object[]): string {
    const path = join(mkdtempSync(join(tmpdir(), 'castle-two-')), 'manifests.yaml');
    writeFileSync(path, docs.map((d) => stringify(d)).join('---\n'));
    return path;
  }
  const release = (namespace: string): string[] => ['--namespace', namespace, '--release', 'castle'];
  const deploy = (namespace: string, version: string, manifests: string) => castle(['deploy', ...release(namespace), '--version', version, '--manifests', manifests, '--no-smoke']);
  /** The owner annotation of a PriorityClass; null when it does not exist. */
  async function ownerOf(name: string): Promise<string | undefined | null> {
    try {
      return (await objects.read(priorityClass(name))).metadata?.annotations?.['castle.dev/owner'];
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return null;
      throw error;
    }
  }

  beforeAll(async () => {
    buildCli();
    kc = loadKubeConfig();
    objects = KubernetesObjectApi.makeApiClient(kc);
    a = await createTestNamespace('castle-cli-two-a', kc);
    b = await createTestNamespace('castle-cli-two-b', kc);
  });

  afterAll(async () => {
    for (const name of [shared, onlyA]) await objects?.delete(priorityClass(name)).catch(() => undefined);
    for (const namespace of [a, b]) if (namespace) await deleteNamespace(namespace, { kc });
  });

  const diagnose = (): void => onTestFailed(() => Promise.all([dumpDiagnostics(a, kc), dumpDiagnostics(b, kc)]).then(() => undefined));

  it('refuses b’s deploy and diff of the PriorityClass a owns (exit 6, naming a), writing nothing in b', async () => {
    diagnose();
    const both = file(priorityClass(shared), settings);
    const first = await deploy(a, '1.0.0', both);
    expect(first.code, first.stderr).toBe(0);
    expect(await ownerOf(shared)).toBe(`${a}/castle`);

    const before = await snapshot(kc, b);
    const refused = await deploy(b, '1.0.0', both);
    expect(refused.code, refused.stderr).toBe(6);
    expect(refused.stderr).toContain(`release castle in namespace ${b} would apply objects that belong to another release: PriorityClass/${shared} (owned by castle release castle in namespace ${a})`);
    const diff = await castle(['diff', ...release(b), '--version', '1.0.0', '--manifests', both]);
    expect(diff.code, diff.stderr).toBe(6);
    expect(diff.stderr).toContain(`PriorityClass/${shared} (owned by castle release castle in namespace ${a})`);
    expect(await snapshot(kc, b)).toEqual(before);
    expect(await ownerOf(shared)).toBe(`${a}/castle`);
  });

  it('a’s destroy deletes it; then b’s deploy succeeds and b owns it, and a’s deploy is refused', async () => {
    diagnose();
    const both = file(priorityClass(shared), settings);
    const destroyed = await castle(['destroy', ...release(a), '--yes']);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(await ownerOf(shared)).toBeNull();

    const second = await deploy(b, '1.0.0', both);
    expect(second.code, second.stderr).toBe(0);
    expect(await ownerOf(shared)).toBe(`${b}/castle`);

    const refused = await deploy(a, '1.1.0', both);
    expect(refused.code, refused.stderr).toBe(6);
    expect(refused.stderr).toContain(`PriorityClass/${shared} (owned by castle release castle in namespace ${b})`);
  });

  it('a’s prune and destroy keep a PriorityClass of a’s inventory that b owns, saying so', async () => {
    diagnose();
    const first = await deploy(a, '2.0.0', file(priorityClass(onlyA), settings));
    expect(first.code, first.stderr).toBe(0);
    // As an older castle left it when both releases deployed it: b applied it last.
    await objects.patch({ ...priorityClass(onlyA), metadata: { name: onlyA, annotations: { 'castle.dev/owner': `${b}/castle` } } }, undefined, undefined, 'test', undefined, PatchStrategy.MergePatch);

    const pruning = await deploy(a, '2.1.0', file(settings));
    expect(pruning.code, pruning.stderr).toBe(0);
    expect(pruning.stderr).toContain(`kept PriorityClass/${onlyA}: owned by castle release castle in namespace ${b} (castle.dev/owner: ${b}/castle)`);
    expect(await ownerOf(onlyA)).toBe(`${b}/castle`);

    const destroyed = await castle(['destroy', ...release(a), '--yes']);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toContain(`kept PriorityClass/${onlyA}`);
    expect(await ownerOf(onlyA)).toBe(`${b}/castle`);
    expect(await ownerOf(shared)).toBe(`${b}/castle`);
  });
});
