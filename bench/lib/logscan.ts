import { readFileSync } from 'node:fs';

/** A service's own view of one request, from its completion log line. */
export interface LoggedRequest {
  readonly status: number;
  /** Fastify's time from request received to response sent. */
  readonly durationMs: number;
}

/**
 * Reads the `request completed` lines of a Castle log file: what the service itself measured,
 * without the client, the loopback and the scheduler in between.
 */
export function loggedRequests(path: string): LoggedRequest[] {
  const requests: LoggedRequest[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.includes('"request completed"')) continue;
    try {
      const entry = JSON.parse(line) as { status?: unknown; duration_ms?: unknown };
      if (typeof entry.status === 'number' && typeof entry.duration_ms === 'number') {
        requests.push({ status: entry.status, durationMs: entry.duration_ms });
      }
    } catch {
      continue;
    }
  }
  return requests;
}
