/**
 * Throwaway pods for network tests: a client that fetches a list of URLs from inside the
 * cluster and reports what happened to each, and a tiny HTTP server to aim at. Both run
 * a Castle service image (it has `node`) under the restricted Pod Security Standard.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { setTimeout as delay } from 'node:timers/promises';
import { imageFor } from './tier-manifests.js';

/** What a probe pod should find at a URL: an HTTP answer, or no answer (a policy stops it). */
export type Expectation = 'open' | 'blocked';

/** One URL to try from a probe pod, and what the test expects there. */
export interface ProbeCheck {
  readonly url: string;
  readonly expect: Expectation;
}

/** What a probe pod saw for one URL: an HTTP answer, or the error that stopped it, after `attempts` tries. */
export interface ProbeResult {
  readonly url: string;
  readonly attempts: number;
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
}

// Network policies reach a new pod a moment after it starts (the plugin learns its IP from
// the API server, as with every plugin), so each URL is tried until it shows what the test
// expects or the settle time ends, and the last attempt is reported: a cluster that does
// not enforce policies keeps answering for the whole settle time and fails the test. A
// connection a policy drops times out (PROBE_TIMEOUT_MS), one it rejects fails at once.
// (CommonJS, as `node -e` runs it: hence require.)
const CLIENT = `(async () => {
  const checks = JSON.parse(process.env.PROBE_CHECKS);
  const perTry = Number(process.env.PROBE_TIMEOUT_MS);
  const settle = Number(process.env.PROBE_SETTLE_MS);
  // a new connection for every try (no keep-alive): a connection opened before the
  // policy arrived would stay established, and established connections are let through
  const attempt = (url) => new Promise((resolve) => {
    const req = require('node:http').get(url, { agent: false, timeout: perTry }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => (body += chunk)).on('end', () => resolve({ status: res.statusCode, body: body.slice(0, 200) }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => resolve({ error: String(e.code ?? e.message) }));
  });
  const run = async ({ url, expect }) => {
    const deadline = Date.now() + settle;
    for (let attempts = 1; ; attempts++) {
      const result = await attempt(url);
      const shown = expect === 'open' ? result.status !== undefined : result.error !== undefined;
      if (shown || Date.now() >= deadline) return { url, attempts, ...result };
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  console.log(JSON.stringify(await Promise.all(checks.map(run))));
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
 * Run a pod named `name` with `labels` in `namespace` that tries every URL of `checks`
 * (each try bounded by `perTryTimeoutMs`, retried until it shows the expected outcome or
 * `settleMs` pass), wait for it to finish and return what it saw last, in order.
 */
export async function probeFrom(
  kc: KubeConfig,
  namespace: string,
  name: string,
  labels: Record<string, string>,
  checks: readonly ProbeCheck[],
  { perTryTimeoutMs = 3_000, settleMs = 10_000, timeoutMs = 120_000 }: { perTryTimeoutMs?: number; settleMs?: number; timeoutMs?: number } = {},
): Promise<ProbeResult[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const body = restrictedPod(name, labels, CLIENT, {
    PROBE_CHECKS: JSON.stringify(checks),
    PROBE_TIMEOUT_MS: String(perTryTimeoutMs),
    PROBE_SETTLE_MS: String(settleMs),
  });
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
