/**
 * What the `castle` CLI may do, derived from the calls it makes: the RBAC rules of the
 * deployer identity (see `deployer.ts`). Pure data; the CLI's tests run every command against
 * an in-memory API server that enforces these rules and fail on a call they do not grant, or
 * on a rule no call needs.
 */
import type { KubernetesObject } from './kubernetes-object.js';

/** A `castle` command, for saying which commands need a rule. */
export type CastleCommand = 'deploy' | 'rollback' | 'diff' | 'status' | 'history' | 'destroy' | 'doctor';

/** One RBAC rule of the deployer, with where it is granted and why. */
export interface DeployerRule {
  /** The namespace of the Role that grants it; undefined: the ClusterRole (cluster-scoped resources, discovery). */
  readonly namespace?: string;
  readonly apiGroups?: readonly string[];
  /** `resource` or `resource/subresource`. */
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
  readonly verbs: readonly string[];
  /** Why castle needs it. */
  readonly why: string;
  /** The commands that need it; a deploy's preflight insists on the rules of `deploy`. */
  readonly commands: readonly CastleCommand[];
}

/** A kind of object the release applies, with its API resource (from discovery, or {@link CASTLE_RESOURCES}). */
export interface DeployerKind {
  readonly apiVersion: string;
  readonly kind: string;
  /** The plural resource name, e.g. `deployments`. */
  readonly resource: string;
  readonly namespaced: boolean;
}

/** Where `castle status` asks Prometheus: a Service reached through the API server's service proxy. */
export interface PrometheusService {
  readonly namespace: string;
  readonly service: string;
  readonly port: number;
}

/** The CLI's default Prometheus (its `DEFAULT_PROMETHEUS`; a CLI test checks they agree). */
export const DEFAULT_PROMETHEUS_SERVICE: PrometheusService = { namespace: 'monitoring', service: 'prometheus', port: 9090 };

/** The API resource of every kind `render()` can emit. */
export const CASTLE_RESOURCES: Readonly<Record<string, { readonly resource: string; readonly namespaced: boolean }>> = {
  Namespace: { resource: 'namespaces', namespaced: false },
  ServiceAccount: { resource: 'serviceaccounts', namespaced: true },
  ConfigMap: { resource: 'configmaps', namespaced: true },
  NetworkPolicy: { resource: 'networkpolicies', namespaced: true },
  Service: { resource: 'services', namespaced: true },
  Deployment: { resource: 'deployments', namespaced: true },
  PodDisruptionBudget: { resource: 'poddisruptionbudgets', namespaced: true },
  ServiceMonitor: { resource: 'servicemonitors', namespaced: true },
  PrometheusRule: { resource: 'prometheusrules', namespaced: true },
  ScaledObject: { resource: 'scaledobjects', namespaced: true },
  HorizontalPodAutoscaler: { resource: 'horizontalpodautoscalers', namespaced: true },
};

/**
 * The distinct kinds of rendered objects, in order of first appearance.
 * @throws Error for a kind missing from {@link CASTLE_RESOURCES}
 */
export function castleKinds(objects: readonly KubernetesObject[]): DeployerKind[] {
  const seen = new Map<string, DeployerKind>();
  for (const o of objects) {
    const key = `${o.apiVersion}/${o.kind}`;
    if (seen.has(key)) continue;
    const known = CASTLE_RESOURCES[o.kind];
    if (!known) throw new Error(`no resource known for kind ${o.kind} (apiVersion ${o.apiVersion}): add it to CASTLE_RESOURCES`);
    seen.set(key, { apiVersion: o.apiVersion, kind: o.kind, ...known });
  }
  return [...seen.values()];
}

/** What {@link deployerRules} derives the rules from. */
export interface DeployerRulesInput {
  /** The release's namespace. */
  readonly namespace: string;
  /** The kinds the release applies. */
  readonly kinds: readonly DeployerKind[];
  /** @default DEFAULT_PROMETHEUS_SERVICE */
  readonly prometheus?: PrometheusService;
}

/** The API group of an apiVersion: '' for the core group. */
export const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.lastIndexOf('/')) : '');

/** The discovery document of an apiVersion: `/api/v1`, `/apis/apps/v1`. */
export const discoveryPath = (apiVersion: string): string => (apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);

const VERB_ORDER = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
const verbs = (...v: string[]): string[] => [...new Set(v)].sort((a, b) => VERB_ORDER.indexOf(a) - VERB_ORDER.indexOf(b));

/** API versions castle reads or writes whatever it deploys: the lock, the autoscalers it looks for, ReplicaSets, access reviews. */
const OWN_API_VERSIONS = ['v1', 'apps/v1', 'autoscaling/v2', 'coordination.k8s.io/v1', 'authorization.k8s.io/v1'];

const APPLY: readonly CastleCommand[] = ['deploy', 'rollback', 'diff', 'destroy'];
const ROLLOUT: readonly CastleCommand[] = ['deploy', 'rollback'];

/**
 * The smallest rules under which every `castle` command works for a release in `namespace`
 * applying `kinds`: a Role in the release's namespace, a Role in Prometheus' namespace (its
 * Service's proxy, by name) and a ClusterRole for what is cluster-scoped — the release's own
 * Namespace and Prometheus' by name, the nodes' image lists, access reviews and discovery. No
 * wildcard; no `create` of namespaces (the Namespace is made by whoever installs these rules).
 */
export function deployerRules({ namespace, kinds, prometheus = DEFAULT_PROMETHEUS_SERVICE }: DeployerRulesInput): DeployerRule[] {
  const ns = namespace;
  const hasNamespace = kinds.some((k) => k.kind === 'Namespace' && !k.namespaced);
  const namespaced = kinds.filter((k) => k.namespaced);
  const hpa = namespaced.find((k) => k.resource === 'horizontalpodautoscalers' && groupOf(k.apiVersion) === 'autoscaling');
  const apiVersions = [...new Set([...OWN_API_VERSIONS, ...kinds.map((k) => k.apiVersion)])];

  const cluster: DeployerRule[] = [
    {
      apiGroups: [''],
      resources: ['namespaces'],
      resourceNames: [ns],
      verbs: hasNamespace ? verbs('get', 'patch') : verbs('get'),
      why: hasNamespace
        ? "the release's Namespace: read before a deploy, a diff and a destroy; its labels applied with the manifests (server-side apply)"
        : "the release's Namespace: read before a deploy, a diff and a destroy",
      commands: APPLY,
    },
    ...(hasNamespace
      ? [{ apiGroups: [''], resources: ['namespaces'], resourceNames: [ns], verbs: ['delete'], why: "the release's Namespace, deleted last by destroy (with the Lease in it)", commands: ['destroy'] } satisfies DeployerRule]
      : []),
    {
      apiGroups: [''],
      resources: ['namespaces'],
      resourceNames: [prometheus.namespace],
      verbs: ['get'],
      why: "Prometheus' namespace: doctor checks it carries the labels the metrics NetworkPolicy admits",
      commands: ['doctor'],
    },
    { apiGroups: [''], resources: ['nodes'], verbs: ['list'], why: "the images present on the nodes (status.images), for doctor's image check", commands: ['doctor'] },
    {
      apiGroups: ['authorization.k8s.io'],
      resources: ['selfsubjectaccessreviews'],
      verbs: ['create'],
      why: 'doctor and the deploy preflight ask whether each of these rules is granted (also every authenticated user may, by system:basic-user)',
      commands: ['doctor'],
    },
    {
      nonResourceURLs: ['/version', '/apis', ...apiVersions.map(discoveryPath)],
      verbs: ['get'],
      why: "discovery: the server's version, which kinds it serves (the CRDs among them) and whether they are namespaced (also every authenticated user may, by system:discovery)",
      commands: ['deploy', 'rollback', 'diff', 'status', 'history', 'destroy', 'doctor'],
    },
  ];

  const inRelease: DeployerRule[] = [
    ...namespaced.map((k): DeployerRule => ({
      namespace: ns,
      apiGroups: [groupOf(k.apiVersion)],
      resources: [k.resource],
      verbs: k === hpa ? verbs('get', 'list', 'create', 'patch', 'delete') : verbs('get', 'create', 'patch', 'delete'),
      why: `the manifests' ${k.resource}: server-side apply (patch; create when new; a diff's dry run), read back by diff, prune and destroy, deleted by prune and destroy${k === hpa ? '; listed so a deploy leaves the replicas of autoscaled Deployments alone' : ''}${k.kind === 'Deployment' ? '; read by the rollout watch, the verdict and status' : ''}`,
      commands: k.kind === 'Deployment' ? [...APPLY, 'status'] : APPLY,
    })),
    ...(hpa
      ? []
      : [{ namespace: ns, apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['list'], why: 'listed so a deploy leaves the replicas of autoscaled Deployments alone (KEDA makes an HPA per ScaledObject)', commands: ['deploy', 'rollback', 'diff'] } satisfies DeployerRule]),
    {
      namespace: ns,
      apiGroups: [''],
      resources: ['secrets'],
      verbs: verbs('get', 'list', 'create', 'update', 'patch', 'delete'),
      why: "the release's records, one Secret per revision: listed by every command, created and updated (apply) by a deploy, marked failed by compare-and-swap (get, update) after a lost lock, deleted by the history limit and destroy",
      commands: ['deploy', 'rollback', 'diff', 'status', 'history', 'destroy'],
    },
    {
      namespace: ns,
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      verbs: verbs('get', 'create', 'update', 'delete'),
      why: "the release's lock: taken (get, create, or update an expired one), renewed by compare-and-swap (update), released (delete)",
      commands: ['deploy', 'rollback', 'destroy'],
    },
    { namespace: ns, apiGroups: ['apps'], resources: ['replicasets'], verbs: ['list'], why: "the rollout watch and the verdict find a Deployment's newest ReplicaSet and its pod-template-hash", commands: ROLLOUT },
    { namespace: ns, apiGroups: [''], resources: ['pods'], verbs: ['list'], why: "the rollout watch reads the new pods' container states (a missing image, a crash loop); the verdict picks its pods", commands: ROLLOUT },
    { namespace: ns, apiGroups: [''], resources: ['pods/log'], verbs: ['get'], why: 'the last log lines of a crashing container, printed with a failed rollout', commands: ROLLOUT },
    { namespace: ns, apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'], why: "the verdict reads each pod's /metrics through the API server's pod proxy", commands: ['deploy'] },
    { namespace: ns, apiGroups: [''], resources: ['services/proxy'], verbs: ['get'], why: "the smoke check's GET through the API server's service proxy", commands: ROLLOUT },
    { namespace: ns, apiGroups: [''], resources: ['events'], verbs: ['list'], why: 'the latest Warning event of a blocked pod or Deployment, printed with a failed rollout', commands: ROLLOUT },
  ];

  const inPrometheus: DeployerRule[] = [
    {
      namespace: prometheus.namespace,
      apiGroups: [''],
      resources: ['services/proxy'],
      resourceNames: [`${prometheus.service}:${prometheus.port}`],
      verbs: ['get'],
      why: "status's live traffic: PromQL queries to Prometheus through the API server's service proxy",
      commands: ['status'],
    },
  ];
  return [...cluster, ...inRelease, ...inPrometheus];
}
