import { describe, expect, it } from 'vitest';
import { withoutOwnedReplicas } from '../src/apply/apply.js';
import { changedPaths, comparable } from '../src/engine/diff.js';
import { managerOf } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/objects.js';

const deployment: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'www' }, spec: { replicas: 2, template: {} } };

describe('replicas under an autoscaler', () => {
  it('are dropped from a Deployment an HPA targets', () => {
    expect(withoutOwnedReplicas(deployment, new Set(['www'])).spec).toEqual({ template: {} });
    expect(deployment.spec).toEqual({ replicas: 2, template: {} });
  });

  it('are kept on Deployments no HPA targets', () => {
    expect(withoutOwnedReplicas(deployment, new Set(['backend']))).toBe(deployment);
  });
});

describe('diff', () => {
  it('ignores what the server changes on every write', () => {
    const live = { ...deployment, metadata: { name: 'www', resourceVersion: '1', generation: 1, managedFields: [], uid: 'u' }, status: { replicas: 2 } };
    const planned = { ...deployment, metadata: { name: 'www', resourceVersion: '2', generation: 2, managedFields: [{}], uid: 'u' } };
    expect(changedPaths(comparable(live), comparable(planned))).toEqual([]);
  });

  it('names the changed field paths', () => {
    const a = { spec: { template: { spec: { containers: [{ image: 'a' }] } }, replicas: 1 } };
    const b = { spec: { template: { spec: { containers: [{ image: 'b' }] } }, replicas: 1 } };
    expect(changedPaths(a, b)).toEqual(['spec.template.spec.containers[0].image']);
  });
});

describe('field-manager conflicts', () => {
  it('name the other manager from the API’s cause message', () => {
    expect(managerOf('conflict with "kubectl-edit" using apps/v1')).toBe('kubectl-edit');
  });
});
