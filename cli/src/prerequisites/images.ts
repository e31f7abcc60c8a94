import type { Kube } from '../kube/client.js';
import type { KubeObject } from '../kube/objects.js';
import { imagesOf } from '../manifests.js';
import { normalizeImage, parseImage, registryHas } from './registry.js';
import { type Prerequisite, type PrerequisiteDeps, type PrerequisiteInput, unknownBecause } from './types.js';

interface Node extends KubeObject {
  status?: { images?: { names?: string[] }[] };
}

/** The kubelet reports at most this many images per node (nodeStatusMaxImages), largest first. */
export const NODE_IMAGES_LISTED = 50;

/**
 * Whether every image of the manifests can run: on a node already (the nodes' `status.images`),
 * or — for an image with a registry — in that registry ({@link registryHas}). An image without
 * a registry (`castle/www:1.4.2`) is one loaded into the cluster, as on the hermetic cluster:
 * nothing pulls it, so it must be on a node. A node listing {@link NODE_IMAGES_LISTED} images may
 * have more, so an image not among them is then unknown, not missing.
 */
export async function checkImages(kube: Kube, input: PrerequisiteInput, deps: PrerequisiteDeps = {}): Promise<Prerequisite[]> {
  const images = imagesOf(input.objects);
  if (images.length === 0) return [];
  let nodes: Node[] | undefined;
  let nodesUnreadable: string | undefined;
  try {
    nodes = await kube.list<Node>('v1', 'Node', '');
  } catch (error) {
    nodesUnreadable = unknownBecause(error);
  }
  const onNodes = new Map<string, string[]>();
  for (const node of nodes ?? []) {
    for (const name of (node.status?.images ?? []).flatMap((i) => i.names ?? [])) {
      const key = normalizeImage(name);
      onNodes.set(key, [...(onNodes.get(key) ?? []), node.metadata.name]);
    }
  }
  const truncated = (nodes ?? []).filter((n) => (n.status?.images?.length ?? 0) >= NODE_IMAGES_LISTED).map((n) => n.metadata.name);
  const fetchImpl = deps.fetch ?? globalThis.fetch;
  const out: Prerequisite[] = [];
  for (const image of images) {
    const what = `image ${image}`;
    const where = onNodes.get(normalizeImage(image));
    if (where) {
      out.push({ check: 'images', what, status: 'ok', detail: `on node ${[...new Set(where)].join(', ')}` });
      continue;
    }
    const nodesSay = nodesUnreadable ? `the nodes' images cannot be read (${nodesUnreadable})` : truncated.length > 0 ? `not among the ${NODE_IMAGES_LISTED} images node ${truncated.join(', ')} lists (it may have more)` : `not on any of the ${nodes?.length ?? 0} nodes`;
    if (!parseImage(image).explicitRegistry) {
      const sure = !nodesUnreadable && truncated.length === 0;
      out.push({
        check: 'images',
        what,
        status: sure ? 'missing' : 'unknown',
        detail: `${nodesSay}; an image without a registry is loaded into the cluster, not pulled`,
        fix: input.env === 'local' ? 'castle deploy --env local --build (builds the images and loads them), or npm run cluster:load -- <image> after building it' : 'load it into every node (npm run cluster:load -- <image> on the hermetic cluster), or render with --registry and push it there',
      });
      continue;
    }
    const pulled = await registryHas(image, fetchImpl, deps.registryTimeoutMs ?? 5000);
    out.push({
      check: 'images',
      what,
      status: pulled.status,
      detail: `${nodesSay}; ${pulled.detail}`,
      ...(pulled.status === 'missing' ? { fix: `push ${image} to ${parseImage(image).registry} (the release workflow does), or deploy a --version whose images are there` } : {}),
    });
  }
  return out;
}
