/**
 * An in-memory Kubernetes API with the semantics the lock and the records rely on:
 * resourceVersions bumped on every change, compare-and-swap on replace and on delete
 * preconditions, 409 on creating what exists, 404 for a namespaced object whose namespace is
 * missing. It logs every write, by actor: those that changed something (`writes`) and every
 * one that was sent (`attempts`), so a test can tell who wrote what.
 *
 * Server-side apply is modelled for one field, a Deployment's `spec.replicas`, as the hand-over
 * between castle and an autoscaler needs it: its managers are kept in `metadata.managedFields`;
 * a manager that applies another value than the live one conflicts with the field's other
 * managers unless it forces (then it alone owns it); a manager that stops sending the field lets
 * go of it, and the field falls back to its default (1) when nobody else owns it; an update
 * through the scale subresource ({@link FakeKube.scale}, the HPA controller) takes it from all.
 * The entries are shaped as a real API server writes them: one per manager and operation, with
 * every field the manager set (an applier's labels and spec, not only `f:replicas`), kept once
 * the count has left it and dropped once it owns nothing, in the server's order.
 *
 * A list answers like {@link Kube.list}: each item with the apiVersion asked for and its kind.
 *
 * A Deployment is validated as the API server validates it ({@link deploymentProblems}): a write
 * the real one would refuse is refused (422) with its message.
 */
import { ConflictError } from '../src/errors.js';
import type { Kube } from '../src/kube/client.js';
import { KubeApiError } from '../src/kube/http.js';
import type { KubeObject, ObjectRef } from '../src/kube/objects.js';

/** A write that reached the fake API. */
export interface Write {
  readonly actor: string;
  readonly verb: 'create' | 'replace' | 'apply' | 'delete';
  /** `Kind/name`. */
  readonly what: string;
  /** The field manager of an apply, when it is not castle's. */
  readonly manager?: string;
  /** Set on an apply that forced conflicts. */
  readonly forced?: true;
}

/** One entry of `metadata.managedFields` as the API server writes it (the fake keeps no `time`). */
export interface ManagedField {
  readonly apiVersion: string;
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  readonly subresource?: string;
  readonly fieldsType: 'FieldsV1';
  readonly fieldsV1: Record<string, Record<string, unknown>>;
}

/** Who wrote a {@link ManagedField}, and how. */
export type ManagerOf = Pick<ManagedField, 'manager' | 'operation' | 'subresource'>;

const managedFieldsOf = (object: KubeObject | undefined): ManagedField[] => (object?.metadata.managedFields as ManagedField[] | undefined) ?? [];

/** The managers of a Deployment's `spec.replicas`. */
export function replicasManagers(object: KubeObject | undefined): ManagedField[] {
  return managedFieldsOf(object).filter((f) => f.fieldsV1['f:spec']?.['f:replicas'] !== undefined);
}

/**
 * `object`'s managedFields with `owner`'s entry set to `fieldsV1` (or dropped, owning nothing),
 * in the API server's order: Apply before Update, then by manager and subresource.
 */
export function managedFieldsWith(object: KubeObject | undefined, owner: ManagerOf, fieldsV1: ManagedField['fieldsV1'] | undefined): ManagedField[] {
  const same = (f: ManagedField): boolean => f.manager === owner.manager && f.operation === owner.operation && f.subresource === owner.subresource;
  const entries = managedFieldsOf(object).filter((f) => !same(f));
  if (fieldsV1) entries.push({ apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1, ...owner });
  const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return entries.sort((a, b) => order(a.operation, b.operation) || order(a.manager, b.manager) || order(a.subresource ?? '', b.subresource ?? ''));
}

/** An entry without `f:spec.f:replicas`, or undefined when that was all it owned. */
function withoutReplicas(f: ManagedField): ManagedField | undefined {
  const { 'f:replicas': _replicas, ...spec } = f.fieldsV1['f:spec'] ?? {};
  const { 'f:spec': _spec, ...fields } = f.fieldsV1;
  const fieldsV1 = Object.keys(spec).length > 0 ? { ...fields, 'f:spec': spec } : fields;
  return Object.keys(fieldsV1).length > 0 ? { ...f, fieldsV1 } : undefined;
}

/** The fields an apply of `object` sets (its labels and the top level of its spec), or undefined for none. */
function appliedFields(object: KubeObject): ManagedField['fieldsV1'] | undefined {
  const keys = (o: object | undefined): Record<string, unknown> => Object.fromEntries(Object.keys(o ?? {}).map((k) => [`f:${k}`, {}]));
  const labels = keys(object.metadata.labels);
  const spec = keys(object.spec as object | undefined);
  const fieldsV1 = { ...(Object.keys(labels).length > 0 ? { 'f:metadata': { 'f:labels': labels } } : {}), ...(Object.keys(spec).length > 0 ? { 'f:spec': spec } : {}) };
  return Object.keys(fieldsV1).length > 0 ? fieldsV1 : undefined;
}

const INT32_MAX = 2 ** 31 - 1;
/** The API server's default of a Deployment's `spec.progressDeadlineSeconds` (apps/v1). */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

/**
 * What the API server refuses in a Deployment's spec, as far as castle writes it (Kubernetes'
 * `ValidateDeploymentSpec`, after defaulting): `minReadySeconds` and `progressDeadlineSeconds`
 * are non-negative int32s, and the deadline is greater than `minReadySeconds`.
 * @returns each problem as `field: Invalid value: v: why`; none when it would be accepted.
 */
export function deploymentProblems(object: KubeObject): string[] {
  const spec = (object.spec ?? {}) as { minReadySeconds?: number; progressDeadlineSeconds?: number };
  const minReady = spec.minReadySeconds ?? 0;
  const deadline = spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
  const problems: string[] = [];
  for (const [field, value] of [['minReadySeconds', minReady], ['progressDeadlineSeconds', deadline]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > INT32_MAX) problems.push(`spec.${field}: Invalid value: ${value}: must be a non-negative 32-bit integer`);
  }
  if (deadline <= minReady) problems.push(`spec.progressDeadlineSeconds: Invalid value: ${deadline}: must be greater than minReadySeconds`);
  return problems;
}

/** A write of `object` as the API server answers it when it is invalid: 422, naming every problem. */
function validate(object: KubeObject): void {
  const problems = object.kind === 'Deployment' ? deploymentProblems(object) : [];
  if (problems.length > 0) throw new KubeApiError(422, 'Invalid', `${object.kind}.apps "${object.metadata.name}" is invalid: ${problems.join(', ')}`);
}

const keyOf = (ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>): string => `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
const CLUSTER_KINDS = new Set(['Namespace', 'PriorityClass']);

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
  /** Answers GETs through the API server's proxy (pods' metrics, the smoke check). */
  proxy?: (path: string) => { status: number; body: string };
  private readonly objects = new Map<string, KubeObject>();
  private version = 100;

  /** Like the real client's count of non-GET requests (`diff` reports it): every write sent. */
  get http(): { writes: number } {
    return { writes: this.attempts.length };
  }

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

  /** Take an object away, as if a controller had (not logged). */
  remove(kind: string, name: string, namespace?: string): void {
    this.objects.delete(keyOf({ kind, name, namespace: CLUSTER_KINDS.has(kind) ? undefined : namespace }));
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

  list<T = KubeObject>(apiVersion: string, kind: string, namespace: string, selectors: { labelSelector?: string; fieldSelector?: string } = {}): Promise<T[]> {
    const pairs = (s?: string): [string, string][] => (s ? s.split(',').map((p) => p.split('=') as [string, string]) : []);
    return Promise.resolve(
      this.all(kind, namespace)
        .filter(
          (o) =>
            pairs(selectors.labelSelector).every(([k, v]) => o.metadata.labels?.[k] === v) &&
            pairs(selectors.fieldSelector).every(([k, v]) => (o as Record<string, unknown>)[k] === v),
        )
        .map((o) => ({ ...o, apiVersion, kind }) as T),
    );
  }

  async create<T = KubeObject>(object: KubeObject): Promise<T> {
    const w = this.begin('create', object);
    const ns = object.metadata.namespace;
    if (ns && !this.peek('Namespace', ns)) throw new KubeApiError(404, 'NotFound', `namespaces "${ns}" not found`);
    if (this.peek(object.kind, object.metadata.name, ns)) throw new KubeApiError(409, 'AlreadyExists', `${object.kind} "${object.metadata.name}" already exists`);
    validate(object);
    return this.done(w, this.seed(object) as T);
  }

  async replace<T = KubeObject>(object: KubeObject): Promise<T> {
    const w = this.begin('replace', object);
    const live = this.peek(object.kind, object.metadata.name, object.metadata.namespace);
    if (!live) throw new KubeApiError(404, 'NotFound', `${object.kind} "${object.metadata.name}" not found`);
    const rv = object.metadata.resourceVersion;
    if (rv !== undefined && rv !== live.metadata.resourceVersion) throw new KubeApiError(409, 'Conflict', `the object has been modified`);
    validate(object);
    return this.done(w, this.seed({ ...object, metadata: { ...object.metadata, uid: live.metadata.uid } }) as T);
  }

  /**
   * Server-side apply, simplified: the object as sent replaces what is there (a manager other
   * than castle sends a partial configuration, merged into the live spec); sending what is there
   * changes nothing. A Deployment's `spec.replicas` follows field ownership (see above).
   */
  async apply(object: KubeObject, options: { dryRun?: boolean; force?: boolean; fieldManager?: string } = {}): Promise<KubeObject> {
    if (options.dryRun) {
      validate(object);
      return object;
    }
    const manager = options.fieldManager ?? 'castle';
    const w = this.begin('apply', object, { ...(manager === 'castle' ? {} : { manager }), ...(options.force ? { forced: true as const } : {}) });
    const ns = object.metadata.namespace;
    if (ns && !this.peek('Namespace', ns)) throw new KubeApiError(404, 'NotFound', `namespaces "${ns}" not found`);
    const live = this.peek(object.kind, object.metadata.name, ns);
    let next: KubeObject = { ...live, ...object, metadata: { ...live?.metadata, ...object.metadata } };
    if (object.kind === 'Deployment') next = withReplicas(live, object, next, manager, options.force === true);
    validate(next);
    if (live && JSON.stringify(next) === JSON.stringify(live)) return live;
    return this.done(w, this.seed(next));
  }

  /**
   * The HPA controller (or `kubectl scale`) setting a Deployment's replicas through the scale
   * subresource: an update, which takes the field from every other manager. Not logged.
   */
  scale(name: string, namespace: string, replicas: number, manager = 'kube-controller-manager'): void {
    const live = this.peek<KubeObject & { spec?: object }>('Deployment', name, namespace);
    if (!live) throw new Error(`Deployment/${name} does not exist`);
    const others = managedFieldsOf(live).map(withoutReplicas).filter((f) => f !== undefined);
    const managedFields = managedFieldsWith({ ...live, metadata: { ...live.metadata, managedFields: others } }, { manager, operation: 'Update', subresource: 'scale' }, { 'f:spec': { 'f:replicas': {} } });
    this.seed({ ...live, spec: { ...live.spec, replicas }, metadata: { ...live.metadata, managedFields } });
  }

  proxyGet(path: string): Promise<{ status: number; body: string }> {
    return Promise.resolve(this.proxy?.(path) ?? { status: 404, body: 'no proxy in this test' });
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

  private begin(verb: Write['verb'], object: KubeObject | ObjectRef, extra: Pick<Write, 'manager' | 'forced'> = {}): Write {
    const what = 'metadata' in object ? `${object.kind}/${object.metadata.name}` : `${object.kind}/${object.name}`;
    const write = { actor: this.actor, verb, what, ...extra };
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

/** `next` with its `spec.replicas` and the field's managers as server-side apply would leave them. */
function withReplicas(live: KubeObject | undefined, sent: KubeObject, next: KubeObject, manager: string, force: boolean): KubeObject {
  const liveSpec = (live?.spec ?? {}) as Record<string, unknown>;
  const sentSpec = (sent.spec ?? {}) as Record<string, unknown>;
  // Castle sends the whole object; the hand-over manager only the field it holds.
  const spec: Record<string, unknown> = manager === 'castle' ? { ...sentSpec } : { ...liveSpec, ...sentSpec };
  const owners = replicasManagers(live);
  const own = (f: ManagedField): boolean => f.manager === manager && f.operation === 'Apply' && !f.subresource;
  const others = owners.filter((f) => !own(f));
  let entries = managedFieldsOf(live);
  if (sentSpec.replicas !== undefined) {
    const differs = liveSpec.replicas !== sentSpec.replicas;
    if (differs && others.length > 0 && !force) {
      throw new ConflictError(`Deployment/${sent.metadata.name}`, others.map((f) => ({ manager: f.manager, field: '.spec.replicas' })));
    }
    // A new value is this manager's alone; the same value is shared with the others.
    if (differs) entries = entries.map((f) => (own(f) ? f : withoutReplicas(f))).filter((f) => f !== undefined);
  } else {
    // Let go by its last manager, the field is removed and defaults to 1; unowned, it stays.
    spec.replicas = live === undefined || (owners.some(own) && others.length === 0) ? 1 : liveSpec.replicas;
  }
  const managedFields = managedFieldsWith({ ...next, metadata: { ...next.metadata, managedFields: entries } }, { manager, operation: 'Apply' }, appliedFields(sent));
  return { ...next, spec, metadata: { ...next.metadata, managedFields } };
}
