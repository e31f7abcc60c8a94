/**
 * Reads the log store of the hermetic cluster's logs add-on (VictoriaLogs in namespace
 * `logging`, Service `victorialogs` port 9428) through its LogsQL HTTP API.
 */
import { ApiException, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { serviceUrl } from './cluster.js';

/** Where the logs add-on runs. */
export const LOGS_NAMESPACE = 'logging';

/** One stored line: every field as a string, `_msg`, `_time` and `_stream` included. */
export type StoredLine = Readonly<Record<string, string>>;

/**
 * The base URL of VictoriaLogs as seen from this machine.
 * @throws naming the command that installs the add-on when its Service is missing.
 */
export async function victoriaLogsUrl(kc: KubeConfig): Promise<string> {
  try {
    await kc.makeApiClient(CoreV1Api).readNamespacedService({ name: 'victorialogs', namespace: LOGS_NAMESPACE });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) {
      throw new Error(`no Service victorialogs in namespace ${LOGS_NAMESPACE}: install the logs add-on first (npm run cluster:addons -- logs)`);
    }
    throw error;
  }
  return serviceUrl(LOGS_NAMESPACE, 'victorialogs', 9428, kc);
}

/** Runs a LogsQL query (`/select/logsql/query`) and returns the matching lines, at most `limit`. */
export async function queryLogs(base: string, query: string, limit = 100): Promise<StoredLine[]> {
  const body = new URLSearchParams({ query, limit: String(limit) }).toString();
  const res = await request(`${base}/select/logsql/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`LogsQL query ${JSON.stringify(query)} answered ${res.statusCode}: ${text.slice(0, 500)}`);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as StoredLine);
}

/** A LogsQL string literal: the value in double quotes, with quotes and backslashes escaped. */
export function logsqlString(value: string): string {
  return JSON.stringify(value);
}
