import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { CastleError, EXIT_CODES, type ExitCode, UnreachableError } from '../errors.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, type TryOutcome, parseRetryAfter, retryDelay, retryable } from './retry.js';

/** A failed Kubernetes API call, with the API's Status reason and causes. */
export class KubeApiError extends CastleError {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly causes: readonly { reason?: string; message?: string; field?: string }[] = [],
    /** Another code, exit code or hint than a plain API error's (refused credentials). */
    as: { readonly code?: string; readonly exitCode?: ExitCode; readonly hint?: string } = {},
  ) {
    super(as.code ?? 'CASTLE_ERR_KUBE_API', message, as.exitCode ?? EXIT_CODES.failed, as.hint);
  }
}
/** True for a 404 from the API server. */
export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404;
}

/** What {@link KubeHttp.request} sends. */
export interface KubeRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Record<string, string | number | boolean | undefined>;
  readonly body?: unknown;
  readonly contentType?: string;
  /** Return the body as text (logs, service proxy) instead of parsing JSON. */
  readonly text?: boolean;
  /** Resolve with non-2xx responses instead of throwing (service proxy checks). */
  readonly anyStatus?: boolean;
  /**
   * Whether sending it twice has the effect of sending it once, so that a try whose outcome
   * is unknown (5xx, no answer, a reset) may be repeated. @default true for GET, PUT, PATCH, DELETE
   */
  readonly idempotent?: boolean;
  /** Runs before every try, the first included; what it throws ends the call unsent (a lock's fence). */
  readonly beforeEachTry?: () => void;
}

/** A response: status and parsed (or raw) body. */
export interface KubeResponse {
  readonly status: number;
  readonly body: unknown;
}

/** Default time limit of one try: it ends when no byte has moved for this long. */
export const DEFAULT_TRY_TIMEOUT_MS = 15_000;

/** How {@link KubeHttp} times and retries its calls. */
export interface KubeHttpOptions {
  /** @default DEFAULT_TRY_TIMEOUT_MS */
  readonly tryTimeoutMs?: number;
  /** Changes to {@link DEFAULT_RETRY_POLICY}. */
  readonly retry?: Partial<RetryPolicy>;
}

/** One try: an answer, or why none came. */
type Try = { readonly status: number; readonly text: string; readonly retryAfter?: string } | { readonly failed: Exclude<TryOutcome['kind'], 'status'>; readonly error: Error };

/**
 * The API server over plain HTTPS with the kubeconfig's credentials. A thin layer so that
 * every call the CLI makes (apply patches, dry runs, proxies, logs) goes through one place
 * with one error model and one retry policy: a try that failed for a reason that may pass
 * (429, 5xx, no answer in time, a reset connection) is tried again with backoff, within a
 * bounded number of tries and time, when repeating it is safe (see {@link retryable}).
 */
export class KubeHttp {
  readonly server: string;
  /** Count of non-GET requests that were not dry runs: `diff` must leave this at 0. */
  writes = 0;
  private readonly policy: RetryPolicy;
  private readonly tryTimeoutMs: number;

  constructor(
    private readonly kc: KubeConfig,
    options: KubeHttpOptions = {},
  ) {
    this.server = kc.getCurrentCluster()?.server ?? '';
    const changes = Object.fromEntries(Object.entries(options.retry ?? {}).filter(([, v]) => v !== undefined));
    this.policy = { ...DEFAULT_RETRY_POLICY, ...changes };
    this.tryTimeoutMs = options.tryTimeoutMs ?? DEFAULT_TRY_TIMEOUT_MS;
  }

  /**
   * Send one request, retried as the policy allows.
   * @throws KubeApiError for a non-2xx answer (exit code 5 when it refuses the credentials),
   *   UnreachableError when no answer came; either names the call and, after retries, how many tries were made.
   */
  async request(req: KubeRequest): Promise<KubeResponse> {
    const url = new URL(req.path, this.server);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    if (req.method !== 'GET' && url.searchParams.get('dryRun') !== 'All') this.writes += 1;
    const options: https.RequestOptions = { method: req.method, headers: { Accept: req.text ? '*/*' : 'application/json' } };
    await this.kc.applyToHTTPSOptions(options);
    const payload = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    if (payload !== undefined) {
      options.headers = { ...options.headers, 'Content-Type': req.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) };
    }
    const what = `${req.method} ${url.pathname}`;
    const started = Date.now();
    for (let attempt = 1; ; attempt += 1) {
      req.beforeEachTry?.();
      const result = await this.try(url, options, payload);
      if ('status' in result && ((result.status >= 200 && result.status < 300) || req.anyStatus)) {
        if (req.text) return { status: result.status, body: result.text };
        return { status: result.status, body: result.text ? parseJson(result.text) : undefined };
      }
      const outcome: TryOutcome = 'status' in result ? { kind: 'status', status: result.status, retryAfterMs: parseRetryAfter(result.retryAfter) } : { kind: result.failed };
      const { retry, why } = credentialsRefused(result) ? { retry: false, why: undefined } : retryable(req.method, outcome, req.idempotent);
      const wait = retryDelay(this.policy, attempt, outcome.kind === 'status' ? outcome.retryAfterMs : undefined);
      const elapsed = Date.now() - started;
      if (retry && attempt < this.policy.attempts && elapsed + wait <= this.policy.budgetMs) {
        await this.policy.sleep(wait);
        continue;
      }
      let note: string | undefined;
      if (!retry) note = why ?? (attempt > 1 ? `on attempt ${attempt}` : undefined);
      else if (attempt < this.policy.attempts && outcome.kind === 'status' && outcome.retryAfterMs !== undefined) {
        note = `the server asked to retry after ${seconds(wait)} s, beyond the retry budget of ${seconds(this.policy.budgetMs)} s`;
      } else if (attempt > 1) note = `gave up after ${attempt} attempts in ${(elapsed / 1000).toFixed(1)} s`;
      throw 'status' in result ? apiError(result.status, result.text, what, note, this.kc.getCurrentContext()) : this.transportError(result, what, note);
    }
  }

  private try(url: URL, options: https.RequestOptions, payload: string | undefined): Promise<Try> {
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise<Try>((resolve) => {
      let timedOut = false;
      const call = transport.request(url, { ...options, timeout: this.tryTimeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter: res.headers['retry-after'] }));
        res.on('error', (error) => resolve({ failed: timedOut ? 'timeout' : 'reset', error }));
      });
      call.on('timeout', () => {
        timedOut = true;
        call.destroy(new Error(`no answer within ${seconds(this.tryTimeoutMs)} s`));
      });
      call.on('error', (error: NodeJS.ErrnoException) => resolve({ failed: timedOut ? 'timeout' : RESET_CODES.has(error.code ?? '') ? 'reset' : 'other', error }));
      if (payload !== undefined) call.write(payload);
      call.end();
    });
  }

  private transportError(result: Extract<Try, { failed: string }>, what: string, note: string | undefined): UnreachableError {
    const detail =
      result.failed === 'timeout'
        ? `no answer from the Kubernetes API server at ${this.server} within ${seconds(this.tryTimeoutMs)} s`
        : result.failed === 'reset'
          ? `the connection to the Kubernetes API server at ${this.server} was reset (${result.error.message})`
          : `cannot reach the Kubernetes API server at ${this.server}: ${result.error.message}`;
    return new UnreachableError(`${what}: ${detail}${note ? ` (${note})` : ''}`, 'check --context / CASTLE_CONTEXT and --kubeconfig / KUBECONFIG, and that the cluster is running');
  }
}

/** Errors of a connection that was cut: the request may or may not have been handled. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

const seconds = (ms: number): string => String(Math.round(ms / 100) / 10);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** RBAC's refusal names the user: `User "alice" cannot patch resource "deployments" …`. */
const RBAC_REFUSAL = /\bUser "[^"]*" cannot \w+/;

/**
 * Whether the API server refused the credentials: 401 (not authenticated), or a 403 from
 * RBAC (the user may not do this). Other 403s (quota, admission, a terminating namespace)
 * are about the object, not the credentials.
 */
function credentialsRefused(result: Try): boolean {
  if (!('status' in result)) return false;
  return result.status === 401 || (result.status === 403 && RBAC_REFUSAL.test(result.text));
}

function apiError(status: number, text: string, what: string, note: string | undefined, context: string): KubeApiError {
  const body = parseJson(text) as { reason?: string; message?: string; details?: { causes?: KubeApiError['causes'] } } | string;
  const doc = typeof body === 'object' && body ? body : undefined;
  const message = doc?.message ?? (doc ? String(status) : `HTTP ${status} ${text.slice(0, 200)}`);
  const reason = doc?.reason ?? String(status);
  if (status === 401) {
    return new KubeApiError(status, reason, `${what}: the API server refused the credentials of context "${context}" (HTTP 401: ${message})`, [], {
      code: 'CASTLE_ERR_CREDENTIALS',
      exitCode: EXIT_CODES.unreachable,
      hint: "the kubeconfig user's token or certificate is wrong or expired: log in again, or pick another with --context / CASTLE_CONTEXT and --kubeconfig / KUBECONFIG",
    });
  }
  if (status === 403 && RBAC_REFUSAL.test(message)) {
    return new KubeApiError(status, reason, `${what}: ${message}`, [], {
      code: 'CASTLE_ERR_CREDENTIALS',
      exitCode: EXIT_CODES.unreachable,
      hint: 'the credentials work but may not do this: use a context whose user may (--context / CASTLE_CONTEXT; check with "kubectl auth can-i"), or ask for a Role that allows it',
    });
  }
  const suffix = note ? (doc ? ` (HTTP ${status}; ${note})` : ` (${note})`) : '';
  return new KubeApiError(status, reason, `${what}: ${message}${suffix}`, doc?.details?.causes ?? []);
}
