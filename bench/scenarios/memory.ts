import type { Check, ScenarioResult } from '../lib/checks.js';
import type { MemoryReading } from '../lib/memory.js';
import { round } from '../lib/stats.js';

const id = '4 memory';
const title = 'RSS of each service idle and under load (VmRSS, sampled every 200 ms; max reported)';

/**
 * Scenario 4: memory is recorded, not gated: the readings the other scenarios took, each next
 * to the same reading of its baseline.
 */
export function memoryScenario(readings: readonly MemoryReading[]): ScenarioResult {
  const checks: Check[] = readings.map((r) => ({
    scenario: id,
    metric: `RSS ${r.what}`,
    unit: 'MiB',
    baselineLabel: r.baselineLabel,
    baseline: r.baselineMiB,
    castle: r.castleMiB,
    ratio: r.baselineMiB ? round(r.castleMiB / r.baselineMiB, 2) : null,
    target: '-',
    status: 'INFO',
    note: r.during,
  }));
  return { id, title, checks, raw: readings };
}
