import type { Kube } from '../kube/client.js';
import { UsageError } from '../errors.js';

/**
 * Where the CLI asks Prometheus: a Service reached through the API server's service proxy
 * (no port-forward, no network path from the user's machine needed), or a URL.
 */
export type PrometheusTarget =
  | { readonly kind: 'service'; readonly namespace: string; readonly service: string; readonly port: number }
  | { readonly kind: 'url'; readonly url: string };

/** The monitoring add-on's Prometheus (and the usual name of a cluster's own). */
export const DEFAULT_PROMETHEUS: PrometheusTarget = { kind: 'service', namespace: 'monitoring', service: 'prometheus', port: 9090 };

/** How long one query may take before Prometheus counts as not reachable. */
export const QUERY_TIMEOUT_MS = 5_000;

/** One sample of an instant vector. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Runs one instant PromQL query. */
export type QueryFn = (promql: string) => Promise<Sample[]>;

/** Prometheus did not answer, or answered with an error. */
export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';
}

/** `--prometheus <url>` as a target. @throws UsageError unless an http(s) URL. */
export function prometheusTarget(url: string | undefined): PrometheusTarget {
  if (url === undefined) return DEFAULT_PROMETHEUS;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--prometheus must be an http(s) URL such as http://127.0.0.1:9090, not "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--prometheus must be an http(s) URL such as http://127.0.0.1:9090, not "${url}"`);
  }
  return { kind: 'url', url: parsed.href.replace(/\/+$/, '') };
}

/** The target in words, for the output. */
export function describeTarget(t: PrometheusTarget): string {
  return t.kind === 'url' ? t.url : `${t.namespace}/${t.service}:${t.port} (API server proxy)`;
}

/**
 * Parse a `/api/v1/query` answer holding an instant vector.
 * @throws PrometheusError naming what was wrong (an error answer, another result type, not JSON)
 */
export function parseVector(status: number, body: string): Sample[] {
  let doc: { status?: string; error?: string; data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: [number, string] }[] } };
  try {
    doc = JSON.parse(body) as typeof doc;
  } catch {
    throw new PrometheusError(`answered ${status} with a body that is not JSON: ${body.slice(0, 120).trim()}`);
  }
  if (doc.status !== 'success') throw new PrometheusError(`answered ${status}: ${doc.error ?? body.slice(0, 120).trim()}`);
  if (doc.data?.resultType !== 'vector') throw new PrometheusError(`answered a ${String(doc.data?.resultType)}, not an instant vector`);
  return (doc.data.result ?? []).map((r) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1]) }));
}

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PrometheusError(`no answer from ${what} within ${ms / 1000} s`)), ms);
    timer.unref();
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });

/** Instant queries against `target`, each bounded by `timeoutMs`. */
export function prometheusQuery(kube: Kube, target: PrometheusTarget, timeoutMs = QUERY_TIMEOUT_MS): QueryFn {
  const what = describeTarget(target);
  return async (promql) => {
    const query = `/api/v1/query?query=${encodeURIComponent(promql)}`;
    const answer =
      target.kind === 'url'
        ? // the abort frees the socket a little after withTimeout has given up
          fetch(`${target.url}${query}`, { signal: AbortSignal.timeout(timeoutMs + 1_000) }).then(async (res) => ({ status: res.status, body: await res.text() }))
        : kube.proxyGet(`/api/v1/namespaces/${target.namespace}/services/${target.service}:${target.port}/proxy${query}`);
    let res: { status: number; body: string };
    try {
      res = await withTimeout(answer, timeoutMs, what);
    } catch (error) {
      if (error instanceof PrometheusError) throw error;
      throw new PrometheusError(`${what}: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`);
    }
    // The API server's proxy answers 503/404 with a Kubernetes Status when the Service has no
    // ready endpoint or does not exist.
    if (res.status >= 300 && !res.body.includes('"status":"error"')) {
      throw new PrometheusError(`${what} answered ${res.status}: ${statusMessage(res.body)}`);
    }
    return parseVector(res.status, res.body);
  };
}

function statusMessage(body: string): string {
  try {
    const status = JSON.parse(body) as { message?: string };
    if (status.message) return status.message;
  } catch {
    // not a Kubernetes Status: show the start of the body
  }
  return body.slice(0, 120).trim() || 'no body';
}
