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

/** One series of a range vector: its labels and its samples, `[seconds, value]`, oldest first. */
export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: readonly (readonly [number, number])[];
}

/** Runs one instant query of a range-vector selector (`metric{…}[60s]`): every sample, with its time. */
export type RangeQueryFn = (promql: string) => Promise<Series[]>;

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

/**
 * An in-cluster URL of a Service (`http://<service>.<namespace>.svc[.cluster.local][:port]`, as
 * KEDA is given) as that Service behind the API server's proxy, which works from wherever the
 * CLI runs; any other URL as itself.
 */
export function serviceTargetOf(url: string): PrometheusTarget {
  const m = /^http:\/\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc(\.cluster\.local)?(:([0-9]{1,5}))?\/?$/.exec(url);
  if (!m) return { kind: 'url', url: url.replace(/\/+$/, '') };
  return { kind: 'service', namespace: m[3] ?? '', service: m[1] ?? '', port: Number(m[7] ?? 80) };
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
  const doc = answerOf(status, body) as { data?: { resultType?: string; result?: { metric?: Record<string, string>; value?: [number, string] }[] } };
  if (doc.data?.resultType !== 'vector') throw new PrometheusError(`answered a ${String(doc.data?.resultType)}, not an instant vector`);
  return (doc.data.result ?? []).map((r) => ({ labels: r.metric ?? {}, value: Number(r.value?.[1]) }));
}

/**
 * Parse a `/api/v1/query` answer holding a range vector.
 * @throws PrometheusError naming what was wrong
 */
export function parseMatrix(status: number, body: string): Series[] {
  const doc = answerOf(status, body) as { data?: { resultType?: string; result?: { metric?: Record<string, string>; values?: [number, string][] }[] } };
  if (doc.data?.resultType !== 'matrix') throw new PrometheusError(`answered a ${String(doc.data?.resultType)}, not a range vector`);
  return (doc.data.result ?? []).map((r) => ({ labels: r.metric ?? {}, samples: (r.values ?? []).map(([t, v]): [number, number] => [Number(t), Number(v)]) }));
}

function answerOf(status: number, body: string): { status?: string; error?: string; data?: unknown } {
  let doc: { status?: string; error?: string; data?: unknown };
  try {
    doc = JSON.parse(body) as typeof doc;
  } catch {
    throw new PrometheusError(`answered ${status} with a body that is not JSON: ${body.slice(0, 120).trim()}`);
  }
  if (doc.status !== 'success') throw new PrometheusError(`answered ${status}: ${doc.error ?? body.slice(0, 120).trim()}`);
  return doc;
}

const withTimeout = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PrometheusError(`no answer from ${what} within ${ms / 1000} s`)), ms);
    timer.unref();
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });

/** Instant queries against `target`, each bounded by `timeoutMs`. */
export function prometheusQuery(kube: Kube, target: PrometheusTarget, timeoutMs = QUERY_TIMEOUT_MS): QueryFn {
  const ask = asker(kube, target, timeoutMs);
  return async (promql) => parseVector(...(await ask(promql)));
}

/** Instant queries of range-vector selectors against `target`, each bounded by `timeoutMs`. */
export function prometheusRangeQuery(kube: Kube, target: PrometheusTarget, timeoutMs = QUERY_TIMEOUT_MS): RangeQueryFn {
  const ask = asker(kube, target, timeoutMs);
  return async (promql) => parseMatrix(...(await ask(promql)));
}

/** One `/api/v1/query` of `target`: its status and body, or a PrometheusError. */
function asker(kube: Kube, target: PrometheusTarget, timeoutMs: number): (promql: string) => Promise<[number, string]> {
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
    return [res.status, res.body];
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
