import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../src/kube/objects.js';
import { currentRevision, everyObject, ownedBy, pruneCandidates } from '../src/release/inventory.js';
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
  const obj = (labels: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels } });
  it.each([
    [{ 'app.kubernetes.io/managed-by': 'castle', 'castle.dev/release': 'castle' }, true],
    [{ 'app.kubernetes.io/managed-by': 'castle', 'castle.dev/release': 'other' }, false],
    [{ 'app.kubernetes.io/managed-by': 'Helm', 'castle.dev/release': 'castle' }, false],
    [{}, false],
  ])('labels %j mean owned by release castle: %s', (labels, owned) => {
    expect(ownedBy(obj(labels), 'castle')).toBe(owned);
  });
});

describe('destroy order', () => {
  it('deletes Namespaces after everything else', () => {
    expect(everyObject([record(1, 'succeeded', [ns, cm('a')])]).map((r) => r.kind)).toEqual(['ConfigMap', 'Namespace']);
  });
});
