import type { ObjectRef } from '../src/kube/objects.js';
import type { ReleaseRecord, ReleaseStatus } from '../src/release/record.js';

/** A ConfigMap reference. */
export const cm = (name: string): ObjectRef => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name });

/** A release record with the given revision, status and inventory. */
export function record(revision: number, status: ReleaseStatus, inventory: ObjectRef[] = [], digest = `d${revision}`): ReleaseRecord {
  return {
    release: 'castle',
    namespace: 'ns',
    revision,
    version: `1.0.${revision}`,
    manifestDigest: digest,
    images: [],
    inventory,
    manifests: inventory.map((r) => ({ apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name, namespace: r.namespace } })),
    status,
    who: 'me@here',
    startedAt: '2026-01-01T00:00:00Z',
  };
}
