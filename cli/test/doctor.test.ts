import { DEFAULT_PROMETHEUS_SERVICE, render, renderDeployer } from '@castle/k8s';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT_CODES } from '../src/errors.js';
import { Kube } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/objects.js';
import { run } from '../src/program.js';
import { checkPrerequisites } from '../src/prerequisites/check.js';
import { normalizeImage, parseImage } from '../src/prerequisites/registry.js';
import type { CheckName, Prerequisite } from '../src/prerequisites/types.js';
import { renderSource } from '../src/render-source.js';
import { kubeConfigFor } from './fake-api.js';
import { type Feature, type FakeServer, startFakeServer } from './fake-rbac-server.js';
import { grantsOf } from './rbac.js';

const NS = 'castle';

interface World {
  readonly env?: string;
  readonly registry?: string;
  readonly features?: readonly Feature[];
  /** Labels of the monitoring namespace; null: no such namespace. */
  readonly monitoring?: Record<string, string> | null;
  /** Image names on the one node. */
  readonly nodeImages?: readonly string[];
  /** Extra objects already in the cluster. */
  readonly live?: readonly KubeObject[];
  /** The deployer's rules, with `change` applied to the list of grants. */
  readonly grants?: (all: ReturnType<typeof grantsOf>) => ReturnType<typeof grantsOf>;
  readonly fetch?: typeof fetch;
}

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function world(w: World = {}): Promise<FakeServer> {
  const env = w.env ?? 'local';
  const all = grantsOf(renderDeployer({ env, namespace: NS }) as KubeObject[]);
  const server = await startFakeServer({ features: w.features ?? ['monitoring', 'metallb', 'keda', 'awsLoadBalancerController'], grants: w.grants ? w.grants(all) : all });
  servers.push(server);
  server.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  if (w.monitoring !== null) server.seed({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'monitoring', labels: w.monitoring ?? { 'castle.dev/monitoring': 'true' } } });
  const images = w.nodeImages ?? ['docker.io/castle/www:1.0.0', 'docker.io/castle/backend:1.0.0'];
  server.seed({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, status: { images: images.map((n) => ({ names: [n] })) } });
  server.seed(...(w.live ?? []));
  return server;
}

async function check(w: World = {}): Promise<Prerequisite[]> {
  const server = await world(w);
  const env = w.env ?? 'local';
  const objects = render({ env, version: '1.0.0', namespace: NS, ...(w.registry ? { registry: w.registry } : {}) }) as unknown as KubeObject[];
  const fetchImpl = w.fetch ?? (() => Promise.reject(new Error('no network in unit tests')));
  return checkPrerequisites(new Kube(kubeConfigFor(server.url)), { env, namespace: NS, objects, prometheus: DEFAULT_PROMETHEUS_SERVICE }, { fetch: fetchImpl, registryTimeoutMs: 500 });
}

const of = (found: readonly Prerequisite[], name: CheckName, what?: RegExp): Prerequisite[] => found.filter((p) => p.check === name && (!what || what.test(p.what)));

/** A registry answering HEAD for the manifests it has (`repository:tag`), behind a bearer-token challenge when `token` is set. */
function registry(has: readonly string[], { token, status }: { token?: string; status?: number } = {}): typeof fetch {
  return vi.fn((input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (url.pathname === '/token') return Promise.resolve(Response.json({ token }));
    const authorized = !token || new Headers(init?.headers).get('authorization') === `Bearer ${token}`;
    if (!authorized) {
      return Promise.resolve(new Response(null, { status: 401, headers: { 'www-authenticate': `Bearer realm="https://${url.host}/token",service="${url.host}",scope="repository:x:pull"` } }));
    }
    if (status) return Promise.resolve(new Response(null, { status }));
    const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
    return Promise.resolve(new Response(null, { status: m && has.includes(`${m[1]}:${m[2]}`) ? 200 : 404 }));
  });
}

describe('castle doctor: the kinds the manifests apply', () => {
  it.each<[string, World, RegExp, Prerequisite['status'], RegExp?]>([
    ["the Prometheus Operator's CRDs, installed", {}, /Prometheus Operator's CRDs: ServiceMonitor \(monitoring\.coreos\.com\/v1\), PrometheusRule/, 'ok'],
    ["the Prometheus Operator's CRDs, absent", { features: ['metallb'] }, /Prometheus Operator's CRDs/, 'missing', /npm run cluster:addons -- monitoring.*kube-prometheus-stack/],
    ["KEDA's CRDs, installed, for production's ScaledObjects", { env: 'production' }, /KEDA's CRDs: ScaledObject \(keda\.sh\/v1alpha1\)/, 'ok'],
    ["KEDA's CRDs, absent", { env: 'production', features: ['monitoring', 'awsLoadBalancerController'] }, /KEDA's CRDs/, 'missing', /npm run cluster:addons -- keda.*helm install keda kedacore\/keda/],
  ])('%s', async (_, w, what, status, fix) => {
    const [found, ...more] = of(await check(w), 'kinds', what);
    expect(more).toEqual([]);
    expect(found).toMatchObject({ status, ...(fix ? { fix: expect.stringMatching(fix) } : {}) });
  });

  it('does not ask about KEDA for an environment without ScaledObjects', async () => {
    expect(of(await check(), 'kinds', /KEDA/)).toEqual([]);
    expect(of(await check(), 'kinds', /Kubernetes kinds/)).toMatchObject([{ status: 'ok' }]);
  });
});

describe("castle doctor: Prometheus' namespace admitted to the metrics ports", () => {
  it.each<[string, World, Prerequisite['status'], RegExp, RegExp?]>([
    ['labelled as the NetworkPolicy admits', {}, 'ok', /carries castle\.dev\/monitoring=true/],
    ['without the label', { monitoring: { team: 'obs' } }, 'missing', /lacks castle\.dev\/monitoring=true/, /^kubectl label namespace monitoring castle\.dev\/monitoring=true$/],
    ['absent', { monitoring: null }, 'missing', /namespace monitoring does not exist/, /npm run cluster:addons -- monitoring/],
  ])('%s', async (_, w, status, detail, fix) => {
    expect(of(await check(w), 'metrics-scrape')).toEqual([
      expect.objectContaining({ what: expect.stringMatching(/NetworkPolicy allow-metrics-scrape/), status, detail: expect.stringMatching(detail), ...(fix ? { fix: expect.stringMatching(fix) } : {}) }),
    ]);
  });
});

describe('castle doctor: a load balancer for www', () => {
  const addressed: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'www', namespace: NS }, spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ ip: '198.18.2.1' }] } } };
  it.each<[string, World, Prerequisite['status'], RegExp, RegExp?]>([
    ['MetalLB installed', { features: ['monitoring', 'metallb'] }, 'ok', /^MetalLB \(metallb\.io\) installed$/],
    ['no known implementation, no address: cannot tell', { features: ['monitoring'] }, 'unknown', /none of metallb\.io, elbv2\.k8s\.aws/, /MetalLB/],
    ['the Service already has an address', { features: ['monitoring'], live: [addressed] }, 'ok', /has the address 198\.18\.2\.1/],
    ['AWS NLB annotations with the AWS Load Balancer Controller', { env: 'staging' }, 'ok', /AWS Load Balancer Controller is installed/],
    ['AWS NLB annotations without it', { env: 'staging', features: ['monitoring', 'metallb'] }, 'missing', /ask for the AWS Load Balancer Controller/, /helm install aws-load-balancer-controller eks\/aws-load-balancer-controller/],
  ])('%s', async (_, w, status, detail, fix) => {
    expect(of(await check(w), 'load-balancer')).toEqual([
      expect.objectContaining({ what: 'a load balancer for Service www (type LoadBalancer)', status, detail: expect.stringMatching(detail), ...(fix ? { fix: expect.stringMatching(fix) } : {}) }),
    ]);
  });
});

describe('castle doctor: the images', () => {
  const full = (n: number) => Array.from({ length: n }, (_, i) => `docker.io/other/image:${i}`);
  it.each<[string, World, Prerequisite['status'], RegExp, RegExp?]>([
    ['loaded on a node', {}, 'ok', /on node node-1/],
    ['not loaded: an image without a registry is never pulled', { nodeImages: [] }, 'missing', /not on any of the 1 nodes; an image without a registry is loaded into the cluster/, /castle deploy --env local --build/],
    ['not among the 50 a node lists: it may have more', { nodeImages: full(50) }, 'unknown', /not among the 50 images node node-1 lists/],
    ['in the registry', { registry: 'registry.example.com', fetch: registry(['castle/www:1.0.0', 'castle/backend:1.0.0']) }, 'ok', /registry\.example\.com has it \(HEAD https:\/\/registry\.example\.com\/v2\/castle\/www\/manifests\/1\.0\.0 answered 200/],
    ['in the registry, behind its token flow', { registry: 'registry.example.com', fetch: registry(['castle/www:1.0.0'], { token: 't0k' }) }, 'ok', /has it/],
    ['not in the registry', { registry: 'registry.example.com', fetch: registry([]) }, 'missing', /does not have it \(HEAD .* answered 404\)/, /push registry\.example\.com\/castle\/www:1\.0\.0 to registry\.example\.com/],
    ['in a registry that wants credentials', { registry: 'registry.example.com', fetch: registry([], { status: 401 }) }, 'unknown', /wants credentials to tell \(HTTP 401\); the nodes pull with their own/],
    ['in a registry this machine cannot reach', { registry: 'registry.example.com' }, 'unknown', /cannot be reached from this machine \(no network in unit tests\)/],
  ])('%s', async (_, w, status, detail, fix) => {
    const www = of(await check(w), 'images', /castle\/www:1\.0\.0$/);
    expect(www).toEqual([expect.objectContaining({ status, detail: expect.stringMatching(detail), ...(fix ? { fix: expect.stringMatching(fix) } : {}) })]);
  });

  it.each([
    ['castle/www:1.0.0', 'docker.io/castle/www:1.0.0', false],
    ['nginx', 'docker.io/library/nginx:latest', false],
    ['localhost:5000/castle/www:1', 'localhost:5000/castle/www:1', true],
    ['registry.example.com/a/b@sha256:abc', 'registry.example.com/a/b@sha256:abc', true],
  ])('names %s as nodes report it: %s', (image, normalized, explicit) => {
    expect(normalizeImage(image)).toBe(normalized);
    expect(parseImage(image).explicitRegistry).toBe(explicit);
  });
});

describe("castle doctor: the deployer's permissions", () => {
  it('all granted: one line saying how many access reviews passed', async () => {
    expect(of(await check(), 'permissions')).toEqual([expect.objectContaining({ status: 'ok', detail: expect.stringMatching(/^all \d+ accesses granted \(SelfSubjectAccessReview\)$/) })]);
  });

  it('one missing: named with its verb, resource, name and namespace, why castle needs it and how to install it', async () => {
    const found = of(await check({ grants: (all) => all.filter((g) => !g.rule.resources?.includes('services/proxy') || g.namespace === NS) }), 'permissions');
    expect(found).toEqual([
      {
        check: 'permissions',
        what: 'permission get services/proxy "prometheus:9090" in namespace monitoring',
        status: 'missing',
        detail: expect.stringMatching(/castle needs it for status's live traffic/),
        fix: "install the deployer's rules as a cluster admin: castle rbac --env local -n castle | kubectl apply --server-side -f - (or deploy/k8s/rendered/local-deployer.yaml)",
      },
    ]);
  });

  it('cannot be told when the user may not ask (access reviews refused)', async () => {
    const found = of(await check({ grants: (all) => all.filter((g) => !g.rule.resources?.includes('selfsubjectaccessreviews')) }), 'permissions');
    expect(found).toEqual([expect.objectContaining({ status: 'unknown', detail: expect.stringMatching(/access reviews failed: the API server refused: .*cannot create resource "selfsubjectaccessreviews"/) })]);
  });
});

describe('castle doctor, the command', () => {
  async function doctor(server: FakeServer, ...argv: string[]): Promise<{ code: number; stdout: string }> {
    let stdout = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      return { code: await run(['doctor', '-n', NS, '--version', '1.0.0', ...argv, '--kubeconfig', server.kubeconfig], { deps: { defaultSource: renderSource } }), stdout };
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  }

  it('exits 0 when nothing is missing, and lists each check', async () => {
    const r = await doctor(await world());
    expect(r.code).toBe(EXIT_CODES.ok);
    expect(r.stdout).toMatch(/^prerequisites of environment local 1\.0\.0 in namespace castle \(context fake\):\n/);
    expect(r.stdout).toMatch(/ ✓ kinds +the Prometheus Operator's CRDs/);
    expect(r.stdout).toMatch(/ ✓ permissions +the deployer's rules: all \d+ accesses granted/);
    expect(r.stdout).toMatch(/\nnothing missing\n$/);
  });

  it('exits 8 when something is missing, naming what provides it; --output json has every check', async () => {
    const server = await world({ features: ['metallb'], monitoring: { team: 'obs' } });
    const text = await doctor(server);
    expect(text.code).toBe(EXIT_CODES.prerequisites);
    expect(text.stdout).toMatch(/ ✗ kinds +the Prometheus Operator's CRDs: .*: the cluster does not serve ServiceMonitor[^\n]*\n +fix: on the hermetic cluster: npm run cluster:addons -- monitoring/);
    expect(text.stdout).toMatch(/\n2 missing: a deploy would fail or run without them; fix them first\n$/);
    const json = await doctor(server, '--output', 'json');
    expect(json.code).toBe(EXIT_CODES.prerequisites);
    const doc = JSON.parse(json.stdout) as { ok: boolean; result: { missing: number; prerequisites: Prerequisite[] } };
    expect(doc).toMatchObject({ ok: true, command: 'doctor', result: { env: 'local', namespace: NS, version: '1.0.0', missing: 2 } });
    expect(doc.result.prerequisites.filter((p) => p.status === 'missing').map((p) => p.check)).toEqual(['kinds', 'metrics-scrape']);
  });
});

describe('castle rbac', () => {
  it("prints the deployer's YAML for a namespace and identity of one's choosing, needing no cluster", async () => {
    let stdout = '';
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
    try {
      expect(await run(['rbac', '--env', 'production', '-n', 'castle-review', '--service-account', 'ci/deployer'])).toBe(EXIT_CODES.ok);
      expect(await run(['rbac', '--env', 'production', '--service-account', 'deployer'])).toBe(EXIT_CODES.usage);
      expect(await run(['rbac', '--env', 'nowhere'])).toBe(EXIT_CODES.usage);
    } finally {
      out.mockRestore();
    }
    expect(stdout).toMatch(/^---\napiVersion: v1\nkind: Namespace\n/);
    expect(stdout).toMatch(/kind: Role\nmetadata:\n(?: .*\n)* {2}name: castle-deployer\n {2}namespace: castle-review\n/);
    expect(stdout).toMatch(/- kind: ServiceAccount\n +name: deployer\n +namespace: ci\n/);
    expect(stdout).toMatch(/- scaledobjects/);
  });
});
