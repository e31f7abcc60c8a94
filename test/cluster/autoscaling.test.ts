/**
 * KEDA scales www on its request rate: Castle rendered with `autoscaling: { autoscaler: 'keda' }`
 * (local's settings otherwise), Prometheus scraping its pods through the rendered ServiceMonitors, an open-loop
 * load of 50 requests/s with a connection per request, a step to 90, and back. www must grow to
 * its maximum while the step lasts and shrink again after the (shortened) stabilisation window,
 * with no failed request at any time (capacity sheds are counted apart).
 *
 * Needs KEDA and the monitoring stack on the cluster (`bash cluster/addons.sh keda monitoring`):
 * without them the test fails when `CI` is set and is skipped otherwise.
 */
import { AutoscalingV2Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { closeServiceUrls, createTestNamespace, deleteNamespace, dumpDiagnostics, loadKubeConfig, serviceUrl } from '../support/cluster.js';
import { autoscalingPrerequisites, deployAutoscaled, runPhases, timeToCapacity, total, type StepSecond } from '../support/load-step.js';

const kc = loadKubeConfig();
const missing = await autoscalingPrerequisites(kc);
if (missing.length > 0 && process.env.CI) throw new Error(`the autoscaling test needs: ${missing.join('; ')}`);

const BASELINE = 50;
const STEP = 90;
// Short, so that the scale-down fits the test; production waits 180 s.
const STABILISATION_S = 20;

const atLeast = (n: number) => (seconds: readonly StepSecond[]) => (seconds.at(-1)?.ready ?? 0) >= n;

describe.skipIf(missing.length > 0)('autoscaling www with KEDA on a real cluster', () => {
  let namespace = '';
  let url = '';

  beforeAll(async () => {
    namespace = await createTestNamespace('castle-autoscale', kc);
    await deployAutoscaled(kc, namespace, { scaleDownStabilizationSeconds: STABILISATION_S });
    url = `${await serviceUrl(namespace, 'www', 80, kc)}/`;
  }, 240_000);

  afterAll(async () => {
    await closeServiceUrls();
    if (namespace) await deleteNamespace(namespace, { kc });
  });

  it('scales www up to its maximum under a step from 50 to 90 requests/s and back down at 50, with no failed request', async () => {
    onTestFailed(async () => {
      await dumpDiagnostics(namespace, kc);
      // What KEDA's HPA read from each trigger, and why it did or did not scale.
      const hpas = await kc.makeApiClient(AutoscalingV2Api).listNamespacedHorizontalPodAutoscaler({ namespace });
      for (const h of hpas.items) console.error(`hpa ${h.metadata?.name}: ${JSON.stringify({ currentMetrics: h.status?.currentMetrics, conditions: h.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`) })}`);
    });
    const run = await runPhases(kc, namespace, url, [
      // 50 rps at 7 per replica: KEDA holds ceil(50 / 7) = 8, or 7 while the measured rate
      // reads below 49 (with this test's short scale-down window).
      { name: 'baseline', rps: BASELINE, maxSeconds: 60, until: (s) => atLeast(8)(s) && s.length >= 15 },
      // 90 rps asks for 13, capped at the maximum of 10; then served ≈ offered for 10 s.
      { name: 'step', rps: STEP, maxSeconds: 75, until: (s, from) => atLeast(10)(s) && timeToCapacity(s, from) !== undefined && s.length - from >= 30 },
      { name: 'back', rps: BASELINE, maxSeconds: 90, until: (s) => (s.at(-1)?.desired ?? 99) <= 8 && (s.at(-1)?.ready ?? 99) <= 8 },
    ]);
    const { seconds, phaseStarts } = run;
    const step = phaseStarts.step ?? 0;
    const back = phaseStarts.back ?? 0;
    const summary = {
      replicasBeforeStep: seconds[step - 1]?.ready,
      maxReady: Math.max(...seconds.map((s) => s.ready)),
      timeToCapacityS: timeToCapacity(seconds, step),
      shedDuringStep: total(seconds, step, back, 'shed'),
      sentDuringStep: total(seconds, step, back, 'sent'),
      replicasAtEnd: seconds.at(-1)?.desired,
      scaleDownS: seconds.length - back,
      sent: run.sent,
      shed: run.shed,
      failed: run.failed,
    };
    console.error(`autoscaling: ${JSON.stringify(summary)}`);
    // Every 5 s: the phase's offered rate, www replicas desired/ready, and the sheds of those 5 s.
    const timeline = seconds.filter((s) => s.second % 5 === 0).map((s) => `${s.second}s ${s.rate}rps ${s.desired}/${s.ready} shed ${total(seconds, s.second, s.second + 5, 'shed')}`);
    console.error(`autoscaling timeline: ${timeline.join('; ')}`);

    expect(run.failures, 'failed requests (sheds are counted apart)').toEqual([]);
    expect(summary.replicasBeforeStep).toBeGreaterThanOrEqual(7);
    expect(summary.maxReady).toBe(10);
    expect(summary.timeToCapacityS, 'seconds from the step until ≥ 97% of the offered load was served over 5 s').toBeLessThanOrEqual(60);
    expect(summary.replicasAtEnd, 'www back at ceil(50 / 7) or below after the stabilisation window').toBeLessThanOrEqual(8);
  }, 300_000);
});
