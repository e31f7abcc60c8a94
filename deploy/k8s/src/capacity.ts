/**
 * The capacity model of www: how many replicas a load needs, and the request rate per replica
 * an autoscaler should aim at. Pure; no I/O.
 *
 * Replicas cannot be `load ÷ capacity`: arrivals are random, so a replica at 100% of its
 * nominal capacity queues and sheds. Each replica is modelled as a queue with Poisson
 * arrivals (per-request balancing over many clients), deterministic service at
 * `capacityRps` (www's GCRA limiter, burst 1) and a wait bound: an arrival whose wait would
 * exceed `maxWaitMs` is shed at once (503). {@link shedShare} evaluates that queue; the
 * autoscaler's target is `capacityRps × (1 − headroom)`, and a headroom the model predicts to
 * shed more than `shedBudget` is rejected.
 */
import { checkInteger, show } from './checks.js';
import { throwIfProblems } from './errors.js';

/** Inputs of {@link capacityPlan}. */
export interface CapacityInputs {
  /** Steady load the service is sized for, in requests per second. */
  readonly baselineRps: number;
  /** The peak the maximum must serve, as a multiple of the baseline. @default 2 */
  readonly peakFactor?: number;
  /** Requests per second one replica serves (`WWW_CAPACITY_RPS`). @default 10 */
  readonly capacityRps?: number;
  /** Longest a request may wait for capacity (`WWW_MAX_WAIT_MS`). @default 1000 */
  readonly maxWaitMs?: number;
  /**
   * Share of each replica's capacity kept free at the autoscaler's target, for the queueing
   * of random arrivals. @default 0.3
   */
  readonly headroom?: number;
  /** Largest share of requests the model may shed at the target utilisation. @default 0.001 */
  readonly shedBudget?: number;
}

/** What {@link capacityPlan} decides. */
export interface CapacityPlan {
  /** Fewest replicas: those that carry the baseline at nominal capacity. */
  readonly minReplicas: number;
  /** Most replicas: those that carry `peakFactor × baseline` at nominal capacity (at least `steadyReplicas`). */
  readonly maxReplicas: number;
  /** Replicas that serve the baseline at the target; what runs when no metric can be read. */
  readonly steadyReplicas: number;
  /** The autoscaler's target, requests per second per replica: `capacityRps × (1 − headroom)`. */
  readonly targetRpsPerReplica: number;
  /** `1 − headroom`. */
  readonly targetUtilisation: number;
  /** Share of requests the queueing model sheds at the target utilisation. */
  readonly modelledShed: number;
}

/** The defaults of {@link CapacityInputs}. */
export const defaultInputs: Required<Omit<CapacityInputs, 'baselineRps'>> = {
  peakFactor: 2,
  capacityRps: 10,
  maxWaitMs: 1000,
  // Measured on the hermetic cluster with per-request connections (FINDINGS, capacity table):
  // at 71% utilisation and a 1000 ms wait bound no request was shed, at 100% 3.1% were, and
  // with the 250 ms default even 50% shed 0.7%. 30% headroom is the measured 0% point; the
  // queueing model below agrees (0.03% at 70% and 1000 ms) and guards other settings.
  headroom: 0.3,
  shedBudget: 0.001,
};

const ARRIVALS = 200_000;

/**
 * Share of requests one replica sheds at `utilisation` of its capacity, by simulating the
 * queue (Poisson arrivals, deterministic service, wait bound) with a fixed seed: the same
 * inputs always give the same answer.
 */
export function shedShare(utilisation: number, capacityRps: number, maxWaitMs: number, arrivals = ARRIVALS): number {
  if (utilisation <= 0) return 0;
  let seed = 0x2545f491;
  const uniform = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return (seed + 0.5) / 2 ** 32;
  };
  const serviceMs = 1000 / capacityRps;
  const arrivalsPerMs = (utilisation * capacityRps) / 1000;
  let now = 0;
  let nextStart = 0;
  let shed = 0;
  for (let i = 0; i < arrivals; i++) {
    now += -Math.log(uniform()) / arrivalsPerMs;
    const start = Math.max(now, nextStart);
    if (start - now > maxWaitMs) shed += 1;
    else nextStart = start + serviceMs;
  }
  return shed / arrivals;
}

function validate(i: Required<CapacityInputs>): string[] {
  const problems: string[] = [];
  if (!(Number.isFinite(i.baselineRps) && i.baselineRps > 0)) problems.push(`baselineRps: must be a number > 0, got ${show(i.baselineRps)}`);
  if (!(Number.isFinite(i.peakFactor) && i.peakFactor >= 1)) problems.push(`peakFactor: must be a number ≥ 1, got ${show(i.peakFactor)}`);
  problems.push(...checkInteger('capacityRps (WWW_CAPACITY_RPS)', i.capacityRps, 1));
  problems.push(...checkInteger('maxWaitMs (WWW_MAX_WAIT_MS)', i.maxWaitMs, 0, 60_000));
  if (!(Number.isFinite(i.headroom) && i.headroom > 0 && i.headroom < 1)) problems.push(`headroom: must be a number between 0 and 1 (exclusive), got ${show(i.headroom)}`);
  if (!(Number.isFinite(i.shedBudget) && i.shedBudget >= 0 && i.shedBudget < 1)) problems.push(`shedBudget: must be a number from 0 to below 1, got ${show(i.shedBudget)}`);
  return problems;
}

/**
 * Replica bounds and the autoscaler's target for a load.
 * @throws ManifestError naming every bad input, and a headroom too small for the wait bound
 *   (with the smallest headroom, in steps of 5%, that keeps within the shed budget)
 */
export function capacityPlan(inputs: CapacityInputs): CapacityPlan {
  const i: Required<CapacityInputs> = { ...defaultInputs, ...inputs };
  throwIfProblems(validate(i));
  const targetUtilisation = Math.round((1 - i.headroom) * 1000) / 1000;
  const modelledShed = shedShare(targetUtilisation, i.capacityRps, i.maxWaitMs);
  if (modelledShed > i.shedBudget) {
    let enough = i.headroom;
    while (enough < 0.95 && shedShare(1 - enough, i.capacityRps, i.maxWaitMs) > i.shedBudget) enough = Math.round((enough + 0.05) * 100) / 100;
    throwIfProblems([
      `headroom: ${i.headroom} with maxWaitMs ${i.maxWaitMs} and capacityRps ${i.capacityRps} sheds ${(modelledShed * 100).toFixed(2)}% of requests by the queueing model, more than the budget of ${(i.shedBudget * 100).toFixed(2)}%; use a headroom of at least ${enough} or a longer wait bound`,
    ]);
  }
  const targetRpsPerReplica = Math.round(i.capacityRps * targetUtilisation * 100) / 100;
  const minReplicas = Math.ceil(i.baselineRps / i.capacityRps - 1e-9);
  const steadyReplicas = Math.ceil(i.baselineRps / targetRpsPerReplica - 1e-9);
  return {
    minReplicas,
    maxReplicas: Math.max(steadyReplicas, Math.ceil((i.peakFactor * i.baselineRps) / i.capacityRps - 1e-9)),
    steadyReplicas,
    targetRpsPerReplica,
    targetUtilisation,
    modelledShed,
  };
}
