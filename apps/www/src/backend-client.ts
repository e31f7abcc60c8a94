import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
} from 'cockatiel';
import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

/** How one try at the backend ended. */
export type TryOutcome = 'ok' | 'error_status' | 'error_body' | 'timeout' | 'network_error';
/** How a whole backend call ended: a try's outcome, or refused by the open breaker. */
export type CallOutcome = TryOutcome | 'circuit_open';

/** A failed try or call; `outcome` says how. */
export class BackendError extends Error {
  readonly outcome: Exclude<CallOutcome, 'ok'>;
  readonly status: number | undefined;
  constructor(outcome: Exclude<CallOutcome, 'ok'>, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BackendError';
    this.outcome = outcome;
    this.status = options?.status;
  }

  /** Whether another try may succeed: not for a 4xx, which would only repeat. */
  get retryable(): boolean {
    return !(this.outcome === 'error_status' && this.status !== undefined && this.status < 500);
  }
}

export interface BackendAnswer {
  readonly body: string;
  /** The backend instance that answered (its `x-castle-instance` header). */
  readonly instance: string | undefined;
  /** Tries made, 1 when the first succeeded. */
  readonly tries: number;
}

export interface BackendClientOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly connections: number;
  readonly breakerThreshold: number;
  readonly breakerResetMs: number;
  /** Called after each try, for metrics. */
  readonly onTry?: (outcome: TryOutcome, seconds: number) => void;
  /** Called before each retry. */
  readonly onRetry?: () => void;
  /** Called when the backend answers `ERROR`, whatever the status (the original's crash hook), with the call's identity. */
  readonly onErrorBody?: (context: CallContext) => void;
}

/** Headers that carry the request's identity to the backend. */
export interface CallContext {
  readonly requestId: string;
  readonly traceparent: string;
}

const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * Connection failures that may be made good at once on another connection: the peer refused
 * the connection, reset it, or closed it (a pooled keep-alive one too). Behind a Kubernetes
 * Service these are what a pod that is gone answers until it leaves the endpoints, while the
 * next connection is balanced to a live one. Not a timeout (a slow backend), not a DNS failure
 * (no pod at all), not a closed pool.
 */
const reconnectCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** Immediate reconnects one try may make, within its time limit, before it fails as a try. */
export const maxReconnects = 2;

/** A connection lost before any byte of the answer: the request is made again at once (GET is idempotent). */
class ConnectionLost extends Error {
  declare readonly cause: Error;
  constructor(cause: Error) {
    super('backend connection lost before an answer', { cause });
  }
}

function classify(err: unknown): BackendError {
  if (err instanceof BackendError) return err;
  const e = err as { name?: string; code?: string; message?: string };
  if (e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new BackendError('timeout', 'backend did not answer in time', { cause: err });
  }
  const code = e.code && networkCodes.has(e.code) ? e.code : 'network';
  return new BackendError('network_error', `backend unreachable (${code})`, { cause: err });
}

/** One try's answer; the call sets `tries` when it is over. */
type TriedAnswer = { -readonly [K in keyof BackendAnswer]: BackendAnswer[K] };

/** The most of a backend answer www reads: the time is about 30 bytes, so more is a fault. */
const maxBodyBytes = 64 * 1024;

/** One backend response as www needs it. */
interface CollectedResponse {
  readonly status: number;
  /** The backend instance that answered (its `x-castle-instance` header). */
  readonly instance: string | undefined;
  readonly body: string;
}

/**
 * Reads one response through undici's handler interface (`dispatch`): status, the
 * `x-castle-instance` header and the body as text, refusing a body over `maxBytes`.
 * `Pool.request` would wrap every response body in a Readable stream and read it back
 * through it, which costs www about a seventh of its CPU per forwarded request.
 */
class ResponseCollector implements Dispatcher.DispatchHandler {
  readonly #maxBytes: number;
  readonly #resolve: (response: CollectedResponse) => void;
  readonly #reject: (err: Error) => void;
  #status = 0;
  #instance: string | undefined = undefined;
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(maxBytes: number, resolve: (response: CollectedResponse) => void, reject: (err: Error) => void) {
    this.#maxBytes = maxBytes;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Nothing to do; undici tells this handler interface from its older one by this method. */
  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // An informational (1xx) head comes before the real one, which replaces it.
    this.#status = statusCode;
    const instance = headers['x-castle-instance'];
    this.#instance = typeof instance === 'string' ? instance : undefined;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.#maxBytes) {
      controller.abort(new BackendError('error_body', `backend answer larger than ${this.#maxBytes} bytes`, { status: this.#status }));
      return;
    }
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    const chunks = this.#chunks;
    const body = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
    this.#resolve({ status: this.#status, instance: this.#instance, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    // No response head yet (status 0): nothing was answered, so another connection may answer.
    const code = (err as { code?: string }).code;
    this.#reject(this.#status === 0 && code !== undefined && reconnectCodes.has(code) ? new ConnectionLost(err) : err);
  }
}

/**
 * www's client of the backend: a keep-alive pool, a time limit per try, retries with
 * decorrelated jitter on failed tries (GET is idempotent), and a consecutive-failure
 * circuit breaker that fails fast while the backend is down and half-opens to recover.
 * A `200 ERROR` is a failure like any other: it never reaches a caller as a success.
 * A connection refused, reset or closed before any answer is not yet a failed try: the
 * request is made again at once on another connection (`maxReconnects`), as a pod that is
 * gone refuses only the connections balanced to it. Every call is a GET, which the backend
 * answers without changing anything, so sending it again is safe even when the lost
 * connection had delivered it.
 */
export class BackendClient {
  readonly #pool: Pool;
  readonly #path: string;
  readonly #options: BackendClientOptions;
  readonly #breaker;
  readonly #policy;

  constructor(options: BackendClientOptions) {
    this.#options = options;
    const url = new URL(options.url);
    this.#path = url.pathname === '' ? '/' : url.pathname;
    this.#pool = new Pool(url.origin, {
      connections: options.connections,
      keepAliveTimeout: 30_000,
      connect: { timeout: options.timeoutMs },
    });
    this.#breaker = circuitBreaker(
      handleWhen((err) => err instanceof BackendError),
      { halfOpenAfter: options.breakerResetMs, breaker: new ConsecutiveBreaker(options.breakerThreshold) },
    );
    const retries = retry(
      handleWhen((err) => err instanceof BackendError && err.retryable),
      {
        maxAttempts: options.retries,
        backoff: new ExponentialBackoff({ initialDelay: options.retryDelayMs, maxDelay: options.retryDelayMs * 8 }),
      },
    );
    if (options.onRetry) retries.onRetry(options.onRetry);
    this.#policy = wrap(retries, this.#breaker);
  }

  /** 0 closed, 1 half-open, 2 open: the value of the breaker-state gauge. */
  get breakerState(): 0 | 1 | 2 {
    const state = this.#breaker.state;
    if (state === CircuitState.Closed) return 0;
    if (state === CircuitState.HalfOpen) return 1;
    return 2;
  }

  /**
   * Asks the backend for its answer, through the retry and breaker policy.
   * @throws BackendError whose outcome says why the call failed after its retries.
   */
  async get(context: CallContext): Promise<BackendAnswer> {
    let tries = 0;
    try {
      const answer = await this.#policy.execute(() => {
        tries += 1;
        return this.#try(context);
      });
      answer.tries = tries;
      return answer;
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        throw new BackendError('circuit_open', 'backend unavailable (circuit open)', { cause: err });
      }
      throw classify(err);
    }
  }

  async #try(context: CallContext): Promise<TriedAnswer> {
    const started = performance.now();
    let outcome: TryOutcome = 'ok';
    try {
      let res: CollectedResponse;
      try {
        res = await this.#send(context, this.#options.timeoutMs);
      } catch (err) {
        res = await this.#reconnect(context, err, started);
      }
      const { status, body } = res;
      if (body === 'ERROR') this.#options.onErrorBody?.(context);
      if (status !== 200) {
        throw new BackendError('error_status', `backend answered ${status}`, { status });
      }
      if (body === 'ERROR') {
        throw new BackendError('error_body', 'backend answered 200 ERROR', { status });
      }
      return { body, instance: res.instance, tries: 0 };
    } catch (err) {
      const failure = classify(err);
      outcome = failure.outcome as TryOutcome;
      throw failure;
    } finally {
      this.#options.onTry?.(outcome, (performance.now() - started) / 1000);
    }
  }

  /** One request on one of the pool's connections (an idle keep-alive one, else a new one). */
  #send(context: CallContext, headersTimeoutMs: number): Promise<CollectedResponse> {
    return new Promise<CollectedResponse>((resolve, reject) => {
      this.#pool.dispatch(
        {
          path: this.#path,
          method: 'GET',
          // A flat list: undici takes it as it is, where an object is first checked and walked.
          headers: ['x-request-id', context.requestId, 'traceparent', context.traceparent],
          // undici's own timers (no AbortSignal and timer per request): the limit applies to
          // the connection, the response head (a reconnect has what is left of the try's)
          // and the body, each.
          headersTimeout: headersTimeoutMs,
          bodyTimeout: this.#options.timeoutMs,
        },
        new ResponseCollector(maxBodyBytes, resolve, reject),
      );
    });
  }

  /**
   * After a connection was lost before any answer, makes the request again at once, on the
   * connection the pool gives next, up to `maxReconnects` times and only while the try's time
   * limit lasts (the response head must come within it): no backoff, and nothing the breaker
   * sees unless the try still fails. Any other failure, or the last one, is the try's.
   */
  async #reconnect(context: CallContext, failure: unknown, started: number): Promise<CollectedResponse> {
    let err = failure;
    for (let reconnects = 0; reconnects < maxReconnects && err instanceof ConnectionLost; reconnects++) {
      const left = Math.floor(this.#options.timeoutMs - (performance.now() - started));
      if (left < 1) break;
      try {
        return await this.#send(context, left);
      } catch (next) {
        err = next;
      }
    }
    throw err instanceof ConnectionLost ? err.cause : err;
  }

  /** Closes the pool's connections. */
  async close(): Promise<void> {
    await this.#pool.close();
  }
}
