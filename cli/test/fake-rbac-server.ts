/**
 * An in-memory Kubernetes API server on a loopback port, for running whole `castle` commands
 * (the real client, over HTTP) as a user bound to given RBAC rules: discovery of the kinds it
 * serves (CRDs optional), objects stored by path with resourceVersions, server-side apply
 * (which, creating, needs `create` as well as `patch`, as the real API server checks),
 * access reviews answered from the same rules, a Deployment controller (a ReplicaSet per pod
 * template, ready pods, or crash-looping ones for chosen images, with a Warning event), the
 * service proxy (a smoke GET, Prometheus' query API) and the pod proxy (metrics). Every request
 * is recorded with its RBAC attributes; one the rules do not allow is answered 403 as RBAC words it.
 * A Role's grants hold only while its namespace exists.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../src/kube/objects.js';
import { kubeConfigYaml } from './fake-api.js';
import { type Attributes, type Grant, allows, attributesOf } from './rbac.js';

/** API groups that exist only when their operator is installed. */
export type Feature = 'monitoring' | 'keda' | 'metallb' | 'awsLoadBalancerController';

/** apiVersion, kind, resource, namespaced, and the feature that serves it (built in when absent). */
const RESOURCES: readonly [string, string, string, boolean, Feature?][] = [
  ['v1', 'Namespace', 'namespaces', false],
  ['v1', 'Node', 'nodes', false],
  ['v1', 'ServiceAccount', 'serviceaccounts', true],
  ['v1', 'ConfigMap', 'configmaps', true],
  ['v1', 'Secret', 'secrets', true],
  ['v1', 'Service', 'services', true],
  ['v1', 'Pod', 'pods', true],
  ['v1', 'Event', 'events', true],
  ['apps/v1', 'Deployment', 'deployments', true],
  ['apps/v1', 'ReplicaSet', 'replicasets', true],
  ['coordination.k8s.io/v1', 'Lease', 'leases', true],
  ['networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies', true],
  ['policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true],
  ['autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true],
  ['authorization.k8s.io/v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false],
  ['rbac.authorization.k8s.io/v1', 'Role', 'roles', true],
  ['monitoring.coreos.com/v1', 'ServiceMonitor', 'servicemonitors', true, 'monitoring'],
  ['monitoring.coreos.com/v1', 'PrometheusRule', 'prometheusrules', true, 'monitoring'],
  ['keda.sh/v1alpha1', 'ScaledObject', 'scaledobjects', true, 'keda'],
  ['metallb.io/v1beta1', 'IPAddressPool', 'ipaddresspools', true, 'metallb'],
  ['elbv2.k8s.aws/v1beta1', 'TargetGroupBinding', 'targetgroupbindings', true, 'awsLoadBalancerController'],
];

/** The user the server answers as, in its RBAC messages. */
export const FAKE_USER = 'system:serviceaccount:castle-deployer:castle-deployer';

/** One request the server saw. */
export interface Call {
  readonly method: string;
  readonly path: string;
  /** What RBAC decided on; a server-side apply that created its object adds a second, `create`, call. */
  readonly attributes: Attributes;
  readonly allowed: boolean;
}

/** Options of {@link startFakeServer}. */
export interface FakeServerOptions {
  /** The user's grants; undefined: everything is allowed (a cluster admin). */
  grants?: readonly Grant[];
  /** Operators installed. @default ['monitoring', 'metallb'] */
  readonly features?: readonly Feature[];
  /** Images whose pods crash-loop. */
  readonly crashImages?: RegExp;
  /** Runs after each request was answered (the world may change: a lease vanishes). */
  onRequest?: (call: Call, server: FakeServer) => void;
}

/** A running fake API server. */
export interface FakeServer {
  readonly url: string;
  /** A kubeconfig file for it. */
  readonly kubeconfig: string;
  readonly calls: Call[];
  readonly objects: Map<string, KubeObject>;
  /** Store objects as if they had always been there. */
  seed(...objects: KubeObject[]): void;
  /** The path of an object (or, without a name, of its collection). */
  pathOf(ref: { apiVersion: string; kind: string; namespace?: string; name?: string }): string;
  get<T = KubeObject>(ref: { apiVersion: string; kind: string; namespace?: string; name: string }): T | undefined;
  readonly options: FakeServerOptions;
  close(): Promise<void>;
}

type Stored = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

/** Start a fake API server; `options` can be changed while it runs. */
export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const features = new Set(options.features ?? ['monitoring', 'metallb']);
  const served = RESOURCES.filter(([, , , , f]) => !f || features.has(f));
  const objects = new Map<string, KubeObject>();
  const calls: Call[] = [];
  let version = 100;

  const pathOf = (ref: { apiVersion: string; kind: string; namespace?: string; name?: string }): string => {
    const entry = RESOURCES.find(([v, k]) => v === ref.apiVersion && k === ref.kind);
    if (!entry) throw new Error(`fake server: unknown kind ${ref.apiVersion} ${ref.kind}`);
    const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    return `${base}${entry[3] ? `/namespaces/${ref.namespace}` : ''}/${entry[2]}${ref.name ? `/${ref.name}` : ''}`;
  };
  const store = (path: string, object: KubeObject): Stored => {
    version += 1;
    const live = objects.get(path);
    const stored = { ...object, metadata: { ...object.metadata, uid: (live?.metadata.uid as string | undefined) ?? `uid-${version}`, resourceVersion: String(version) } };
    objects.set(path, stored);
    return stored;
  };
  const seed = (...list: KubeObject[]): void => {
    for (const o of list) store(pathOf({ ...o, namespace: o.metadata.namespace, name: o.metadata.name }), structuredClone(o));
  };
  const get = <T>(ref: { apiVersion: string; kind: string; namespace?: string; name: string }): T | undefined => objects.get(pathOf(ref)) as T | undefined;

  const reconcile = (path: string): void => {
    const d = objects.get(path) as Stored & { spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata?: { labels?: Record<string, string> }; spec: { containers: { name: string; image: string }[] } } } };
    const ns = d.metadata.namespace ?? '';
    const hash = createHash('sha256').update(JSON.stringify(d.spec.template)).digest('hex').slice(0, 10);
    const replicas = d.spec.replicas ?? 1;
    const crash = d.spec.template.spec.containers.some((c) => options.crashImages?.test(c.image));
    const sets = [...objects.entries()].filter(([p, o]) => p.startsWith(pathOf({ apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: ns })) && (o.metadata.ownerReferences as { uid: string }[] | undefined)?.[0]?.uid === d.metadata.uid);
    const rsName = `${d.metadata.name}-${hash}`;
    const revisionOf = (o: KubeObject): number => Number(o.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
    const current = sets.find(([, o]) => o.metadata.name === rsName)?.[1];
    const revision = current ? revisionOf(current) : Math.max(0, ...sets.map(([, o]) => revisionOf(o))) + 1;
    const labels = { ...d.spec.template.metadata?.labels, 'pod-template-hash': hash };
    for (const [p, o] of sets) {
      if (o.metadata.name === rsName) continue;
      store(p, { ...o, status: { replicas: 0 } });
      for (const [podPath, pod] of [...objects.entries()]) if (podPath.includes('/pods/') && pod.metadata.labels?.['pod-template-hash'] === o.metadata.labels?.['pod-template-hash']) objects.delete(podPath);
    }
    seed({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: rsName, namespace: ns, labels, annotations: { 'deployment.kubernetes.io/revision': String(revision) }, ownerReferences: [{ uid: d.metadata.uid, kind: 'Deployment', name: d.metadata.name }] }, status: { replicas } });
    for (let i = 0; i < replicas; i += 1) {
      const name = `${rsName}-${i}`;
      const container = d.spec.template.spec.containers[0]?.name ?? 'app';
      const status = crash
        ? { containerStatuses: [{ name: container, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off restarting failed container' } }, lastState: { terminated: { reason: 'Error', exitCode: 1 } } }], conditions: [{ type: 'Ready', status: 'False' }] }
        : { containerStatuses: [{ name: container, restartCount: 0, state: { running: {} } }], conditions: [{ type: 'Ready', status: 'True' }] };
      seed({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels }, status });
      if (crash) seed({ apiVersion: 'v1', kind: 'Event', metadata: { name: `${name}.1`, namespace: ns }, involvedObject: { kind: 'Pod', name }, type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container', lastTimestamp: new Date().toISOString() });
    }
    const ready = crash ? 0 : replicas;
    store(path, {
      ...d,
      metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, 'deployment.kubernetes.io/revision': String(revision) } },
      status: { observedGeneration: d.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: ready, availableReplicas: ready },
    });
  };

  // A Role lives in its namespace: its grants go when the namespace is deleted, as RBAC's do.
  const allowed = (attributes: Attributes): boolean => !options.grants || allows(options.grants.filter((g) => g.namespace === undefined || objects.has(`/api/v1/namespaces/${g.namespace}`)), attributes);
  const authorize = (method: string, path: string, attributes: Attributes): Call => {
    const call = { method, path, attributes, allowed: allowed(attributes) };
    calls.push(call);
    return call;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, text: string): void => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const call = authorize(method, path, attributesOf(method, path, url.searchParams));
    const a = call.attributes;
    if (!call.allowed) return forbidden(res, a);
    if ('path' in a) return discovery(res, path, served);
    const body = text ? (JSON.parse(text) as Stored) : undefined;
    if (a.subresource === 'proxy') return proxy(res, a, objects, path);
    if (a.subresource === 'log') return send(res, 200, 'Error: boom\n', 'text/plain');
    if (a.resource === 'selfsubjectaccessreviews') {
      const spec = (body?.spec ?? {}) as { resourceAttributes?: Record<string, string>; nonResourceAttributes?: { path: string; verb: string } };
      const asked: Attributes = spec.nonResourceAttributes ?? {
        verb: spec.resourceAttributes?.verb ?? '',
        group: spec.resourceAttributes?.group ?? '',
        resource: spec.resourceAttributes?.resource ?? '',
        ...(spec.resourceAttributes?.subresource ? { subresource: spec.resourceAttributes.subresource } : {}),
        ...(spec.resourceAttributes?.namespace ? { namespace: spec.resourceAttributes.namespace } : {}),
        ...(spec.resourceAttributes?.name ? { name: spec.resourceAttributes.name } : {}),
      };
      return send(res, 201, { ...body, status: { allowed: allowed(asked) } });
    }
    const live = objects.get(path);
    const namespaceMissing = a.namespace !== undefined && a.resource !== 'namespaces' && !objects.has(`/api/v1/namespaces/${a.namespace}`);
    switch (method) {
      case 'GET':
        if (a.name) return live ? send(res, 200, live) : status(res, 404, 'NotFound', `${a.resource} "${a.name}" not found`);
        return send(res, 200, { items: list(objects, path, url.searchParams) });
      case 'POST': {
        const name = body?.metadata.name ?? '';
        if (namespaceMissing) return status(res, 404, 'NotFound', `namespaces "${a.namespace}" not found`);
        if (objects.has(`${path}/${name}`)) return status(res, 409, 'AlreadyExists', `${a.resource} "${name}" already exists`);
        return send(res, 201, store(`${path}/${name}`, { ...(body as KubeObject), metadata: { ...body?.metadata, generation: 1 } as KubeObject['metadata'] }));
      }
      case 'PUT': {
        if (!live) return status(res, 404, 'NotFound', `${a.resource} "${a.name}" not found`);
        const rv = body?.metadata.resourceVersion;
        if (rv !== undefined && rv !== live.metadata.resourceVersion) return status(res, 409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again');
        return send(res, 200, store(path, body as KubeObject));
      }
      case 'PATCH': {
        if (namespaceMissing) return status(res, 404, 'NotFound', `namespaces "${a.namespace}" not found`);
        // Server-side apply that creates the object is authorized as a create too.
        if (!live && !authorize('PATCH', path, { ...a, verb: 'create' }).allowed) return forbidden(res, { ...a, verb: 'create' });
        const sent = body as Stored;
        const changed = !live || JSON.stringify(sent.spec) !== JSON.stringify(live.spec);
        const generation = ((live?.metadata.generation as number | undefined) ?? 0) + (changed ? 1 : 0);
        const merged = {
          ...live,
          ...sent,
          metadata: { ...live?.metadata, ...sent.metadata, labels: { ...live?.metadata.labels, ...sent.metadata.labels }, annotations: { ...live?.metadata.annotations, ...sent.metadata.annotations }, generation },
          ...(live?.status ? { status: live.status } : {}),
        } as KubeObject;
        if (url.searchParams.get('dryRun') === 'All') return send(res, 200, merged);
        store(path, merged);
        if (sent.kind === 'Deployment') reconcile(path);
        return send(res, 200, objects.get(path));
      }
      case 'DELETE': {
        if (!live) return status(res, 404, 'NotFound', `${a.resource} "${a.name}" not found`);
        const pre = (body as { preconditions?: { uid?: string; resourceVersion?: string } } | undefined)?.preconditions;
        if ((pre?.uid && pre.uid !== live.metadata.uid) || (pre?.resourceVersion && pre.resourceVersion !== live.metadata.resourceVersion)) {
          return status(res, 409, 'Conflict', 'Precondition failed');
        }
        objects.delete(path);
        if (a.resource === 'namespaces') for (const p of [...objects.keys()]) if (p.includes(`/namespaces/${a.name}/`)) objects.delete(p);
        return send(res, 200, { kind: 'Status', status: 'Success' });
      }
      default:
        return status(res, 405, 'MethodNotAllowed', method);
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const before = calls.length;
      handle(req, res, Buffer.concat(chunks).toString('utf8'));
      for (const call of calls.slice(before)) options.onRequest?.(call, fake);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = join(await mkdtemp(join(tmpdir(), 'castle-fake-rbac-')), 'kubeconfig');
  await writeFile(kubeconfig, kubeConfigYaml(url));
  const fake: FakeServer = {
    url,
    kubeconfig,
    calls,
    objects,
    seed,
    pathOf,
    get,
    options,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return fake;
}

function discovery(res: ServerResponse, path: string, served: readonly (readonly [string, string, string, boolean, Feature?])[]): void {
  if (path === '/version') return send(res, 200, { gitVersion: 'v1.33.0-fake' });
  if (path === '/apis') {
    const groups = [...new Set(served.map(([v]) => v).filter((v) => v.includes('/')))].map((v) => ({ name: v.split('/')[0], versions: [{ groupVersion: v, version: v.split('/')[1] }] }));
    return send(res, 200, { kind: 'APIGroupList', groups });
  }
  const apiVersion = path.replace(/^\/apis?\//, '');
  const resources = served.filter(([v]) => v === apiVersion).map(([, kind, name, namespaced]) => ({ name, kind, namespaced }));
  if (resources.length === 0) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
  return send(res, 200, { kind: 'APIResourceList', groupVersion: apiVersion, resources });
}

function proxy(res: ServerResponse, a: Extract<Attributes, { resource: string }>, objects: Map<string, KubeObject>, path: string): void {
  const [name] = (a.name ?? '').split(':');
  if (a.resource === 'services' && name === 'prometheus') {
    return send(res, 200, { status: 'success', data: { resultType: 'vector', result: [{ metric: { job: 'www' }, value: [0, '1'] }, { metric: { job: 'backend' }, value: [0, '1'] }] } });
  }
  const collection = a.resource === 'services' ? 'services' : 'pods';
  if (!objects.has(`/api/v1/namespaces/${a.namespace}/${collection}/${name}`)) return status(res, 503, 'ServiceUnavailable', `no endpoints available for ${path}`);
  return a.resource === 'pods' ? send(res, 200, 'http_requests_total{route="/",status_code="200"} 100\n', 'text/plain') : send(res, 200, 'ok', 'text/plain');
}

const lookup = (o: unknown, dotted: string): unknown => dotted.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);

function list(objects: Map<string, KubeObject>, collection: string, query: URLSearchParams): KubeObject[] {
  const terms = (s: string | null) => (s ?? '').split(',').filter(Boolean).map((t) => t.split('=') as [string, string]);
  const labels = terms(query.get('labelSelector'));
  const fields = terms(query.get('fieldSelector'));
  return [...objects.entries()]
    .filter(([p]) => p.slice(0, p.lastIndexOf('/')) === collection)
    .map(([, o]) => o)
    .filter((o) => labels.every(([k, v]) => o.metadata.labels?.[k] === v) && fields.every(([k, v]) => String(lookup(o, k)) === v));
}

function send(res: ServerResponse, code: number, doc: unknown, contentType = 'application/json'): void {
  res.writeHead(code, { 'Content-Type': contentType });
  res.end(typeof doc === 'string' ? doc : JSON.stringify(doc));
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  send(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });
}

function forbidden(res: ServerResponse, a: Attributes): void {
  const message =
    'path' in a
      ? `forbidden: User "${FAKE_USER}" cannot ${a.verb} path "${a.path}"`
      : `${a.resource}${a.name ? ` "${a.name}"` : ''} is forbidden: User "${FAKE_USER}" cannot ${a.verb} resource "${a.subresource ? `${a.resource}/${a.subresource}` : a.resource}" in API group "${a.group}"${a.namespace ? ` in the namespace "${a.namespace}"` : ' at the cluster scope'}`;
  status(res, 403, 'Forbidden', message);
}
