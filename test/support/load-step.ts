/**
 * The load-step scenario of autoscaling, shared by the cluster test
 * (test/cluster/autoscaling.test.ts) and the benchmark (bench/load-step.ts): Castle rendered
 * with KEDA into a namespace, its ServiceMonitors so that Prometheus scrapes its pods, an open-loop
 * load at a baseline rate, a step up, and back; every second what the clients offered, got
 * served, saw shed or failed, and how many www replicas the Deployment had.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ApiException, AppsV1Api, AutoscalingV2Api, KubernetesObjectApi, type KubeConfig } from '@kubernetes/client-node';
import { render, type KubernetesObject } from '@castle/k8s';
import { stringify } from 'yaml';
import { HERMETIC_KUBECONFIG, dumpDiagnostics } from './cluster.js';
import { type LoadReport, startSteadyLoad, type SteadyLoad } from './steady-load.js';
import { imageFor } from './tier-manifests.js';

/** The built `castle` CLI (`npm run build`). */
const CASTLE_CLI = new URL('../../cli/dist/main.js', import.meta.url).pathname;

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Prometheus as KEDA reaches it inside the cluster (`CASTLE_PROMETHEUS_URL` overrides). */
export const PROMETHEUS_URL = process.env.CASTLE_PROMETHEUS_URL ?? 'http://prometheus.monitoring.svc:9090';

/** Whether the cluster serves KEDA's ScaledObject and the Prometheus Operator's ServiceMonitor. */
export async function autoscalingPrerequisites(kc: KubeConfig): Promise<string[]> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  const missing: string[] = [];
  for (const [apiVersion, kind, what] of [
    ['keda.sh/v1alpha1', 'ScaledObject', 'KEDA (bash cluster/addons.sh keda)'],
    ['monitoring.coreos.com/v1', 'ServiceMonitor', 'the monitoring stack (bash cluster/addons.sh monitoring)'],
  ] as const) {
    try {
      await client.list(apiVersion, kind, 'default');
    } catch {
      missing.push(`${kind} (${apiVersion}) is not served: install ${what}`);
    }
  }
  return missing;
}

/**
 * Renders `local` with KEDA (or the HPA) into `namespace` (images as loaded for tests; its
 * ServiceMonitors have Prometheus scrape the pods) and deploys it with `castle deploy`, as a
 * user would, which waits for the rollout; then waits until www has the autoscaler's minimum
 * of ready replicas and KEDA's HPA reads the request rate from Prometheus. Needs the CLI
 * built (`npm run build`). Dumps the namespace's diagnostics before rethrowing.
 */
export async function deployAutoscaled(
  kc: KubeConfig,
  namespace: string,
  {
    scaleDownStabilizationSeconds,
    autoscaler = 'keda',
    timeoutMs = 180_000,
  }: { scaleDownStabilizationSeconds: number; autoscaler?: 'keda' | 'hpa'; timeoutMs?: number },
): Promise<KubernetesObject[]> {
  const objects = render({ env: 'local', version, namespace, autoscaling: { autoscaler, prometheusUrl: PROMETHEUS_URL, scaleDownStabilizationSeconds } }).map((object) => {
    if (object.kind !== 'Deployment') return object;
    const withImage = structuredClone(object);
    for (const c of (withImage as unknown as { spec: { template: { spec: { containers: { name: string; image: string }[] } } } }).spec.template.spec.containers) c.image = imageFor(c.name);
    return withImage;
  });
  try {
    // The shortened scale-down window is no flag of castle's, so the rendered objects go in as --manifests.
    const file = join(mkdtempSync(join(tmpdir(), 'castle-autoscaled-')), 'manifests.yaml');
    writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
    const kubeconfig = process.env.KUBECONFIG ?? HERMETIC_KUBECONFIG;
    const cli = spawnSync(process.execPath, [CASTLE_CLI, 'deploy', '--manifests', file, '--namespace', namespace, '--release', 'castle', '--version', version, '--kubeconfig', kubeconfig], {
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    if (cli.status !== 0) throw new Error(`castle deploy of the autoscaled release exited ${cli.status ?? cli.signal}:\n${cli.stderr}`);
    const scaler = objects.find((o) => /ScaledObject|HorizontalPodAutoscaler/.test(o.kind) && o.metadata.name === 'www') as unknown as { spec: { minReplicaCount?: number; minReplicas?: number } };
    const min = scaler.spec.minReplicaCount ?? scaler.spec.minReplicas ?? 1;
    await waitFor(`www to have ${min} ready replicas (the HPA applies the minimum)`, timeoutMs, async () => (await replicas(kc, namespace)).ready >= min);
    if (autoscaler === 'keda') {
      await waitFor(`KEDA's HPA of www to read the request rate from Prometheus (${PROMETHEUS_URL}; are the ServiceMonitors scraped?)`, timeoutMs, async () => (await hpaMetric(kc, namespace)) !== undefined);
    }
  } catch (err) {
    await dumpDiagnostics(namespace, kc);
    throw err;
  }
  return objects;
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 404)) throw err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(1000);
  }
}

/** www's Deployment: replicas wanted and ready. */
export async function replicas(kc: KubeConfig, namespace: string): Promise<{ desired: number; ready: number }> {
  const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'www', namespace });
  return { desired: d.spec?.replicas ?? 0, ready: d.status?.readyReplicas ?? 0 };
}

/**
 * What KEDA's HPA of www last read for its request-rate trigger (the first, so KEDA names it
 * `s0-prometheus`), in requests per second per replica; undefined before the first read.
 */
export async function hpaMetric(kc: KubeConfig, namespace: string): Promise<number | undefined> {
  const hpa = await kc.makeApiClient(AutoscalingV2Api).readNamespacedHorizontalPodAutoscaler({ name: 'keda-hpa-www', namespace });
  const external = hpa.status?.currentMetrics?.find((m) => m.type === 'External' && m.external?.metric.name === 's0-prometheus');
  const value = external?.external?.current.averageValue ?? external?.external?.current.value;
  if (value === undefined) return undefined;
  const text = value.toString();
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

/** One second of the scenario. */
export interface StepSecond {
  readonly second: number;
  /** Requests per second offered in this second (the load's rate at the time). */
  readonly rate: number;
  readonly sent: number;
  readonly ok: number;
  readonly shed: number;
  readonly failed: number;
  /** www replicas wanted and ready at the end of this second. */
  readonly desired: number;
  readonly ready: number;
}

/** Phases of a step: rate and how long; a phase may end early when `until` holds. */
export interface Phase {
  readonly name: string;
  readonly rps: number;
  readonly maxSeconds: number;
  /** Checked every second with the seconds so far; the phase ends once it returns true. */
  readonly until?: (seconds: readonly StepSecond[], phaseStart: number) => boolean;
}

/** What {@link runPhases} saw. */
export interface StepRun {
  readonly seconds: readonly StepSecond[];
  /** Second at which each phase started. */
  readonly phaseStarts: Readonly<Record<string, number>>;
  readonly sent: number;
  readonly ok: number;
  readonly shed: number;
  readonly failed: number;
  readonly failures: LoadReport['misses'];
}

/**
 * Offers the phases' loads to `url` back to back: a baseline load runs throughout at the first
 * phase's rate and each later phase adds (or is) an extra open-loop load for the difference,
 * started on a whole second of the baseline, so every second's counts line up. Samples www's
 * replicas every second.
 */
export async function runPhases(kc: KubeConfig, namespace: string, url: string, phases: readonly Phase[]): Promise<StepRun> {
  const first = phases[0];
  if (!first) throw new Error('runPhases needs at least one phase');
  if (phases.some((p) => p.rps < first.rps)) throw new Error('every phase must offer at least the first phase\'s rate (the baseline keeps running)');
  const total = phases.reduce((n, p) => n + p.maxSeconds, 0) + 30;
  const base = startSteadyLoad(url, { rps: first.rps, maxDurationMs: total * 1000 });
  const started = performance.now();
  const extras: { load: SteadyLoad; offset: number }[] = [];
  const samples: { desired: number; ready: number }[] = [];
  const phaseStarts: Record<string, number> = {};
  const rates: number[] = [];
  let second = 0;

  const secondsSoFar = (): StepSecond[] => {
    const b = base.report().seconds;
    return samples.map((s, i) => {
      const own = b[i] ?? { sent: 0, ok: 0, shed: 0, failed: 0 };
      const add = { sent: 0, ok: 0, shed: 0, failed: 0 };
      for (const e of extras) {
        const x = e.load.report().seconds[i - e.offset];
        if (x) for (const k of ['sent', 'ok', 'shed', 'failed'] as const) add[k] += x[k];
      }
      return { second: i, rate: rates[i] ?? first.rps, sent: own.sent + add.sent, ok: own.ok + add.ok, shed: own.shed + add.shed, failed: own.failed + add.failed, ...s };
    });
  };

  try {
    for (const phase of phases) {
      phaseStarts[phase.name] = second;
      let extra: SteadyLoad | undefined;
      if (phase.rps > first.rps) {
        extra = startSteadyLoad(url, { rps: phase.rps - first.rps, maxDurationMs: phase.maxSeconds * 1000 + 5_000 });
        extras.push({ load: extra, offset: second });
      }
      const phaseStart = second;
      for (let i = 0; i < phase.maxSeconds; i++) {
        rates[second] = phase.rps;
        // The next whole second of the baseline's clock.
        await delay(Math.max(0, (second + 1) * 1000 - (performance.now() - started)));
        samples.push(await replicas(kc, namespace));
        second += 1;
        if (phase.until?.(secondsSoFar(), phaseStart)) break;
      }
      if (extra) await extra.stop();
    }
  } finally {
    await Promise.all([base.stop(), ...extras.map((e) => e.load.stop())]);
  }
  const seconds = secondsSoFar();
  const reports = [base.report(), ...extras.map((e) => e.load.report())];
  return {
    seconds,
    phaseStarts,
    sent: reports.reduce((n, r) => n + r.sent, 0),
    ok: reports.reduce((n, r) => n + r.ok, 0),
    shed: reports.reduce((n, r) => n + r.shed, 0),
    failed: reports.reduce((n, r) => n + r.failed, 0),
    failures: reports.flatMap((r) => r.misses.filter((m) => m.verdict === 'failed')),
  };
}

/** Sum of `key` over seconds [from, to). */
export function total(seconds: readonly StepSecond[], from: number, to: number, key: 'sent' | 'ok' | 'shed' | 'failed'): number {
  return seconds.slice(from, to).reduce((n, s) => n + s[key], 0);
}

/**
 * Seconds from `from` until capacity: the end of the first `window`-second span, starting at or
 * after `from`, in which the clients got at least `servedShare` of what they offered served.
 * Undefined if that never happened.
 */
export function timeToCapacity(seconds: readonly StepSecond[], from: number, { window = 5, servedShare = 0.97 } = {}): number | undefined {
  for (let s = from; s + window <= seconds.length; s++) {
    const sent = total(seconds, s, s + window, 'sent');
    if (sent > 0 && total(seconds, s, s + window, 'ok') >= servedShare * sent) return s + window - from;
  }
  return undefined;
}
