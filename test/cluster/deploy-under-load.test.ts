/**
 * The deploy scenarios of the issue, end to end under a steady 50 requests/s on www counted
 * at the client: `castle deploy --env local` of one version, a rollout to the next, random
 * graceful pod deletions, SIGKILLed containers, a version that never becomes ready, a
 * version that answers errors (failed by the rollout verdict), then rollback, diff, status,
 * a second namespace, and destroy. One namespace and one background load for the whole
 * file; each step records what the clients saw over its window and how long its rollout
 * took, and the end prints them as a table (and writes .ci-results/deploy-under-load.json
 * when CI's results directory exists).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, globSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig, KubernetesObjectApi, type V1Pod } from '@kubernetes/client-node';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { closeServiceUrls, createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig, serviceUrl } from '../support/cluster.js';
import { waitForRollout } from '../support/cluster-rollout.js';
import { describeLoad, type LoadReport, type SteadyLoad, startSteadyLoad } from '../support/steady-load.js';
import { buildCli, castle, type CliRun, oneJson } from './cli/support.js';

const root = resolve(import.meta.dirname, '../..');
const RPS = 50;
const RELEASE_LABEL = 'castle.dev/release=castle';

/** What the clients saw over one step, and how long its rollout took. */
interface StepResult {
  readonly step: string;
  readonly sent: number;
  readonly failed: number;
  readonly shed: number;
  readonly rolloutMs?: number;
  readonly note?: string;
}

// ---- images: every version is the dev build under another tag, except the two broken ones ----

/** www that is alive (/healthz 200) but never ready (/readyz 503). */
const neverReady = `require('node:http').createServer((q, s) => { s.statusCode = q.url === '/healthz' ? 200 : 503; s.end(); }).listen(8080); process.on('SIGTERM', () => process.exit(0));`;

function dockerBuild(tag: string, dockerfile: string): void {
  execFileSync('docker', ['build', '--quiet', '-t', tag, '-'], { input: dockerfile, stdio: ['pipe', 'ignore', 'pipe'] });
}

function prepareImages(): void {
  const tags: [string, string][] = [
    ['castle/backend:dev', 'castle/backend:1.0.0'],
    ['castle/backend:dev', 'castle/backend:1.1.0'],
    ['castle/backend:dev', 'castle/backend:1.2.0'],
    ['castle/www:dev', 'castle/www:1.0.0'],
    ['castle/www:dev', 'castle/www:1.1.0'],
    ['castle/www:dev', 'castle/www:1.3.0'],
  ];
  for (const [from, to] of tags) execFileSync('docker', ['tag', from, to]);
  dockerBuild('castle/www:1.2.0', `FROM castle/www:dev\nENTRYPOINT ${JSON.stringify(['node', '-e', neverReady])}\n`);
  // The ConfigMap sets BACKEND_ERROR_RATE=0, and envFrom wins over an image's ENV: set it at exec.
  dockerBuild('castle/backend:1.3.0', `FROM castle/backend:dev\nENTRYPOINT ["env", "BACKEND_ERROR_RATE=0.2", "node", "dist/server.js"]\n`);
  execFileSync('bash', [join(root, 'cluster/load-images.sh'), ...tags.map(([, to]) => to), 'castle/www:1.2.0', 'castle/backend:1.3.0'], { stdio: 'inherit' });
}

// ---- the cluster's runtime, for SIGKILL ----

function crictl(args: readonly string[]): string {
  const bin = globSync(`${process.env.CASTLE_CACHE_DIR ?? '/var/cache/castle'}/k8s-*/bin/crictl`)[0];
  if (!bin) throw new Error('crictl of the hermetic cluster not found under /var/cache/castle/k8s-*/bin; is this the hermetic cluster?');
  const sock = join(process.env.CASTLE_K8S_RUN_DIR ?? '/run/castle-k8s', 'containerd.sock');
  return execFileSync(bin, ['--runtime-endpoint', `unix://${sock}`, '--timeout', '30s', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** SIGKILL the main process of the pod's first container, from the host, and return its restart count before. */
function sigkill(pod: V1Pod): number {
  const status = pod.status?.containerStatuses?.[0];
  const id = status?.containerID?.replace(/^containerd:\/\//, '');
  if (!id) throw new Error(`pod ${pod.metadata?.name} has no running container`);
  const pid = (JSON.parse(crictl(['inspect', id])) as { info?: { pid?: number } }).info?.pid;
  if (!pid) throw new Error(`crictl inspect ${id}: no pid`);
  process.kill(pid, 'SIGKILL');
  return status?.restartCount ?? 0;
}

// ---- pods ----

const isReady = (p: V1Pod): boolean => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('nothing to pick from');
  return item;
}

// ---- windows over the load ----

/** Resolve once every request started before `toMs` (load time) has settled; bounded by the client deadline. */
async function settled(load: SteadyLoad, toMs: number): Promise<LoadReport> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = load.report();
    const upTo = r.seconds.filter((s) => s.second < Math.ceil(toMs / 1000));
    if (upTo.every((s) => s.sent === s.ok + s.shed + s.failed)) return r;
    if (Date.now() > deadline) throw new Error(`requests sent before ${toMs} ms still unsettled after 15 s`);
    await delay(200);
  }
}

describe('castle deploys under a steady 50 requests/s on www', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;
  let namespace = '';
  let second = '';
  let load: SteadyLoad | undefined;
  let loadStarted = 0;
  let target = '';
  const results: StepResult[] = [];
  const now = (): number => performance.now() - loadStarted;

  /** Counts of the whole seconds of load time covering [fromMs, toMs), once settled. */
  const measure = async (step: string, fromMs: number, toMs: number, extra: Partial<StepResult> = {}): Promise<StepResult> => {
    if (!load) throw new Error('the load is not running');
    const r = await settled(load, toMs);
    const [from, to] = [Math.floor(fromMs / 1000), Math.ceil(toMs / 1000)];
    const seconds = r.seconds.filter((s) => s.second >= from && s.second < to);
    const misses = r.misses.filter((m) => m.at >= from * 1000 && m.at < to * 1000);
    const result: StepResult = {
      step,
      sent: seconds.reduce((n, s) => n + s.sent, 0),
      failed: seconds.reduce((n, s) => n + s.failed, 0),
      shed: seconds.reduce((n, s) => n + s.shed, 0),
      ...extra,
    };
    results.push(result);
    console.log(`${step}: ${result.sent} sent, ${result.failed} failed, ${result.shed} shed${result.rolloutMs === undefined ? '' : `, rollout ${(result.rolloutMs / 1000).toFixed(1)} s`}`);
    if (misses.length > 0) console.log(`  misses (ms since load start, verdict, status, code): ${misses.map((m) => `${m.at} ${m.verdict} ${m.what}${m.code ? ` ${m.code}` : ''}`).join('; ')}`);
    return result;
  };

  const pods = async (tier: string): Promise<V1Pod[]> =>
    (await core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/name=${tier}` })).items;

  const deploy = (version: string, ...flags: string[]): Promise<CliRun> =>
    castle(['deploy', '--env', 'local', '--version', version, '--namespace', namespace, '--output', 'json', ...flags]);

  const diagnose = (): void => {
    onTestFailed(async () => {
      if (load) console.log(`load so far: ${describeLoad(load.report())}`);
      await dumpDiagnostics(namespace, kc);
    });
  };

  beforeAll(async () => {
    buildCli();
    prepareImages();
    kc = loadKubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    namespace = await createTestNamespace('castle-load', kc);
    second = `${namespace.slice(0, 50)}-b`;
  });

  afterAll(async () => {
    const report = await load?.stop();
    if (report) console.log(`whole run: ${describeLoad(report)}`);
    const rows = results.map((r) => `| ${r.step.padEnd(44)} | ${String(r.sent).padStart(5)} | ${String(r.failed).padStart(6)} | ${String(r.shed).padStart(4)} | ${r.rolloutMs === undefined ? '      ' : `${(r.rolloutMs / 1000).toFixed(1).padStart(5)}s`} | ${r.note ?? ''}`);
    console.log(['', `deploy under load: ${RPS} rps on ${target}`, '| step                                         |  sent | failed | shed | rollout | note', ...rows].join('\n'));
    const dir = join(root, '.ci-results');
    if (existsSync(dir)) writeFileSync(join(dir, 'deploy-under-load.json'), `${JSON.stringify({ rps: RPS, target, steps: results, whole: report && { ...report, seconds: undefined } }, null, 2)}\n`);
    await closeServiceUrls();
    for (const ns of [namespace, second]) if (ns) await deleteNamespace(ns, { kc }).catch((e: unknown) => console.log(`cleanup of ${ns}: ${String(e)}`));
  });

  it('deploys 1.0.0 to the local environment, passes its smoke check, and serves through the LoadBalancer address', async () => {
    diagnose();
    const run = await deploy('1.0.0');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/✓ Smoke check/);
    // MetalLB assigns the address; fall back to the ClusterIP only when none appears in time.
    let ip: string | undefined;
    const deadline = Date.now() + 60_000;
    while (!ip && Date.now() < deadline) {
      ip = (await core.readNamespacedService({ name: 'www', namespace })).status?.loadBalancer?.ingress?.[0]?.ip;
      if (!ip) await delay(500);
    }
    if (ip) {
      target = `http://${ip}:80/`;
    } else {
      target = `${await serviceUrl(namespace, 'www', 80, kc)}/`;
      console.log(`NOTE: www got no LoadBalancer address within 60 s; the load targets its ClusterIP ${target} instead`);
    }
    let status = 0;
    for (const until = Date.now() + 30_000; status !== 200 && Date.now() < until; ) {
      status = await request(target, { headers: { connection: 'close' }, headersTimeout: 2_000 })
        .then(async (r) => (await r.body.dump(), r.statusCode))
        .catch(() => 0);
      if (status !== 200) await delay(250);
    }
    expect(status, `GET ${target}`).toBe(200);
    loadStarted = performance.now();
    load = startSteadyLoad(target, { rps: RPS, maxDurationMs: 8 * 60_000 });
    results.push({ step: '1 deploy 1.0.0 (before the load)', sent: 0, failed: 0, shed: 0, rolloutMs: run.ms, note: ip ? `LoadBalancer ${ip}` : 'ClusterIP fallback' });
  });

  it('rolls out 1.1.0 of both tiers with no failed request', async () => {
    diagnose();
    const from = now();
    const run = await deploy('1.1.0');
    const step = await measure('2 roll out 1.1.0', from, now(), { rolloutMs: run.ms });
    expect(run.code, run.stderr).toBe(0);
    expect(step.sent).toBeGreaterThan(0);
    expect(step.failed).toBe(0);
  });

  it('loses no request while random www and backend pods are deleted gracefully every few seconds', async () => {
    diagnose();
    const from = now();
    const until = Date.now() + 45_000;
    let deleted = 0;
    for (let i = 0; Date.now() < until; i++) {
      const tier = i % 2 === 0 ? 'www' : 'backend';
      const ready = (await pods(tier)).filter(isReady);
      // Keep one backend serving: with two replicas, wait for the last deletion's replacement.
      if (ready.length >= 2) {
        await core.deleteNamespacedPod({ name: pick(ready).metadata?.name ?? '', namespace });
        deleted += 1;
      }
      await delay(4_000);
    }
    await waitForRollout(kc, namespace, 'www', 120_000);
    await waitForRollout(kc, namespace, 'backend', 120_000);
    const step = await measure('3 graceful pod deletions', from, now(), { note: `${deleted} pods deleted` });
    expect(deleted).toBeGreaterThanOrEqual(8);
    expect(step.failed).toBe(0);
  });

  it('serves 99.9% while a backend container is SIGKILLed, and a SIGKILLed www pod fails about what it held and serves again within 30 s', async () => {
    diagnose();
    // Backend: the pod restarts its container in place; www retries a broken connection once.
    const backendPod = pick((await pods('backend')).filter(isReady));
    const from = now();
    const before = sigkill(backendPod);
    const backendBack = await readyAgain(backendPod, before, 30_000);
    // A minute of 50 rps: the kill costs the requests that met its refused connections in
    // the second or so before it left the endpoints (0–3 measured), 99.9% allows three.
    await delay(Math.max(0, 60_000 - (now() - from)));
    const backend = await measure('4a SIGKILL a backend container', from, now(), { note: `ready again after ${(backendBack / 1000).toFixed(1)} s` });

    // www: what the killed process held (queued behind its limiter, or in flight) is lost.
    const wwwPod = pick((await pods('www')).filter(isReady));
    const name = wwwPod.metadata?.name ?? '';
    const held = await core
      .connectGetNamespacedPodProxyWithPath({ name: `${name}:9090`, namespace, path: 'metrics' })
      .then((text) => Number(/^www_limiter_held_requests(?:\{[^}]*\})? (\d+)/m.exec(String(text))?.[1] ?? Number.NaN))
      .catch(() => Number.NaN);
    // Capacity 10 rps × 1 s of queue, plus the one in progress: what one www process can hold.
    const heldNote = Number.isNaN(held) ? 'held unreadable (bound: 10 rps × 1 s + 1 = 11)' : `it held ${held} just before`;
    const wwwFrom = now();
    const wwwBefore = sigkill(wwwPod);
    const wwwBack = await readyAgain(wwwPod, wwwBefore, 30_000);
    await delay(Math.max(0, 10_000 - (now() - wwwFrom)));
    const www = await measure('4b SIGKILL a www container', wwwFrom, now(), { note: `${heldNote}; ready again after ${(wwwBack / 1000).toFixed(1)} s` });

    expect(backend.sent).toBeGreaterThan(2_500);
    expect((backend.sent - backend.failed) / backend.sent).toBeGreaterThanOrEqual(0.999);
    expect(wwwBack).toBeLessThan(30_000);
    expect(www.sent).toBeGreaterThan(0);
  });

  /** Milliseconds until the pod's container has restarted and the pod is Ready again. */
  async function readyAgain(pod: V1Pod, restartsBefore: number, timeoutMs: number): Promise<number> {
    const started = Date.now();
    const name = pod.metadata?.name ?? '';
    for (;;) {
      const p = await core.readNamespacedPod({ name, namespace });
      if ((p.status?.containerStatuses?.[0]?.restartCount ?? 0) > restartsBefore && isReady(p)) return Date.now() - started;
      if (Date.now() - started > timeoutMs) throw new Error(`pod ${name} not restarted and Ready within ${timeoutMs} ms: ${JSON.stringify(p.status?.containerStatuses)}`);
      await delay(250);
    }
  }

  it('rolls back a version that never becomes ready by itself, with no failed request, and records it failed', async () => {
    diagnose();
    const from = now();
    const run = await deploy('1.2.0', '--progress-deadline', '30');
    const step = await measure('5 never-ready 1.2.0, rolled back', from, now(), { rolloutMs: run.ms });
    expect(run.code, run.stderr).toBe(1);
    expect(oneJson(run.stdout)).toMatchObject({ ok: false });
    const history = oneJson((await castle(['history', '--namespace', namespace, '--output', 'json', '--quiet'])).stdout).result as {
      revisions: { version: string; status: string }[];
    };
    expect(history.revisions.filter((r) => r.version === '1.2.0').map((r) => r.status)).toEqual(['failed']);
    expect(step.failed).toBe(0);
  });

  it('fails a version that answers 20% errors by the rollout verdict, with most backend pods still old, and rolls it back', async () => {
    diagnose();
    const from = now();
    const run = await deploy('1.3.0', '--verdict-window', '20', '--verdict-deployment', 'backend');
    const step = await measure('6 erroring 1.3.0, verdict fail', from, now(), { rolloutMs: run.ms, note: 'client errors while 1 of 4 backend pods erred' });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/window of 20 s over 1 new and 3 old pods/);
    expect(run.stderr).toMatch(/✗ Verdict on Deployment\/backend[\s\S]*rollout verdict fail/);
    expect(step.sent).toBeGreaterThan(0);
  });

  it('rolls back skipping failed revisions, shows no diff, reports status as one document, deploys a second namespace, and destroys both', async () => {
    diagnose();
    const from = now();
    const rollback = await castle(['rollback', '--namespace', namespace, '--output', 'json']);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stderr).toMatch(/skipping revision \d+ \(failed/);
    const version = (oneJson(rollback.stdout).result as { version?: string }).version ?? '';
    expect(version).toMatch(/^1\.[01]\.0$/);
    const rolledBack = now();
    await measure('7 rollback', from, rolledBack, { rolloutMs: rollback.ms, note: `to ${version}` });

    const diff = await castle(['diff', '--env', 'local', '--version', version, '--namespace', namespace]);
    expect(diff.code, diff.stdout + diff.stderr).toBe(0);
    const status = await castle(['status', '--namespace', namespace, '--output', 'json']);
    expect(status.code, status.stderr).toBe(0);
    expect(oneJson(status.stdout)).toMatchObject({ schemaVersion: 1, ok: true });

    const elsewhere = await castle(['deploy', '--env', 'local', '--version', version, '--namespace', second, '--output', 'json']);
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    results.push({ step: '7 deploy to a second namespace', sent: 0, failed: 0, shed: 0, rolloutMs: elsewhere.ms, note: 'its load is in the next row' });

    await measure('7 diff, status, second namespace', rolledBack, now());
    await load?.stop();
    for (const ns of [namespace, second]) {
      const destroy = await castle(['destroy', '--namespace', ns, '--yes']);
      expect(destroy.code, destroy.stderr).toBe(0);
    }
    const objects = KubernetesObjectApi.makeApiClient(kc);
    for (const ns of [namespace, second]) {
      await expect(core.readNamespace({ name: ns })).rejects.toThrow();
      for (const [apiVersion, kind] of [
        ['apps/v1', 'Deployment'],
        ['v1', 'Service'],
        ['v1', 'ConfigMap'],
        ['v1', 'Secret'],
      ] as const) {
        const left = await objects.list(apiVersion, kind, ns, undefined, undefined, undefined, undefined, RELEASE_LABEL);
        expect(left.items.map((o) => o.metadata?.name), `${kind} left in ${ns}`).toEqual([]);
      }
    }
  });
});
