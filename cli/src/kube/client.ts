import type { KubeConfig } from '@kubernetes/client-node';
import { ConflictError } from '../errors.js';
import { KubeApiError, KubeHttp, type KubeHttpOptions, isNotFound } from './http.js';
import { type KubeObject, type ObjectRef, describeRef, refOf } from './objects.js';

/** Castle's server-side apply field manager. */
export const FIELD_MANAGER = 'castle';

interface ApiResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** What a SelfSubjectAccessReview asks about: a resource request or a non-resource path. */
export type AccessReviewSpec =
  | { readonly resourceAttributes: { readonly verb: string; readonly group: string; readonly resource: string; readonly subresource?: string; readonly namespace?: string; readonly name?: string } }
  | { readonly nonResourceAttributes: { readonly verb: string; readonly path: string } };

/** A list answer. */
export interface KubeList<T = KubeObject> {
  readonly items: T[];
}

/** Options of {@link Kube.apply}. */
export interface ApplyOptions {
  /** Take fields owned by other managers. */
  readonly force?: boolean;
  /** Ask the server what it would do; writes nothing. */
  readonly dryRun?: boolean;
  /** Another field manager than castle's (the replicas hand-over). @default FIELD_MANAGER */
  readonly fieldManager?: string;
}

/** Options of one write. */
export interface SendOptions {
  /** Runs before every try of the call (its retries included); throw to stop before sending (a lock's fence). */
  readonly beforeEachTry?: () => void;
}

/**
 * The Kubernetes API as the CLI needs it: discovery, server-side apply, get, list, delete,
 * create/replace (records and leases), proxies, logs and access reviews. Commands never call this directly;
 * the release, apply and rollout modules do.
 */
export class Kube {
  readonly http: KubeHttp;
  private readonly resources = new Map<string, Promise<ApiResource[]>>();

  constructor(
    readonly config: KubeConfig,
    options?: KubeHttpOptions,
  ) {
    this.http = new KubeHttp(config, options);
  }

  /** The current context's name. */
  get context(): string {
    return this.config.getCurrentContext();
  }

  /** Make sure the API server answers (and the credentials work): one GET of /version. */
  async ping(): Promise<string> {
    const { body } = await this.http.request({ method: 'GET', path: '/version' });
    return (body as { gitVersion?: string }).gitVersion ?? 'unknown';
  }

  /** The URL path of a collection (`name` undefined) or of one object. */
  async path(ref: Omit<ObjectRef, 'name'> & { name?: string }): Promise<string> {
    const resource = await this.resource(ref.apiVersion, ref.kind);
    const base = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    const ns = resource.namespaced && ref.namespace ? `/namespaces/${ref.namespace}` : '';
    return `${base}${ns}/${resource.name}${ref.name ? `/${encodeURIComponent(ref.name)}` : ''}`;
  }

  /** Whether a kind is namespaced. */
  async namespaced(apiVersion: string, kind: string): Promise<boolean> {
    return (await this.resource(apiVersion, kind)).namespaced;
  }

  /**
   * Server-side apply of one object with field manager `castle` (or `fieldManager`).
   * @throws ConflictError naming the other managers and the fields, unless `force`.
   */
  async apply(object: KubeObject, options: ApplyOptions & SendOptions = {}): Promise<KubeObject> {
    try {
      const { body } = await this.http.request({
        method: 'PATCH',
        path: await this.path(refOf(object)),
        query: { fieldManager: options.fieldManager ?? FIELD_MANAGER, force: options.force ? true : undefined, dryRun: options.dryRun ? 'All' : undefined },
        contentType: 'application/apply-patch+yaml',
        body: object,
        beforeEachTry: options.beforeEachTry,
      });
      return body as KubeObject;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) {
        throw new ConflictError(
          describeRef(refOf(object)),
          error.causes.map((c) => ({ manager: managerOf(c.message ?? ''), field: c.field ?? '?' })),
        );
      }
      throw error;
    }
  }

  /** One object, or undefined when it does not exist. */
  async get<T = KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return (await this.http.request({ method: 'GET', path: await this.path(ref) })).body as T;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Objects of a kind in a namespace, optionally by label or field selector, each with its
   * `apiVersion` and `kind`: the API server leaves them out of a built-in kind's list items
   * (the list says them once), and callers take an item's reference like any object's.
   */
  async list<T = KubeObject>(
    apiVersion: string,
    kind: string,
    namespace: string,
    selectors: { labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<T[]> {
    const { body } = await this.http.request({ method: 'GET', path: await this.path({ apiVersion, kind, namespace }), query: selectors });
    return (body as KubeList<Partial<KubeObject>>).items.map((item) => ({ apiVersion, kind, ...item }) as T);
  }

  /** Create an object. @throws KubeApiError 409 when it exists. */
  async create<T = KubeObject>(object: KubeObject, send: SendOptions = {}): Promise<T> {
    const path = await this.path({ apiVersion: object.apiVersion, kind: object.kind, namespace: object.metadata.namespace });
    return (await this.http.request({ method: 'POST', path, body: object, query: { fieldManager: FIELD_MANAGER }, ...send })).body as T;
  }

  /**
   * Replace an object; `metadata.resourceVersion` makes it a compare-and-swap, which is not
   * repeated after an unknown outcome (a repeat would conflict with its own first write).
   */
  async replace<T = KubeObject>(object: KubeObject, send: SendOptions = {}): Promise<T> {
    const path = await this.path(refOf(object));
    const conditional = Boolean((object.metadata as { resourceVersion?: string }).resourceVersion);
    return (await this.http.request({ method: 'PUT', path, body: object, query: { fieldManager: FIELD_MANAGER }, idempotent: !conditional, ...send })).body as T;
  }

  /** Delete an object (foreground for its dependents). @returns false when it was already gone. */
  async delete(ref: ObjectRef, preconditions?: { resourceVersion?: string; uid?: string }, send: SendOptions = {}): Promise<boolean> {
    try {
      await this.http.request({
        method: 'DELETE',
        path: await this.path(ref),
        body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', ...(preconditions ? { preconditions } : {}) },
        ...send,
      });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** GET through the API server's proxy (service or pod), any status. */
  async proxyGet(path: string): Promise<{ status: number; body: string }> {
    const { status, body } = await this.http.request({ method: 'GET', path, text: true, anyStatus: true });
    return { status, body: String(body) };
  }

  /**
   * A kind's resource as discovery has it. @throws KubeApiError 404 when the cluster does not
   * serve the kind (its CRD is not installed), other KubeApiErrors as discovery answered.
   */
  async resourceOf(apiVersion: string, kind: string): Promise<{ name: string; namespaced: boolean }> {
    const { name, namespaced } = await this.resource(apiVersion, kind);
    return { name, namespaced };
  }

  /** The names of the API groups the server serves (`GET /apis`). */
  async groups(): Promise<string[]> {
    const { body } = await this.http.request({ method: 'GET', path: '/apis' });
    return ((body as { groups?: { name: string }[] }).groups ?? []).map((g) => g.name);
  }

  /** Whether the kubeconfig's user may do something: a SelfSubjectAccessReview. */
  async review(spec: AccessReviewSpec): Promise<{ allowed: boolean; reason?: string }> {
    const review = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {} as KubeObject['metadata'], spec };
    const answer = await this.create<{ status?: { allowed?: boolean; reason?: string } }>(review);
    return { allowed: answer.status?.allowed === true, reason: answer.status?.reason };
  }

  /** The last lines of a container's log (previous instance when it crashed). */
  async logs(namespace: string, pod: string, container: string, tailLines: number, previous: boolean): Promise<string> {
    const { body } = await this.http.request({
      method: 'GET',
      path: `/api/v1/namespaces/${namespace}/pods/${pod}/log`,
      query: { container, tailLines, previous },
      text: true,
    });
    return String(body);
  }

  private async resource(apiVersion: string, kind: string): Promise<ApiResource> {
    let list = this.resources.get(apiVersion);
    if (!list) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      list = this.http
        .request({ method: 'GET', path })
        .then(({ body }) => ((body as { resources?: ApiResource[] }).resources ?? []).filter((r) => !r.name.includes('/')));
      list.catch(() => this.resources.delete(apiVersion));
      this.resources.set(apiVersion, list);
    }
    const found = (await list.catch((error: unknown) => {
      if (isNotFound(error)) return [];
      throw error;
    })).find((r) => r.kind === kind);
    if (!found) {
      const hint = apiVersion.startsWith('monitoring.coreos.com/')
        ? ' (install the Prometheus Operator and its CRDs first; on the hermetic cluster: npm run cluster:addons -- monitoring)'
        : '';
      throw new KubeApiError(404, 'NotFound', `the cluster does not serve ${kind} in ${apiVersion}${hint}`);
    }
    return found;
  }
}

/** The manager named in a conflict cause: `conflict with "kubectl-edit" using apps/v1`. */
export function managerOf(message: string): string {
  return /conflict with "([^"]+)"/.exec(message)?.[1] ?? message;
}
