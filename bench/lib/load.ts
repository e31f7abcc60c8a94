import { cannon, type CannonRun } from './cannon.js';
import { wrk } from './wrk.js';

/** The closed-loop load generators the throughput scenarios can use. */
export type LoadGenerator = 'wrk' | 'autocannon';

/** Drives `url` closed-loop with the chosen generator: `connections` keep-alive connections for `durationS`. */
export function closedLoop(generator: LoadGenerator, url: string, connections: number, durationS: number): Promise<CannonRun> {
  return generator === 'wrk' ? wrk(url, connections, durationS) : cannon(url, connections, durationS);
}
