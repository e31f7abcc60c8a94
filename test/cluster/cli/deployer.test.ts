/**
 * castle run as the castle-deployer ServiceAccount, with a token bound only to the rules
 * renderDeployer() renders for `local` (what `castle rbac` prints and
 * deploy/k8s/rendered/local-deployer.yaml holds): every command works, and a token lacking one
 * rule is stopped before anything is written, naming the verb and resource. Needs the monitoring
 * add-on (`npm run cluster:addons -- monitoring`: the ServiceMonitor CRDs, Prometheus in its
 * labelled namespace) and the tiers' images loaded (`npm run cluster:load`).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationV1Api, CoreV1Api, KubeConfig as KubeConfigClass, type KubeConfig, type KubernetesObject as ClientObject, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { configMapName, type KubernetesObject, render, renderDeployer, toYaml } from '@castle/k8s';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { stringify } from 'yaml';
import { createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig } from '../../support/cluster.js';
import { asModel } from '../../support/rendered-deploy.js';
import { imageFor } from '../../support/tier-manifests.js';
import { buildCli, castle, exists, oneJson, snapshot } from './support.js';

const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

type Workload = KubernetesObject & { spec: { replicas?: number; template: { spec: { containers: { name: string; image: string; envFrom?: { configMapRef?: { name: string } }[] }[] } } } };

/**
 * Castle's local environment rendered into `namespace` with the loaded images, one replica a
 * tier, `WWW_LOG_LEVEL` as given (a change between revisions), as a YAML file. The rendered
 * ConfigMap is immutable and named by its content: a changed level is a new ConfigMap, named
 * as render() names it, with www's Deployment pointed at it, as a render of that level would be.
 */
function renderedManifests(namespace: string, logLevel = 'info'): string {
  const objects = render({ env: 'local', version, namespace }).map((object): KubernetesObject => {
    if (object.kind !== 'Deployment') return object;
    const copy = structuredClone(object) as Workload;
    copy.spec.replicas = 1;
    for (const c of copy.spec.template.spec.containers) c.image = imageFor(c.name);
    return copy;
  });
  const www = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'www') as Workload | undefined;
  const ref = www?.spec.template.spec.containers.find((c) => c.name === 'www')?.envFrom?.find((e) => e.configMapRef)?.configMapRef;
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref?.name) as (KubernetesObject & { data: Record<string, string> }) | undefined;
  if (!ref || !config) throw new Error('the rendered www Deployment reads no ConfigMap of the render');
  const data = { ...config.data, WWW_LOG_LEVEL: logLevel };
  ref.name = configMapName('www', data);
  const changed = objects.map((o) => (o === config ? { ...config, metadata: { ...config.metadata, name: ref.name }, data } : o));
  const file = join(mkdtempSync(join(tmpdir(), 'castle-deployer-')), 'castle.yaml');
  writeFileSync(file, toYaml(changed));
  return file;
}

/** A kubeconfig for the API server of `admin`'s current context that authenticates with `token`. */
function tokenKubeconfig(admin: KubeConfig, token: string): string {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no cluster');
  const ca = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
  const file = join(mkdtempSync(join(tmpdir(), 'castle-deployer-kc-')), 'kubeconfig');
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'cluster', cluster: { server: cluster.server, ...(ca ? { 'certificate-authority-data': ca } : {}), ...(cluster.skipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}) } }],
      users: [{ name: 'castle-deployer', user: { token } }],
      contexts: [{ name: 'castle-deployer', context: { cluster: 'cluster', user: 'castle-deployer' } }],
      'current-context': 'castle-deployer',
    }),
  );
  return file;
}

/** Wait until RBAC (its informers) answers `allowed` for the token's user: a Role's change takes a moment. */
async function untilAllowed(kubeconfig: string, attributes: { verb: string; group: string; resource: string; namespace: string }, allowed: boolean): Promise<void> {
  const kc = new KubeConfigClass();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(AuthorizationV1Api);
  const deadline = Date.now() + 30_000;
  while ((await api.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: attributes } } })).status?.allowed !== allowed) {
    if (Date.now() > deadline) throw new Error(`RBAC still answers ${!allowed} for ${JSON.stringify(attributes)} after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('castle as the castle-deployer ServiceAccount, bound only to the rendered rules', () => {
  let admin: KubeConfig;
  let namespace: string;
  let home: string;
  let deployer: KubernetesObject[] = [];
  let kubeconfig: string;
  const as = (args: string[]) => castle([...args, '--namespace', namespace, '--release', 'web'], { kubeconfig });
  const apply = async (objects: readonly KubernetesObject[]) => {
    const client = KubernetesObjectApi.makeApiClient(admin);
    for (const o of objects) await client.patch(asModel(o), undefined, undefined, 'castle-test-admin', true, PatchStrategy.ServerSideApply);
  };

  beforeAll(async () => {
    buildCli();
    admin = loadKubeConfig();
    namespace = await createTestNamespace('castle-rbac', admin);
    home = await createTestNamespace('castle-rbac-sa', admin);
    deployer = renderDeployer({ env: 'local', namespace, serviceAccount: { namespace: home, name: 'castle-deployer' } });
    await apply(deployer);
    const request = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ name: 'castle-deployer', namespace: home, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    kubeconfig = tokenKubeconfig(admin, request.status?.token ?? '');
  });

  afterAll(async () => {
    const client = KubernetesObjectApi.makeApiClient(admin);
    // The cluster-scoped grants and the Role in Prometheus' namespace outlive the test namespaces.
    for (const o of deployer.filter((x) => x.kind.startsWith('Cluster') || (x.kind.startsWith('Role') && x.metadata.namespace !== namespace))) {
      await client.delete(o as ClientObject).catch(() => undefined);
    }
    if (namespace) await deleteNamespace(namespace, { kc: admin });
    if (home) await deleteNamespace(home, { kc: admin });
  });

  it('doctor finds everything there, its own permissions included', async () => {
    const run = await as(['doctor', '--manifests', renderedManifests(namespace), '--output', 'json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const prerequisites = (oneJson(run.stdout).result as { prerequisites: { check: string; status: string }[] }).prerequisites;
    expect(prerequisites).toContainEqual(expect.objectContaining({ check: 'permissions', status: 'ok' }));
    expect(prerequisites.filter((p) => p.status === 'missing')).toEqual([]);
  });

  it('deploys, twice, with nothing refused', async () => {
    onTestFailed(() => dumpDiagnostics(namespace, admin).then(() => undefined));
    for (const [v, level] of [['1.0.0', 'info'], ['1.0.1', 'warn']] as const) {
      const run = await as(['deploy', '--version', v, '--manifests', renderedManifests(namespace, level)]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).not.toMatch(/forbidden|cannot \w+ resource/);
      expect(run.stderr).toMatch(/✓ Smoke check/);
    }
  });

  it('status reads the Deployments and asks Prometheus through the service proxy', async () => {
    const run = await as(['status', '--output', 'json']);
    expect(run.code, run.stderr).toBe(0);
    const result = oneJson(run.stdout).result as { current: { revision: number }; traffic: { tiers?: unknown[]; unavailable?: string } };
    expect(result.current.revision).toBe(2);
    expect(result.traffic.unavailable).toBeUndefined();
    expect(result.traffic.tiers).toHaveLength(2);
  });

  it('history, diff and rollback work', async () => {
    const history = await as(['history', '--output', 'json']);
    expect(history.code, history.stderr).toBe(0);
    expect((oneJson(history.stdout).result as { revisions: unknown[] }).revisions).toHaveLength(2);
    const diff = await as(['diff', '--version', '1.0.2', '--manifests', renderedManifests(namespace, 'debug')]);
    expect(diff.code, diff.stderr).toBe(3);
    const rollback = await as(['rollback']);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stderr).not.toMatch(/forbidden/);
  });

  it('a token lacking one rule is stopped before anything is written, naming the verb and resource', async () => {
    const role = deployer.find((o) => o.kind === 'Role' && o.metadata.namespace === namespace) as KubernetesObject & { rules: { resources?: string[]; verbs: string[] }[] };
    const lacking = { ...role, rules: role.rules.map((r) => (r.resources?.includes('networkpolicies') ? { ...r, verbs: r.verbs.filter((v) => v !== 'patch') } : r)) };
    const patchPolicies = { verb: 'patch', group: 'networking.k8s.io', resource: 'networkpolicies', namespace };
    await apply([lacking]);
    try {
      await untilAllowed(kubeconfig, patchPolicies, false);
      const before = await snapshot(admin, namespace);
      const run = await as(['deploy', '--version', '1.0.3', '--manifests', renderedManifests(namespace, 'error')]);
      expect(run.code, run.stderr).toBe(8);
      expect(run.stderr).toMatch(new RegExp(`permission patch networkpolicies\\.networking\\.k8s\\.io in namespace ${namespace}: not granted`));
      expect(await snapshot(admin, namespace)).toEqual(before);
    } finally {
      await apply([role]);
      await untilAllowed(kubeconfig, patchPolicies, true);
    }
  });

  it('destroy deletes the release, its Namespace last', async () => {
    const run = await as(['destroy', '--yes']);
    expect(run.code, run.stderr).toBe(0);
    // The lock's Lease goes with the Namespace, and so does the Role that lets castle delete it.
    expect(run.stderr).not.toMatch(/forbidden|releasing the lock failed/);
    expect(await exists(admin, 'v1', 'Namespace', '', namespace)).toBe(false);
  });
});
