/** One RSS figure of a Castle service next to the same figure of its baseline. */
export interface MemoryReading {
  /** e.g. `backend idle`, `www under load`. */
  readonly what: string;
  readonly baselineLabel: string;
  readonly baselineMiB: number | null;
  readonly castleMiB: number;
  /** Where it was measured, e.g. `scenario 1, max over 3 rounds`. */
  readonly during: string;
}

const readings: MemoryReading[] = [];

/** Records an RSS reading for the memory scenario. */
export function recordMemory(reading: MemoryReading): void {
  readings.push(reading);
}

/** Every reading recorded so far in this run. */
export function memoryReadings(): readonly MemoryReading[] {
  return readings;
}
