import { stringify } from 'yaml';
import type { KubernetesObject } from './kubernetes-object.js';

/** Multi-document YAML of `objects`, in their order, one document each. */
export function toYaml(objects: readonly KubernetesObject[]): string {
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0, sortMapEntries: false })}`).join('');
}
