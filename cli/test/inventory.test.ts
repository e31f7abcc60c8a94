import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../src/kube/objects.js';
import { currentRevision, describeOwner, everyObject, otherOwner, ownedBy, pruneCandidates } from '../src/release/inventory.js';
import { cm, record } from './fixtures.js';

const ns = { apiVersion: 'v1', kind: 'Namespace', name: 'ns' };

describe('prune candidates', () => {
  it('are the current revision’s objects that the new manifests no longer contain', () => {
    const records = [record(2, 'succeeded', [cm('a'), cm('b')]), record(1, 'superseded', [cm('old')])];
    expect(pruneCandidates(records, [cm('a')])).toEqual([cm('b')]);
  });

  it('include what a later failed revision created, so a rollback removes it', () => {
    const records = [record(3, 'failed', [cm('a'), cm('only-in-failed')]), record(2, 'succeeded', [cm('a')])];
    expect(pruneCandidates(records, [cm('a')])).toEqual([cm('only-in-failed')]);
  });

  it('never include a Namespace', () => {
    expect(pruneCandidates([record(1, 'succeeded', [ns, cm('a')])], [cm('a')])).toEqual([]);
  });

  it('ignore the API version: moving an object to a new version is not a prune', () => {
    const hpa1 = { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', namespace: 'ns', name: 'www' };
    const hpa2 = { ...hpa1, apiVersion: 'autoscaling/v2' };
    expect(pruneCandidates([record(1, 'succeeded', [hpa1])], [hpa2])).toEqual([]);
  });
});

describe('the current revision', () => {
  it('is the newest succeeded one, not a newer failed one', () => {
    expect(currentRevision([record(3, 'failed'), record(2, 'succeeded'), record(1, 'superseded')])?.revision).toBe(2);
  });

  it('is undefined before any deploy succeeded', () => {
    expect(currentRevision([record(1, 'failed')])).toBeUndefined();
  });
});

describe('ownership', () => {
  const castle = { 'app.kubernetes.io/managed-by': 'castle', 'castle.dev/release': 'castle' };
  const obj = (labels: Record<string, string>, { namespace, kind = 'ConfigMap', name = 'x', owner }: { namespace?: string; kind?: string; name?: string; owner?: string } = {}): KubeObject => ({
    apiVersion: 'v1',
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), labels, ...(owner ? { annotations: { 'castle.dev/owner': owner } } : {}) },
  });
  it.each<[string, boolean, KubeObject]>([
    ['a namespaced object labelled for release castle', true, obj(castle, { namespace: 'a' })],
    ['a namespaced object labelled for release other', false, obj({ ...castle, 'castle.dev/release': 'other' }, { namespace: 'a' })],
    ['a namespaced object labelled by Helm', false, obj({ ...castle, 'app.kubernetes.io/managed-by': 'Helm' }, { namespace: 'a' })],
    ['an unlabelled object', false, obj({}, { namespace: 'a' })],
    ['a cluster-scoped object annotated a/castle', true, obj(castle, { kind: 'PriorityClass', owner: 'a/castle' })],
    ['a cluster-scoped object annotated b/castle', false, obj(castle, { kind: 'PriorityClass', owner: 'b/castle' })],
    ['a cluster-scoped object labelled but not annotated (an older castle)', false, obj(castle, { kind: 'PriorityClass' })],
    ['the release’s own Namespace, labelled but not annotated', true, obj(castle, { kind: 'Namespace', name: 'a' })],
    ['another Namespace, labelled but not annotated', false, obj(castle, { kind: 'Namespace', name: 'b' })],
    ['a cluster-scoped object annotated a/castle without the labels', false, obj({}, { kind: 'PriorityClass', owner: 'a/castle' })],
  ])('%s is release castle of namespace a’s to delete: %s', (_, owned, object) => {
    expect(ownedBy(object, { namespace: 'a', release: 'castle' })).toBe(owned);
  });

  it.each<[string, string | undefined, KubeObject]>([
    ['annotated b/castle', 'release castle in namespace b', obj(castle, { kind: 'PriorityClass', owner: 'b/castle' })],
    ['labelled for release web by an older castle', 'release web (its namespace not recorded)', obj({ ...castle, 'castle.dev/release': 'web' }, { kind: 'PriorityClass' })],
    ['labelled for release castle by an older castle (maybe a’s own)', undefined, obj(castle, { kind: 'PriorityClass' })],
    ['annotated a/castle', undefined, obj(castle, { kind: 'PriorityClass', owner: 'a/castle' })],
    ['without castle’s marks', undefined, obj({ team: 'ops' }, { kind: 'PriorityClass' })],
  ])('a live PriorityClass %s belongs to another release than castle of namespace a: %s', (_, other, object) => {
    const owner = otherOwner(object, { namespace: 'a', release: 'castle' });
    expect(owner && describeOwner(owner)).toBe(other);
  });
});

describe('destroy order', () => {
  it('deletes Namespaces after everything else', () => {
    expect(everyObject([record(1, 'succeeded', [ns, cm('a')])]).map((r) => r.kind)).toEqual(['ConfigMap', 'Namespace']);
  });
});
