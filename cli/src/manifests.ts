import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { UsageError } from './errors.js';
import type { KubeObject } from './kube/objects.js';
import { withOwnership } from './release/inventory.js';

/** What a deploy is asked for; a {@link ManifestSource} turns it into objects. */
export interface RenderRequest {
  readonly env: string;
  readonly version: string;
  readonly namespace: string;
  readonly registry?: string;
  readonly gitSha?: string;
  /** Overrides the environment's autoscaler (`--autoscaler`); undefined: the environment's. */
  readonly autoscaler?: 'keda' | 'hpa' | 'none';
}

/**
 * The seam between the CLI and whatever renders the manifests: plain Kubernetes objects in
 * apply order (Namespace first). `@castle/k8s`'s `render()` plugs in here with a thin
 * adapter; `--manifests <file>` plugs in a YAML file.
 */
export type ManifestSource = (request: RenderRequest) => Promise<readonly KubeObject[]> | readonly KubeObject[];

/** A source reading a multi-document YAML (or JSON) file; `version` etc. are not applied to it. */
export function yamlFileSource(file: string): ManifestSource {
  return async () => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read manifests file ${file}: ${(error as Error).message}`, 'pass --manifests <file> with a readable YAML file');
    }
    const docs = parseAllDocuments(text);
    const objects: KubeObject[] = [];
    for (const [i, doc] of docs.entries()) {
      if (doc.errors.length > 0) throw new UsageError(`${file}: document ${i + 1}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) continue;
      const items = (value as { kind?: string; items?: unknown[] }).kind?.endsWith('List') ? ((value as { items?: unknown[] }).items ?? []) : [value];
      objects.push(...(items as KubeObject[]));
    }
    return objects;
  };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** @throws UsageError unless `name` is a valid namespace (DNS-1123 label). */
export function validateNamespace(name: string): void {
  if (name.length > 63 || !DNS_LABEL.test(name)) {
    throw new UsageError(`namespace "${name}" is not a valid name: lower-case letters, digits and "-", at most 63, starting and ending alphanumeric`);
  }
}

/** @throws UsageError unless `name` can be a release name (a DNS label of at most 40, so derived names fit). */
export function validateReleaseName(name: string): void {
  if (name.length > 40 || !DNS_LABEL.test(name)) {
    throw new UsageError(`release name "${name}" is not valid: lower-case letters, digits and "-", at most 40, starting and ending alphanumeric`);
  }
}

/**
 * Check the objects and make them Castle's: every namespaced object in the release's
 * namespace, every object labelled with the ownership labels and annotated with its owner
 * (`<namespace>/<release>`). Problems are reported all at once.
 * @param namespaced tells whether a kind is namespaced (from discovery).
 */
export async function prepareManifests(
  objects: readonly KubeObject[],
  release: string,
  namespace: string,
  namespaced: (apiVersion: string, kind: string) => Promise<boolean>,
): Promise<KubeObject[]> {
  const problems: string[] = [];
  const seen = new Set<string>();
  const out: KubeObject[] = [];
  for (const [i, raw] of objects.entries()) {
    const where = `object ${i + 1}`;
    if (!raw || typeof raw !== 'object' || !raw.apiVersion || !raw.kind || !raw.metadata?.name) {
      problems.push(`${where}: needs apiVersion, kind and metadata.name`);
      continue;
    }
    const object = structuredClone(raw);
    const isNamespaced = await namespaced(object.apiVersion, object.kind).catch(() => {
      problems.push(`${where} (${object.kind}/${object.metadata.name}): the cluster does not serve ${object.kind} in ${object.apiVersion}`);
      return false;
    });
    if (isNamespaced) {
      if (object.metadata.namespace && object.metadata.namespace !== namespace) {
        problems.push(`${object.kind}/${object.metadata.name}: namespace ${object.metadata.namespace} is not the release's namespace ${namespace}`);
      }
      object.metadata.namespace = namespace;
    } else {
      delete object.metadata.namespace;
      if (object.kind === 'Namespace' && object.metadata.name !== namespace) {
        problems.push(`Namespace/${object.metadata.name}: a release may only contain its own namespace (${namespace})`);
      }
    }
    const key = `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    if (seen.has(key)) problems.push(`${object.kind}/${object.metadata.name}: listed twice`);
    seen.add(key);
    out.push(withOwnership(object, { namespace, release }));
  }
  if (out.length === 0 && problems.length === 0) problems.push('no objects to deploy');
  if (problems.length > 0) throw new UsageError(`invalid manifests:\n  ${problems.join('\n  ')}`);
  // Namespaces first, whatever order they came in.
  return [...out.filter((o) => o.kind === 'Namespace'), ...out.filter((o) => o.kind !== 'Namespace')];
}

/** sha256 of the manifests' JSON. */
export function manifestDigest(objects: readonly KubeObject[]): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(objects)).digest('hex')}`;
}

/** Every container image the manifests name, sorted and unique. */
export function imagesOf(objects: readonly KubeObject[]): string[] {
  const images = new Set<string>();
  for (const o of objects) {
    const spec = (o as { spec?: { template?: { spec?: { containers?: { image?: string }[]; initContainers?: { image?: string }[] } } } }).spec?.template?.spec;
    for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) if (c.image) images.add(c.image);
  }
  return [...images].sort();
}
