/** A Kubernetes object as plain JSON: what the manifests, the API and the records exchange. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** What identifies an object: an inventory entry. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** The reference of an object. */
export function refOf(object: KubeObject): ObjectRef {
  const { apiVersion, kind } = object;
  const { name, namespace } = object.metadata;
  return namespace ? { apiVersion, kind, namespace, name } : { apiVersion, kind, name };
}

/**
 * A stable key for a reference. The group (not the version) takes part, so that moving an
 * object from one API version to another is not a delete and a create.
 */
export function refKey(ref: ObjectRef): string {
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
  return `${group}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** `Kind/name` or `Kind namespace/name`, for messages. */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind}/${ref.name}`;
}
