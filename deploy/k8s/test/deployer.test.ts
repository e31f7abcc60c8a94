/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any -- rendered objects are untyped JSON, read field by field */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CASTLE_RESOURCES, castleKinds, deployerRules, DEFAULT_PROMETHEUS_SERVICE, environmentNames, ManifestError, render, renderDeployer, type DeployerRule, type KubernetesObject } from '../src/index.js';
import { withDeployerRulesTable } from '../src/deployer-table.js';
import { only } from './support.js';

const rulesOf = (o: any): DeployerRule[] => o.rules;

describe('renderDeployer', () => {
  it('emits the deployer identity and its grants in install order: namespaces, ServiceAccount, cluster rules, Roles and their bindings', () => {
    const objects = renderDeployer({ env: 'local' });
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual([
      'Namespace//castle-deployer',
      'Namespace//castle',
      'ServiceAccount/castle-deployer/castle-deployer',
      'ClusterRole//castle-deployer:castle',
      'ClusterRoleBinding//castle-deployer:castle',
      'Role/castle/castle-deployer',
      'RoleBinding/castle/castle-deployer',
      'Role/monitoring/castle-deployer:castle',
      'RoleBinding/monitoring/castle-deployer:castle',
    ]);
    for (const binding of objects.filter((o) => o.kind.endsWith('Binding'))) {
      expect((binding as any).subjects).toEqual([{ kind: 'ServiceAccount', name: 'castle-deployer', namespace: 'castle-deployer' }]);
      expect((binding as any).roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: binding.kind === 'ClusterRoleBinding' ? 'ClusterRole' : 'Role', name: binding.metadata.name });
    }
    // The release's Namespace bare: castle applies its labels, and owns them.
    expect(only(objects, 'Namespace', 'castle').metadata).toEqual({ name: 'castle', labels: { 'app.kubernetes.io/part-of': 'castle', 'app.kubernetes.io/component': 'deployer' } });
  });

  it('is not part of what a deploy applies: render() has none of its objects', () => {
    for (const env of environmentNames) {
      const kinds = render({ env, version: '1.2.3' }).map((o) => o.kind);
      expect(kinds.filter((k) => ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(k))).toEqual([]);
    }
  });

  it.each(environmentNames)('%s: grants every namespaced kind it renders get, create, patch and delete in the release namespace only', (env) => {
    const role = only(renderDeployer({ env }), 'Role', 'castle-deployer');
    expect(role.metadata.namespace).toBe('castle');
    const rendered = render({ env, version: '1.2.3' }).filter((o) => o.kind !== 'Namespace');
    for (const kind of new Set(rendered.map((o) => o.kind))) {
      const { resource } = CASTLE_RESOURCES[kind] ?? { resource: '?' };
      const group = (rendered.find((o) => o.kind === kind) as KubernetesObject).apiVersion.split('/').slice(0, -1).join('/');
      const rule = rulesOf(role).find((r) => r.resources?.includes(resource) && r.apiGroups?.includes(group));
      expect(rule?.verbs, kind).toEqual(expect.arrayContaining(['get', 'create', 'patch', 'delete']));
    }
    const scaled = rulesOf(role).some((r) => r.resources?.includes('scaledobjects'));
    expect(scaled).toBe(env.startsWith('production'));
  });

  it('never grants a wildcard, and restricts the cluster-scoped Namespace rules to the two namespaces by name', () => {
    const objects = renderDeployer({ env: 'production' });
    for (const o of objects.filter((x) => 'rules' in x)) {
      for (const rule of rulesOf(o)) {
        for (const field of [rule.apiGroups, rule.resources, rule.verbs, rule.nonResourceURLs]) expect(field ?? []).not.toContain('*');
      }
    }
    const cluster = rulesOf(only(objects, 'ClusterRole'));
    const namespaces = cluster.filter((r) => r.resources?.includes('namespaces'));
    expect(namespaces.map((r) => [r.resourceNames, r.verbs])).toEqual([
      [['castle'], ['get', 'patch']],
      [['castle'], ['delete']],
      [['monitoring'], ['get']],
    ]);
    expect(namespaces.every((r) => !r.verbs.includes('create') && !r.verbs.includes('list'))).toBe(true);
  });

  it('lets discovery reach exactly the group versions castle asks about', () => {
    const discovery = rulesOf(only(renderDeployer({ env: 'production' }), 'ClusterRole')).find((r) => r.nonResourceURLs);
    expect(discovery).toMatchObject({ verbs: ['get'] });
    expect([...(discovery?.nonResourceURLs ?? [])].sort()).toEqual(
      [
        '/version',
        '/api/v1',
        '/apis',
        '/apis/apps/v1',
        '/apis/authorization.k8s.io/v1',
        '/apis/autoscaling/v2',
        '/apis/coordination.k8s.io/v1',
        '/apis/keda.sh/v1alpha1',
        '/apis/monitoring.coreos.com/v1',
        '/apis/networking.k8s.io/v1',
        '/apis/policy/v1',
      ].sort(),
    );
  });

  it("grants the Prometheus Service's proxy by name, in Prometheus' namespace only", () => {
    const role = only(renderDeployer({ env: 'local' }), 'Role', 'castle-deployer:castle');
    expect(role.metadata.namespace).toBe(DEFAULT_PROMETHEUS_SERVICE.namespace);
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['services/proxy'], resourceNames: ['prometheus:9090'], verbs: ['get'] }]);
    const other = only(renderDeployer({ env: 'local', prometheus: { namespace: 'obs', service: 'prom', port: 80 } }), 'Role', 'castle-deployer:castle');
    expect([other.metadata.namespace, other.rules[0].resourceNames]).toEqual(['obs', ['prom:80']]);
  });

  it('follows the namespace and the ServiceAccount it is given', () => {
    const objects = renderDeployer({ env: 'staging', namespace: 'castle-review', serviceAccount: { namespace: 'ci', name: 'deployer' } });
    expect(only(objects, 'Role', 'castle-deployer').metadata.namespace).toBe('castle-review');
    expect(only(objects, 'ClusterRole').metadata.name).toBe('castle-deployer:castle-review');
    expect(only(objects, 'ServiceAccount').metadata).toMatchObject({ name: 'deployer', namespace: 'ci' });
    expect(only<{ subjects: unknown }>(objects, 'RoleBinding', 'castle-deployer').subjects).toEqual([{ kind: 'ServiceAccount', name: 'deployer', namespace: 'ci' }]);
  });

  it.each([
    [{ serviceAccount: { namespace: 'castle', name: 'castle-deployer' } }, 'serviceAccount.namespace: must not be the release\'s namespace "castle" (castle destroy deletes it, and the token with it), got "castle"'],
    [{ serviceAccount: { namespace: 'ci', name: 'Bad_Name' } }, 'serviceAccount.name: must be a DNS label'],
    [{ prometheus: { namespace: 'monitoring', service: 'prometheus', port: 0 } }, 'prometheus.port: must be ≥ 1, got 0'],
    [{ env: 'nowhere' }, 'env: must be one of'],
  ])('refuses %j naming the prop', (change, message) => {
    const error = (() => {
      try {
        renderDeployer({ env: 'local', ...change });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ManifestError);
    expect((error as ManifestError).problems.join('\n')).toContain(message);
  });
});

describe('deployerRules', () => {
  it('derives the release-namespace rules from the kinds it is given, plus what castle itself reads and writes', () => {
    const rules = deployerRules({ namespace: 'shop', kinds: [{ apiVersion: 'batch/v1', kind: 'Job', resource: 'jobs', namespaced: true }] });
    const inShop = rules.filter((r) => r.namespace === 'shop').map((r) => `${r.apiGroups?.join(',')}/${r.resources?.join(',')}: ${r.verbs.join(',')}`);
    expect(inShop).toEqual([
      'batch/jobs: get,create,patch,delete',
      'autoscaling/horizontalpodautoscalers: list',
      '/secrets: get,list,create,update,patch,delete',
      'coordination.k8s.io/leases: get,create,update,delete',
      'apps/replicasets: list',
      '/pods: list',
      '/pods/log: get',
      '/pods/proxy: get',
      '/services/proxy: get',
      '/events: list',
    ]);
    // Without a Namespace among the kinds, castle only reads the release's.
    expect(rules.filter((r) => r.resources?.includes('namespaces') && r.resourceNames?.includes('shop')).map((r) => r.verbs)).toEqual([['get']]);
  });

  it('says why and for which commands, for every rule', () => {
    for (const rule of deployerRules({ namespace: 'castle', kinds: castleKinds(render({ env: 'production', version: '1.2.3' })) })) {
      expect(rule.why.length, JSON.stringify(rule)).toBeGreaterThan(20);
      expect(rule.commands.length).toBeGreaterThan(0);
    }
  });

  it('knows the resource of every kind any environment renders', () => {
    const kinds = new Set<string>();
    for (const env of environmentNames) {
      for (const autoscaler of ['keda', 'hpa', 'none'] as const) {
        let objects: KubernetesObject[];
        try {
          objects = render({ env, version: '1.2.3', autoscaling: { autoscaler } });
        } catch (error) {
          // A combination the capacity model refuses (staging's wait bound with an autoscaler).
          if (error instanceof ManifestError) continue;
          throw error;
        }
        for (const k of castleKinds(objects)) kinds.add(k.kind);
      }
    }
    expect([...kinds].sort()).toEqual(Object.keys(CASTLE_RESOURCES).sort());
    expect(() => castleKinds([{ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'x' } }])).toThrow(/no resource known for kind Job/);
  });
});

describe("cli/README.md's table of the deployer's permissions", () => {
  it('is current (npm run synth)', () => {
    const readme = readFileSync(new URL('../../../cli/README.md', import.meta.url), 'utf8');
    expect(withDeployerRulesTable(readme)).toBe(readme);
  });
});
