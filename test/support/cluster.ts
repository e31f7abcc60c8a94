/**
 * Helpers for tests against a real Kubernetes cluster (`test/cluster/**`): the
 * hermetic cluster of `npm run cluster:up`, kind, EKS or any other cluster that a
 * kubeconfig points to.
 *
 * A test takes a fresh namespace, deploys into it, reaches Services with
 * {@link serviceUrl}, dumps diagnostics when it fails and deletes the namespace.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  PortForward,
  type V1Pod,
} from '@kubernetes/client-node';

/** Where `npm run cluster:up` writes the hermetic cluster's admin kubeconfig. */
export const HERMETIC_KUBECONFIG = '/var/lib/castle-k8s/kubeconfig';

/** API server URL of the hermetic cluster (its node IP on the host's lo). */
export const HERMETIC_SERVER = 'https://198.18.0.1:6443';

/** Where the hermetic cluster's MetalLB takes LoadBalancer addresses from (cluster/lib.sh LB_POOL). */
export const HERMETIC_LB_POOL = '198.18.2.0/24';

/** How {@link serviceUrl} reaches a Service from the machine running the tests. */
export type ServiceAccessMode = 'cluster-ip' | 'port-forward';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function isNotFound(error: unknown): boolean {
  return error instanceof ApiException && error.code === 404;
}

/**
 * Load the kubeconfig: `KUBECONFIG` when set (with `KUBE_CONTEXT` choosing a context),
 * else the hermetic cluster's, else `~/.kube/config`.
 * @throws when none exists, naming what to do.
 */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  if (process.env.KUBECONFIG) {
    kc.loadFromDefault();
  } else if (existsSync(HERMETIC_KUBECONFIG)) {
    kc.loadFromFile(HERMETIC_KUBECONFIG);
  } else if (existsSync(join(homedir(), '.kube', 'config'))) {
    kc.loadFromDefault();
  } else {
    throw new Error(
      `no kubeconfig: set KUBECONFIG, or start the hermetic cluster with "npm run cluster:up" (writes ${HERMETIC_KUBECONFIG})`,
    );
  }
  const context = process.env.KUBE_CONTEXT;
  if (context) kc.setCurrentContext(context);
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig has no cluster for context "${kc.getCurrentContext()}"`);
  return kc;
}

/**
 * Pod Security Standards labels of every namespace Castle's tests create: the API server
 * refuses any pod that is not `restricted` (non-root, RuntimeDefault seccomp, no privilege
 * escalation, every capability dropped), and warns and audits the same.
 */
export const RESTRICTED_POD_SECURITY: Readonly<Record<string, string>> = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/audit': 'restricted',
};

/**
 * Create a namespace named `<prefix>-<random>` labelled `castle.dev/test=true` and with
 * {@link RESTRICTED_POD_SECURITY} enforced, and wait until its default ServiceAccount
 * exists (pods are rejected before that).
 * @returns the namespace name
 */
export async function createTestNamespace(prefix: string, kc: KubeConfig = loadKubeConfig()): Promise<string> {
  const base = prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'test';
  const name = `${base}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name, labels: { 'castle.dev/test': 'true', ...RESTRICTED_POD_SECURITY } } } });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return name;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (Date.now() > deadline) throw new Error(`namespace ${name}: default ServiceAccount not created within 30s`);
      await sleep(200);
    }
  }
}

/** Delete a namespace and wait until it is gone (default 120 s). Missing namespaces are fine. */
export async function deleteNamespace(
  name: string,
  { timeoutMs = 120_000, kc = loadKubeConfig() }: { timeoutMs?: number; kc?: KubeConfig } = {},
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.deleteNamespace({ name });
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await core.readNamespace({ name });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (Date.now() > deadline) throw new Error(`namespace ${name} still exists ${timeoutMs} ms after deletion`);
    await sleep(500);
  }
}

async function podLogs(core: CoreV1Api, pod: V1Pod): Promise<string[]> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? '';
  const out: string[] = [];
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const runs = status.restartCount > 0 ? [false, true] : [false];
    for (const previous of runs) {
      const label = `--- logs ${namespace}/${name} [${status.name}]${previous ? ' (previous)' : ''}`;
      try {
        const log = await core.readNamespacedPodLog({ name, namespace, container: status.name, previous, tailLines: 200 });
        out.push(label, log.trimEnd());
      } catch (error) {
        out.push(label, `(unavailable: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
      }
    }
  }
  return out;
}

/**
 * Print (to stderr) and return the state of a namespace for a failed test: every pod
 * with its container states, current and previous logs, and the namespace's events.
 */
export async function dumpDiagnostics(namespace: string, kc: KubeConfig = loadKubeConfig()): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const lines = [`===== diagnostics for namespace ${namespace} =====`];
  try {
    const pods = await core.listNamespacedPod({ namespace });
    for (const pod of pods.items) {
      const states = (pod.status?.containerStatuses ?? []).map(
        (s) => `${s.name}: ready=${s.ready} restarts=${s.restartCount} ${JSON.stringify(s.state ?? {})}`,
      );
      lines.push(`--- pod ${pod.metadata?.name} phase=${pod.status?.phase} node=${pod.spec?.nodeName ?? '-'}`, ...states);
      lines.push(...(await podLogs(core, pod)));
    }
    const events = await core.listNamespacedEvent({ namespace });
    const time = (e: (typeof events.items)[number]): string => {
      const at: unknown = e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      if (at instanceof Date) return at.toISOString();
      return typeof at === 'string' ? at : '';
    };
    lines.push('--- events');
    for (const e of events.items.sort((a, b) => time(a).localeCompare(time(b)))) {
      lines.push(`${time(e)} ${e.type} ${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason}: ${e.message}`);
    }
  } catch (error) {
    lines.push(`(could not read namespace ${namespace}: ${error instanceof Error ? error.message : String(error)})`);
  }
  const text = lines.join('\n');
  console.error(text);
  return text;
}

/** The access mode: `CASTLE_SERVICE_ACCESS`, else cluster-ip on the hermetic cluster and port-forward elsewhere. */
export function serviceAccessMode(kc: KubeConfig = loadKubeConfig()): ServiceAccessMode {
  const mode = process.env.CASTLE_SERVICE_ACCESS;
  if (mode === 'cluster-ip' || mode === 'port-forward') return mode;
  if (mode) throw new Error(`CASTLE_SERVICE_ACCESS must be cluster-ip or port-forward, not "${mode}"`);
  return kc.getCurrentCluster()?.server === HERMETIC_SERVER ? 'cluster-ip' : 'port-forward';
}

const forwarders = new Set<net.Server>();

/**
 * A base URL (`http://host:port`, no trailing slash) reachable from this machine for
 * port `port` of a Service. On the hermetic cluster that is the ClusterIP itself (the
 * host routes the Service range to the cluster bridge and kube-proxy answers). On
 * other clusters (kind, EKS) it is a local port forwarded through the API server to a
 * ready endpoint of the Service; close those with {@link closeServiceUrls}. In
 * cluster-ip mode it waits (up to 30 s) until the ClusterIP accepts TCP connections.
 */
export async function serviceUrl(
  namespace: string,
  service: string,
  port: number,
  kc: KubeConfig = loadKubeConfig(),
): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const svc = await core.readNamespacedService({ name: service, namespace });
  const svcPort = svc.spec?.ports?.find((p) => p.port === port);
  if (!svcPort) throw new Error(`service ${namespace}/${service} has no port ${port}`);
  if (serviceAccessMode(kc) === 'cluster-ip') {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None') throw new Error(`service ${namespace}/${service} has no ClusterIP`);
    await waitForTcp(ip, port, 30_000);
    return `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
  }
  return forwardToEndpoint(kc, namespace, service, svcPort.name);
}

/**
 * A base URL (`http://address:port`, no trailing slash) of a Service of type
 * LoadBalancer, at the address its load balancer gave it: on the hermetic cluster an
 * address of MetalLB's pool ({@link HERMETIC_LB_POOL}, routed from this host to the
 * cluster bridge), on EKS the load balancer's name. Waits (default 60 s) for the
 * address, then (30 s) until it accepts TCP connections.
 * @throws when the Service is not of type LoadBalancer or gets no address in time,
 *   naming what to check.
 */
export async function loadBalancerUrl(
  namespace: string,
  service: string,
  port: number,
  { timeoutMs = 60_000, kc = loadKubeConfig() }: { timeoutMs?: number; kc?: KubeConfig } = {},
): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const svc = await core.readNamespacedService({ name: service, namespace });
    if (svc.spec?.type !== 'LoadBalancer') {
      throw new Error(`service ${namespace}/${service} is of type ${svc.spec?.type ?? 'ClusterIP'}, not LoadBalancer: it will never get a load balancer address`);
    }
    if (!svc.spec.ports?.some((p) => p.port === port)) throw new Error(`service ${namespace}/${service} has no port ${port}`);
    const ingress = svc.status?.loadBalancer?.ingress?.[0];
    const address = ingress?.ip ?? ingress?.hostname;
    if (address) {
      await waitForTcp(address, port, 30_000);
      return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `service ${namespace}/${service} got no LoadBalancer address within ${timeoutMs} ms (status.loadBalancer.ingress is empty). ` +
          'Check that a load balancer controller runs and has free addresses: on the hermetic cluster MetalLB ' +
          '(kubectl -n metallb-system get pods; kubectl -n metallb-system logs deployment/controller; ' +
          `kubectl -n metallb-system get ipaddresspools -o yaml, pool ${HERMETIC_LB_POOL}; restart with npm run cluster:up), ` +
          `and the Service's events (kubectl -n ${namespace} describe service ${service}).`,
      );
    }
    await sleep(500);
  }
}

/** Resolve once a TCP connection to host:port succeeds: kube-proxy programs a new Service a moment after its pods are Ready. */
async function waitForTcp(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const error = await new Promise<Error | undefined>((resolve) => {
      const socket = net.connect({ host, port, timeout: 1_000 });
      socket.once('connect', () => {
        socket.destroy();
        resolve(undefined);
      });
      socket.once('timeout', () => {
        socket.destroy();
        resolve(new Error('connect timed out'));
      });
      socket.once('error', resolve);
    });
    if (!error) return;
    if (Date.now() > deadline) throw new Error(`${host}:${port} not reachable within ${timeoutMs} ms: ${error.message}`);
    await sleep(250);
  }
}

async function forwardToEndpoint(kc: KubeConfig, namespace: string, service: string, portName?: string): Promise<string> {
  const slices = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({
    namespace,
    labelSelector: `kubernetes.io/service-name=${service}`,
  });
  for (const slice of slices.items) {
    const target = slice.ports?.find((p) => (p.name ?? '') === (portName ?? ''))?.port;
    const endpoint = (slice.endpoints ?? []).find((e) => e.conditions?.ready !== false && e.targetRef?.kind === 'Pod');
    const pod = endpoint?.targetRef?.name;
    if (target === undefined || !pod) continue;
    const forward = new PortForward(kc);
    const server = net.createServer((socket) => {
      forward.portForward(namespace, pod, [target], socket, null, socket).catch(() => socket.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    forwarders.add(server);
    return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }
  throw new Error(`service ${namespace}/${service} has no ready pod endpoint to forward to`);
}

/** Close every local port opened by {@link serviceUrl} in port-forward mode. */
export async function closeServiceUrls(): Promise<void> {
  const servers = [...forwarders];
  forwarders.clear();
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
}
