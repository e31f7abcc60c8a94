/**
 * Deploys Castle's manifests as `castle render --env local` makes them (Deployments,
 * Services with www of type LoadBalancer, NetworkPolicies) into a test namespace, with
 * the images the cluster has loaded for each tier.
 */
import { readFileSync } from 'node:fs';
import { KubernetesObjectApi, loadYaml, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { render, type KubernetesObject } from '@castle/k8s';
import { dumpDiagnostics } from './cluster.js';
import { waitForRollout } from './cluster-rollout.js';
import { imageFor } from './tier-manifests.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** RFC 850 date as the backend answers it (`/` of www relays it). */
export const RFC850 = /^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/;

type Workload = KubernetesObject & { spec: { template: { spec: { containers: Array<{ name: string; image: string }> } } } };

/** The rendered object, with the image the cluster has loaded for its tier. */
function withLoadedImage(object: KubernetesObject): KubernetesObject {
  if (object.kind !== 'Deployment') return object;
  const copy = structuredClone(object) as Workload;
  for (const c of copy.spec.template.spec.containers) c.image = imageFor(c.name);
  return copy;
}

/**
 * The object as the client library's model of its kind. `KubernetesObjectApi` serializes
 * what it sends through that model, which names a few fields differently from the wire
 * (a NetworkPolicy rule's `from` is `_from`): sent as is, a plain object loses them, and
 * `allow-backend-ingress` would arrive without its `from` and let every pod in. Loading
 * it through `loadYaml` (JSON is YAML) maps the wire names to the model's.
 */
export function asModel(object: KubernetesObject): KubernetesObject {
  return loadYaml<KubernetesObject>(JSON.stringify(object));
}

/**
 * Render the local environment into `namespace`, apply it (server-side) and wait until
 * every Deployment has rolled out. Dumps the namespace's diagnostics before rethrowing.
 * @returns the applied objects
 */
export async function deployRenderedLocal(kc: KubeConfig, namespace: string): Promise<KubernetesObject[]> {
  const objects = render({ env: 'local', version, namespace });
  const client = KubernetesObjectApi.makeApiClient(kc);
  try {
    for (const object of objects) {
      await client.patch(asModel(withLoadedImage(object)), undefined, undefined, 'castle', true, PatchStrategy.ServerSideApply);
    }
    for (const d of objects.filter((o) => o.kind === 'Deployment')) await waitForRollout(kc, namespace, d.metadata.name);
  } catch (err) {
    await dumpDiagnostics(namespace, kc);
    throw err;
  }
  return objects;
}
