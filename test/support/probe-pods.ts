/**
 * Throwaway pods for network tests: a client that fetches a list of URLs from inside the
 * cluster and reports what happened to each, and a tiny HTTP server to aim at. Both run
 * a Castle service image (it has `node`) under the restricted Pod Security Standard.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { setTimeout as delay } from 'node:timers/promises';
import { imageFor } from './tier-manifests.js';

/** What a probe pod saw for one URL: an HTTP answer, or the error that stopped it. */
export interface ProbeResult {
  readonly url: string;
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
}

// Every URL at once, each with its own deadline: a connection a policy drops times out,
// one it rejects fails at once; both are an `error`.
const CLIENT = `(async () => {
  const urls = JSON.parse(process.env.PROBE_URLS);
  const results = await Promise.all(urls.map(async (url) => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Number(process.env.PROBE_TIMEOUT_MS)) });
      return { url, status: res.status, body: (await res.text()).slice(0, 200) };
    } catch (e) {
      return { url, error: String(e?.cause?.code ?? e?.name ?? e) };
    }
  }));
  console.log(JSON.stringify(results));
})();`;

const SERVER = `require('node:http').createServer((_q, s) => s.end('open')).listen(8080);`;

function restrictedPod(name: string, labels: Record<string, string>, script: string, env: Record<string, string>): V1Pod {
  return {
    metadata: { name, labels },
    spec: {
      restartPolicy: 'Never',
      enableServiceLinks: false,
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 0,
      activeDeadlineSeconds: 300,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'probe',
          image: imageFor('backend'),
          imagePullPolicy: 'IfNotPresent',
          command: ['node', '-e', script],
          env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
          resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

async function waitForPod(core: CoreV1Api, namespace: string, name: string, done: (pod: V1Pod) => boolean, what: string, timeoutMs: number): Promise<V1Pod> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pod = await core.readNamespacedPod({ name, namespace });
    if (done(pod)) return pod;
    if (pod.status?.phase === 'Failed') throw new Error(`pod ${namespace}/${name} failed before ${what}: ${JSON.stringify(pod.status.containerStatuses ?? [])}`);
    if (Date.now() > deadline) throw new Error(`pod ${namespace}/${name} not ${what} within ${timeoutMs} ms: phase ${pod.status?.phase}, ${JSON.stringify(pod.status?.containerStatuses ?? [])}`);
    await delay(300);
  }
}

/**
 * Run a pod named `name` with `labels` in `namespace` that fetches every URL (each with
 * `perUrlTimeoutMs`), wait for it to finish and return what it saw, in order.
 */
export async function probeFrom(
  kc: KubeConfig,
  namespace: string,
  name: string,
  labels: Record<string, string>,
  urls: readonly string[],
  { perUrlTimeoutMs = 4_000, timeoutMs = 90_000 }: { perUrlTimeoutMs?: number; timeoutMs?: number } = {},
): Promise<ProbeResult[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const body = restrictedPod(name, labels, CLIENT, { PROBE_URLS: JSON.stringify(urls), PROBE_TIMEOUT_MS: String(perUrlTimeoutMs) });
  // a client listens nowhere: no readiness probe, so that it counts as done when it exits
  delete body.spec!.containers[0]!.readinessProbe;
  await core.createNamespacedPod({ namespace, body });
  await waitForPod(core, namespace, name, (p) => p.status?.phase === 'Succeeded', 'finished', timeoutMs);
  const log = await core.readNamespacedPodLog({ name, namespace, container: 'probe' });
  const last = log.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as ProbeResult[];
  } catch {
    throw new Error(`probe pod ${namespace}/${name} printed no result line; its log:\n${log}`);
  }
}

/**
 * Start a pod named `name` with `labels` in `namespace` that answers `open` to any HTTP
 * request on port 8080, wait until it is Ready and return its IP.
 */
export async function startHttpTarget(kc: KubeConfig, namespace: string, name: string, labels: Record<string, string>, timeoutMs = 90_000): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({ namespace, body: restrictedPod(name, labels, SERVER, {}) });
  const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && !!p.status.podIP;
  const pod = await waitForPod(core, namespace, name, ready, 'Ready', timeoutMs);
  return pod.status!.podIP!;
}

/** IP of a Ready pod matching `labelSelector` in `namespace`. */
export async function readyPodIp(kc: KubeConfig, namespace: string, labelSelector: string): Promise<string> {
  const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector });
  const pod = pods.items.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && p.status.podIP);
  if (!pod) throw new Error(`no Ready pod with ${labelSelector} in ${namespace}`);
  return pod.status!.podIP!;
}
