/**
 * Kubernetes RBAC as the API server applies it, small enough to read: a request's attributes
 * (as `RequestInfo` parses its path) and whether a set of grants allows them. For the
 * in-memory API server that enforces the deployer's rendered rules.
 */
import type { KubeObject } from '../src/kube/objects.js';

/** What RBAC decides on: a resource request, or a non-resource one (discovery, /version). */
export type Attributes =
  | {
      readonly verb: string;
      readonly group: string;
      readonly resource: string;
      readonly subresource?: string;
      /** The request's namespace; a Namespace object's own name for `namespaces/<name>`. */
      readonly namespace?: string;
      readonly name?: string;
    }
  | { readonly verb: string; readonly path: string };

/** One rule of a Role or ClusterRole, as rendered. */
export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
  readonly verbs: readonly string[];
}

/** A rule bound to the subject: by a RoleBinding in `namespace`, or cluster-wide (`namespace` undefined). */
export interface Grant {
  readonly namespace?: string;
  readonly rule: PolicyRule;
}

/** The grants of rendered RBAC objects, every Role and ClusterRole taken as bound to the one subject. */
export function grantsOf(objects: readonly KubeObject[]): Grant[] {
  return objects.flatMap((o) => {
    if (o.kind !== 'Role' && o.kind !== 'ClusterRole') return [];
    const rules = (o as KubeObject & { rules: PolicyRule[] }).rules;
    return rules.map((rule) => (o.kind === 'Role' ? { namespace: o.metadata.namespace, rule } : { rule }));
  });
}

/** The attributes of an HTTP request to the API server (k8s.io/apiserver's RequestInfo, the parts castle uses). */
export function attributesOf(method: string, path: string, query: URLSearchParams): Attributes {
  const parts = path.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts.length > 2) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length > 3) {
    group = parts[1] ?? '';
    rest = parts.slice(3);
  } else {
    return { verb: method.toLowerCase() === 'get' ? 'get' : method.toLowerCase(), path };
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2) rest = rest.slice(2);
  }
  const [resource = '', name, subresource] = rest;
  const verb =
    method === 'GET' ? (name ? 'get' : query.get('watch') === 'true' ? 'watch' : 'list') : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : name ? 'delete' : 'deletecollection';
  return { verb, group, resource, ...(subresource ? { subresource } : {}), ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) };
}

const has = (list: readonly string[] | undefined, value: string): boolean => Boolean(list?.includes(value) || list?.includes('*'));

/** Whether one rule allows the attributes. */
export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if ('path' in a) return (rule.nonResourceURLs ?? []).some((u) => u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  if (!has(rule.apiGroups, a.group) || !has(rule.resources, resource)) return false;
  return !rule.resourceNames?.length || (a.name !== undefined && rule.resourceNames.includes(a.name));
}

/** Whether the grants allow the attributes: a RoleBinding's rules in its namespace only, and never for a non-resource path. */
export function allows(grants: readonly Grant[], a: Attributes): boolean {
  return grants.some((g) => (g.namespace === undefined || (!('path' in a) && g.namespace === a.namespace)) && ruleAllows(g.rule, a));
}

/** `verb group/resource[/sub] "name" in namespace` or `verb path`, for messages. */
export function describe(a: Attributes): string {
  if ('path' in a) return `${a.verb} ${a.path}`;
  const resource = `${a.resource}${a.group ? `.${a.group}` : ''}${a.subresource ? `/${a.subresource}` : ''}`;
  return `${a.verb} ${resource}${a.name ? ` "${a.name}"` : ''}${a.namespace ? ` in ${a.namespace}` : ''}`;
}

/** Every single access a grant gives: one verb on one resource (and name, when named) or one path. */
export function accessesOf(grant: Grant): { grant: Grant; access: PolicyRule }[] {
  const r = grant.rule;
  const names = r.resourceNames?.length ? r.resourceNames.map((n) => [n]) : [undefined];
  return r.verbs.flatMap((verb): { grant: Grant; access: PolicyRule }[] =>
    r.nonResourceURLs
      ? r.nonResourceURLs.map((u) => ({ grant, access: { nonResourceURLs: [u], verbs: [verb] } }))
      : (r.apiGroups ?? []).flatMap((g) =>
          (r.resources ?? []).flatMap((res) => names.map((n) => ({ grant, access: { apiGroups: [g], resources: [res], verbs: [verb], ...(n ? { resourceNames: n } : {}) } }))),
        ),
  );
}
