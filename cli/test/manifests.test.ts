import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../src/kube/objects.js';
import { imagesOf, prepareManifests, validateNamespace, yamlFileSource } from '../src/manifests.js';

const namespaced = (_: string, kind: string): Promise<boolean> => Promise.resolve(kind !== 'Namespace');
const obj = (kind: string, name: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({ apiVersion: 'v1', kind, metadata: { name, ...extra } });

describe('preparing manifests', () => {
  it('puts Namespaces first, sets the release namespace and the ownership labels', async () => {
    const out = await prepareManifests([obj('ConfigMap', 'c'), obj('Namespace', 'ns')], 'castle', 'ns', namespaced);
    expect(out.map((o) => o.kind)).toEqual(['Namespace', 'ConfigMap']);
    expect(out[1]?.metadata).toMatchObject({ namespace: 'ns', labels: { 'app.kubernetes.io/managed-by': 'castle', 'castle.dev/release': 'castle' } });
  });

  it('reports every problem at once', async () => {
    const bad = [obj('ConfigMap', 'c', { namespace: 'elsewhere' }), obj('ConfigMap', 'c'), { kind: 'Secret' } as KubeObject, obj('Namespace', 'other')];
    await expect(prepareManifests(bad, 'castle', 'ns', namespaced)).rejects.toThrow(
      /namespace elsewhere is not the release's namespace ns[\s\S]*listed twice[\s\S]*object 3: needs apiVersion[\s\S]*may only contain its own namespace/,
    );
  });

  it('refuses an empty set', async () => {
    await expect(prepareManifests([], 'castle', 'ns', namespaced)).rejects.toThrow(/no objects to deploy/);
  });
});

describe('names', () => {
  it.each(['Castle', '-x', 'a_b', 'x'.repeat(64)])('namespace %s is refused', (name) => {
    expect(() => validateNamespace(name)).toThrow(/is not a valid name/);
  });
});

describe('a YAML manifests file', () => {
  it('yields its documents and List items, skipping empty ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'castle-'));
    const file = join(dir, 'm.yaml');
    await writeFile(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n');
    const objects = await yamlFileSource(file)({ env: 'dev', version: '1.0.0', namespace: 'ns' });
    expect(objects.map((o) => o.metadata.name)).toEqual(['a', 'b']);
  });

  it('that is missing gives a usage error naming it', async () => {
    await expect(Promise.resolve(yamlFileSource('/nonexistent/m.yaml')({ env: 'dev', version: '1.0.0', namespace: 'ns' }))).rejects.toThrow(/cannot read manifests file \/nonexistent\/m.yaml/);
  });

  it('lists the images of its workloads', () => {
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w' }, spec: { template: { spec: { containers: [{ image: 'b:1' }, { image: 'a:1' }] } } } };
    expect(imagesOf([d])).toEqual(['a:1', 'b:1']);
  });
});
