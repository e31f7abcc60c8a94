/**
 * An in-memory Kubernetes API with the semantics the lock and the records rely on:
 * resourceVersions bumped on every change, compare-and-swap on replace and on delete
 * preconditions, 409 on creating what exists, 404 for a namespaced object whose namespace is
 * missing. It logs every write, by actor: those that changed something (`writes`) and every
 * one that was sent (`attempts`), so a test can tell who wrote what.
 */
import type { Kube } from '../src/kube/client.js';
import { KubeApiError } from '../src/kube/http.js';
import type { KubeObject, ObjectRef } from '../src/kube/objects.js';

/** A write that reached the fake API. */
export interface Write {
  readonly actor: string;
  readonly verb: 'create' | 'replace' | 'apply' | 'delete';
  /** `Kind/name`. */
  readonly what: string;
}

const keyOf = (ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>): string => `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
const CLUSTER_KINDS = new Set(['Namespace']);

/** The fake API server. Use {@link FakeKube.kube} where a `Kube` is wanted. */
export class FakeKube {
  readonly context = 'fake';
  /** Writes that changed something. */
  readonly writes: Write[] = [];
  /** Every write sent, refused ones included. */
  readonly attempts: Write[] = [];
  /** Who the next writes are by (a test switches it to play another deploy). */
  actor = 'me';
  /** Runs as each write arrives; what it throws (an API error) is the write's answer. */
  refuse?: (write: Write) => void;
  /** Runs after each write that changed something: the world may change meanwhile (another deploy acts). */
  afterWrite?: (write: Write) => Promise<void> | void;
  private readonly objects = new Map<string, KubeObject>();
  private version = 100;

  /** This fake, typed as the client it stands in for. */
  get kube(): Kube {
    return this as unknown as Kube;
  }

  /** Put an object in place, as if it had always been there (not logged). */
  seed(object: KubeObject): KubeObject {
    const stored = this.stamp(structuredClone(object));
    this.objects.set(keyOf({ kind: stored.kind, name: stored.metadata.name, namespace: CLUSTER_KINDS.has(stored.kind) ? undefined : stored.metadata.namespace }), stored);
    return structuredClone(stored);
  }

  /** An object as stored now, or undefined. */
  peek<T = KubeObject>(kind: string, name: string, namespace?: string): T | undefined {
    const o = this.objects.get(keyOf({ kind, name, namespace: CLUSTER_KINDS.has(kind) ? undefined : namespace }));
    return o && (structuredClone(o) as T);
  }

  /** Every stored object of a kind, in a namespace. */
  all(kind: string, namespace?: string): KubeObject[] {
    return [...this.objects.values()].filter((o) => o.kind === kind && o.metadata.namespace === namespace).map((o) => structuredClone(o));
  }

  ping(): Promise<string> {
    return Promise.resolve('v1.fake');
  }

  namespaced(_apiVersion: string, kind: string): Promise<boolean> {
    return Promise.resolve(!CLUSTER_KINDS.has(kind));
  }

  get<T = KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    return Promise.resolve(this.peek<T>(ref.kind, ref.name, ref.namespace));
  }

  list<T = KubeObject>(_apiVersion: string, kind: string, namespace: string, selectors: { labelSelector?: string; fieldSelector?: string } = {}): Promise<T[]> {
    const pairs = (s?: string): [string, string][] => (s ? s.split(',').map((p) => p.split('=') as [string, string]) : []);
    return Promise.resolve(
      this.all(kind, namespace).filter(
        (o) =>
          pairs(selectors.labelSelector).every(([k, v]) => o.metadata.labels?.[k] === v) &&
          pairs(selectors.fieldSelector).every(([k, v]) => (o as Record<string, unknown>)[k] === v),
      ) as T[],
    );
  }

  async create<T = KubeObject>(object: KubeObject): Promise<T> {
    const w = this.begin('create', object);
    const ns = object.metadata.namespace;
    if (ns && !this.peek('Namespace', ns)) throw new KubeApiError(404, 'NotFound', `namespaces "${ns}" not found`);
    if (this.peek(object.kind, object.metadata.name, ns)) throw new KubeApiError(409, 'AlreadyExists', `${object.kind} "${object.metadata.name}" already exists`);
    return this.done(w, this.seed(object) as T);
  }

  async replace<T = KubeObject>(object: KubeObject): Promise<T> {
    const w = this.begin('replace', object);
    const live = this.peek(object.kind, object.metadata.name, object.metadata.namespace);
    if (!live) throw new KubeApiError(404, 'NotFound', `${object.kind} "${object.metadata.name}" not found`);
    const rv = object.metadata.resourceVersion;
    if (rv !== undefined && rv !== live.metadata.resourceVersion) throw new KubeApiError(409, 'Conflict', `the object has been modified`);
    return this.done(w, this.seed({ ...object, metadata: { ...object.metadata, uid: live.metadata.uid } }) as T);
  }

  /** Server-side apply, simplified: the object as sent replaces what is there; sending what is there changes nothing. */
  async apply(object: KubeObject, options: { dryRun?: boolean } = {}): Promise<KubeObject> {
    if (options.dryRun) return object;
    const w = this.begin('apply', object);
    const ns = object.metadata.namespace;
    if (ns && !this.peek('Namespace', ns)) throw new KubeApiError(404, 'NotFound', `namespaces "${ns}" not found`);
    const live = this.peek(object.kind, object.metadata.name, ns);
    const next = { ...live, ...object, metadata: { ...live?.metadata, ...object.metadata } };
    if (live && JSON.stringify(next) === JSON.stringify(live)) return live;
    return this.done(w, this.seed(next));
  }

  async delete(ref: ObjectRef, preconditions?: { resourceVersion?: string; uid?: string }): Promise<boolean> {
    const w = this.begin('delete', ref);
    const live = this.peek(ref.kind, ref.name, ref.namespace);
    if (!live) return false;
    if (preconditions?.resourceVersion !== undefined && preconditions.resourceVersion !== live.metadata.resourceVersion) throw new KubeApiError(409, 'Conflict', 'precondition failed: resourceVersion');
    if (preconditions?.uid !== undefined && preconditions.uid !== live.metadata.uid) throw new KubeApiError(409, 'Conflict', 'precondition failed: uid');
    this.objects.delete(keyOf({ kind: ref.kind, name: ref.name, namespace: CLUSTER_KINDS.has(ref.kind) ? undefined : ref.namespace }));
    return this.done(w, true);
  }

  /** Play another actor for the length of `fn`. */
  async as<T>(actor: string, fn: () => Promise<T>): Promise<T> {
    const was = this.actor;
    this.actor = actor;
    try {
      return await fn();
    } finally {
      this.actor = was;
    }
  }

  private begin(verb: Write['verb'], object: KubeObject | ObjectRef): Write {
    const what = 'metadata' in object ? `${object.kind}/${object.metadata.name}` : `${object.kind}/${object.name}`;
    const write = { actor: this.actor, verb, what };
    this.attempts.push(write);
    this.refuse?.(write);
    return write;
  }

  private async done<T>(write: Write, result: T): Promise<T> {
    this.writes.push(write);
    await this.afterWrite?.(write);
    return result;
  }

  private stamp(object: KubeObject): KubeObject {
    this.version += 1;
    object.metadata.resourceVersion = String(this.version);
    object.metadata.uid ??= `uid-${object.kind}-${object.metadata.name}`;
    return object;
  }
}
