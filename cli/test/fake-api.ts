import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../src/kube/objects.js';

/** Resources the fake serves, per group version: name, kind, namespaced. */
const DISCOVERY: Record<string, [string, string, boolean][]> = {
  '/api/v1': [
    ['namespaces', 'Namespace', false],
    ['configmaps', 'ConfigMap', true],
    ['secrets', 'Secret', true],
    ['events', 'Event', true],
    ['pods', 'Pod', true],
  ],
  '/apis/coordination.k8s.io/v1': [['leases', 'Lease', true]],
  '/apis/apps/v1': [
    ['deployments', 'Deployment', true],
    ['replicasets', 'ReplicaSet', true],
  ],
  '/apis/autoscaling/v2': [['horizontalpodautoscalers', 'HorizontalPodAutoscaler', true]],
};

const collectionNames = new Set(Object.values(DISCOVERY).flatMap((rs) => rs.map(([name]) => name)));

/** An in-memory Kubernetes API: discovery, and create/get/list/apply/replace/delete of objects stored by URL path. */
export interface FakeApi {
  readonly handler: RequestListener;
  /** Objects by path, e.g. `/api/v1/namespaces/castle/configmaps/app`. */
  readonly objects: Map<string, KubeObject>;
  put(path: string, object: KubeObject): void;
}

/** A fake API server's handler, to put behind a fault proxy. */
export function fakeApi(): FakeApi {
  const objects = new Map<string, KubeObject>();
  let version = 0;
  const stored = (object: KubeObject): KubeObject => {
    version += 1;
    const metadata = { uid: `uid-${version}`, ...object.metadata, resourceVersion: String(version) };
    return { ...object, metadata };
  };
  const put = (path: string, object: KubeObject): void => void objects.set(path, stored(object));

  const handler: RequestListener = (req, res) => {
    void body(req).then((text) => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const path = url.pathname;
      const input = text ? (JSON.parse(text) as KubeObject) : undefined;
      if (path === '/version') return send(res, 200, { gitVersion: 'v1.33.0-fake' });
      const resources = DISCOVERY[path];
      if (resources) return send(res, 200, { resources: resources.map(([name, kind, namespaced]) => ({ name, kind, namespaced })) });
      const existing = objects.get(path);
      switch (req.method) {
        case 'GET':
          if (existing) return send(res, 200, existing);
          if (collectionNames.has(path.split('/').at(-1) ?? '')) return send(res, 200, listOf(path, list(objects, path, url.searchParams.get('labelSelector'))));
          return notFound(res, path);
        case 'POST': {
          const target = `${path}/${input?.metadata.name}`;
          if (objects.has(target)) return status(res, 409, 'AlreadyExists', `${input?.metadata.name} already exists`);
          put(target, input as KubeObject);
          return send(res, 201, objects.get(target));
        }
        case 'PUT':
        case 'PATCH':
          put(path, input as KubeObject);
          return send(res, 200, objects.get(path));
        case 'DELETE':
          if (!existing) return notFound(res, path);
          objects.delete(path);
          return send(res, 200, { kind: 'Status', status: 'Success' });
        default:
          return status(res, 405, 'MethodNotAllowed', req.method ?? '');
      }
    });
  };
  return { handler, objects, put };
}

/**
 * A list as the API server answers it for a built-in kind: `kind` and `apiVersion` once, on the
 * list; the items carry neither.
 */
function listOf(collection: string, items: readonly KubeObject[]): { kind: string; apiVersion: string; items: Omit<KubeObject, 'apiVersion' | 'kind'>[] } {
  const groupVersion = Object.keys(DISCOVERY).find((gv) => collection.startsWith(`${gv}/`)) ?? '';
  const kind = DISCOVERY[groupVersion]?.find(([name]) => name === collection.split('/').at(-1))?.[1] ?? '';
  return { kind: `${kind}List`, apiVersion: groupVersion.replace(/^\/apis?\//, ''), items: items.map(({ apiVersion: _apiVersion, kind: _kind, ...item }) => item) };
}

function list(objects: Map<string, KubeObject>, collection: string, selector: string | null): KubeObject[] {
  const wanted = (selector ?? '').split(',').filter(Boolean).map((term) => term.split('='));
  return [...objects.entries()]
    .filter(([path]) => path.slice(0, path.lastIndexOf('/')) === collection)
    .map(([, object]) => object)
    .filter((object) => wanted.every(([k, v]) => object.metadata.labels?.[k ?? ''] === v));
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function send(res: ServerResponse, code: number, doc: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(doc));
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  send(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code });
}

function notFound(res: ServerResponse, path: string): void {
  status(res, 404, 'NotFound', `${path.split('/').at(-1)} not found`);
}

/** A kubeconfig (object) whose current context talks to `server` with a bearer token. */
export function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server, skipTLSVerify: true }],
    users: [{ name: 'me', token: 'secret' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'me' }],
    currentContext: 'fake',
  });
  return kc;
}

/** The same kubeconfig as a YAML file's text, for `--kubeconfig`. */
export function kubeConfigYaml(server: string): string {
  return `apiVersion: v1\nkind: Config\nclusters: [{name: fake, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]\nusers: [{name: me, user: {token: secret}}]\ncontexts: [{name: fake, context: {cluster: fake, user: me}}]\ncurrent-context: fake\n`;
}
