import type { Socket } from 'node:net';
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { accessLogWriter, type AccessLogWriter } from './access-log.js';
import type { CounterSeries, HistogramSeries } from './fast-metrics.js';
import type { Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import { addCommonHeaders } from './response-headers.js';
import type { HttpMetrics } from './metrics.js';
import { continueTrace, type TraceContext } from './trace.js';

/** Binds each (route, method, status) series once: a request then costs three map lookups and two additions. */
function requestRecorder(metrics: HttpMetrics) {
  type Series = { readonly count: CounterSeries; readonly time: HistogramSeries };
  const byRoute = new Map<string, Map<string, Map<number, Series>>>();
  return (method: string, route: string, status: number, seconds: number): void => {
    let byMethod = byRoute.get(route);
    if (!byMethod) byRoute.set(route, (byMethod = new Map<string, Map<number, Series>>()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map<number, Series>()));
    let series = byStatus.get(status);
    if (!series) {
      const labels = [method, route, String(status)];
      series = { count: metrics.requests.series(...labels), time: metrics.duration.series(...labels) };
      byStatus.set(status, series);
    }
    series.count.inc();
    series.time.observe(seconds);
  };
}

/**
 * The requests a connection has received and not yet answered: one reply, or a list when
 * the client pipelines (rare), so the common case costs a property store and a load.
 */
const inProgress = Symbol('castle.inProgress');
/** `performance.now()` past which the connection is closed after its next response. */
const closeAfter = Symbol('castle.closeAfter');
type TrackedSocket = Socket & { [inProgress]?: FastifyReply | FastifyReply[] | undefined; [closeAfter]?: number };

function track(socket: TrackedSocket, reply: FastifyReply): void {
  const pending = socket[inProgress];
  if (pending === undefined) socket[inProgress] = reply;
  else if (Array.isArray(pending)) pending.push(reply);
  else socket[inProgress] = [pending, reply];
}

/** Forgets an answered request; false when it was not pending (the connection reported it aborted). */
function untrack(socket: TrackedSocket, reply: FastifyReply): boolean {
  const pending = socket[inProgress];
  if (pending === reply) {
    socket[inProgress] = undefined;
    return true;
  }
  if (!Array.isArray(pending)) return false;
  const i = pending.indexOf(reply);
  if (i < 0) return false;
  pending.splice(i, 1);
  return true;
}

/** The fields that tie a line to its request: the request id and the trace id. */
function requestIds(request: FastifyRequest): { req_id: string; trace_id: string | undefined } {
  return { req_id: request.id, trace_id: (request.trace as TraceContext | null)?.traceId };
}

/**
 * Castle's per-request observation, plugged in where Fastify reports a request's start (its
 * log controller), not as onRequest/onResponse hooks, which would add two hook chains to
 * every request. Fastify calls `incomingRequest` for every routed request (404s included).
 *
 * Fastify itself runs without a logger: with one, it validates a child logger and adds two
 * response listeners to every request. Instead each request's `log` is the service logger,
 * assigned here, so Fastify's own warnings (a reply sent twice, a stream or serializer
 * error) still reach the log, and one listener reports the response's `finish`: when it has
 * been handed to the socket. Fastify reports nothing when the client goes away first, so
 * each connection remembers its unanswered requests and, when it closes, reports them as
 * aborted (status 499, as nginx does).
 */
export class RequestObserver extends LogController {
  readonly #logger: Logger;
  readonly #metrics: HttpMetrics;
  readonly #lifecycle: Lifecycle;
  readonly #record: ReturnType<typeof requestRecorder>;
  readonly #access: AccessLogWriter;
  readonly #maxConnectionAgeMs: number;

  /**
   * @param maxConnectionAgeMs after this long a keep-alive connection is closed after its
   *   next response, so a client behind a Service's connection-level balancing reconnects and
   *   reaches new replicas (after a rollout or a scale-up) within that time; 0 never.
   */
  constructor(logger: Logger, metrics: HttpMetrics, lifecycle: Lifecycle, maxConnectionAgeMs = 0) {
    super({ requestIdLogLabel: 'req_id' });
    this.#logger = logger;
    this.#metrics = metrics;
    this.#lifecycle = lifecycle;
    this.#record = requestRecorder(metrics);
    this.#access = accessLogWriter(logger);
    this.#maxConnectionAgeMs = maxConnectionAgeMs;
  }

  /** Called for every new connection: reports its unanswered requests when it closes. */
  watch(socket: TrackedSocket): void {
    socket[closeAfter] = this.#maxConnectionAgeMs > 0 ? performance.now() + this.#maxConnectionAgeMs : Number.POSITIVE_INFINITY;
    socket.once('close', () => {
      const pending = socket[inProgress];
      socket[inProgress] = undefined;
      if (pending === undefined) return;
      for (const reply of Array.isArray(pending) ? pending : [pending]) this.#complete(reply.request, reply, 499, 'request aborted');
    });
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    this.#metrics.inFlight.count += 1;
    track(request.raw.socket, reply);
    reply.raw.on('finish', () => this.#finished(reply));
    const receivedAt = (reply.receivedAt = performance.now());
    request.log = this.#logger;
    reply.log = this.#logger;
    request.trace = continueTrace(request.headers.traceparent);
    void reply.header('x-request-id', request.id);
    addCommonHeaders(reply);
    // While draining, or once the connection is old, tell the keep-alive client to reconnect:
    // it then moves to another instance, or gets its share of new ones.
    if (this.#lifecycle.draining || receivedAt > ((request.raw.socket as TrackedSocket)[closeAfter] ?? Number.POSITIVE_INFINITY)) void reply.header('connection', 'close');
  }

  /** Reported by the `finish` listener instead (Fastify calls this only when a plugin adds onResponse hooks). */
  override requestCompleted(): void {}

  #finished(reply: FastifyReply): void {
    // Not when the connection has already reported it as aborted.
    if (untrack(reply.request.raw.socket, reply)) this.#complete(reply.request, reply, reply.statusCode, 'request completed');
  }

  #complete(request: FastifyRequest, reply: FastifyReply, status: number, msg: string): void {
    this.#metrics.inFlight.count -= 1;
    const ms = performance.now() - reply.receivedAt;
    this.#record(request.method, request.routeOptions.url ?? 'unmatched', status, ms / 1000);
    const fields = {
      req_id: request.id,
      method: request.method,
      path: request.url,
      status,
      duration_us: Math.round(ms * 1000),
      remote_address: request.ip,
      trace_id: request.trace.traceId,
    };
    this.#access(fields, reply.logFields, msg);
  }

  // Fastify's reports of a response that failed while being written: said with the service
  // logger, naming the request and its trace like the completion line (rare paths, so the
  // small object per report costs nothing that matters).
  override streamError(error: Error & { code?: string }, request: FastifyRequest): void {
    if (error.code === 'ERR_STREAM_PREMATURE_CLOSE') this.#logger.info(requestIds(request), 'stream closed prematurely');
    else this.#logger.warn({ ...requestIds(request), err: error }, 'response terminated with an error with headers already sent');
  }

  override writeHeadError(error: Error, request: FastifyRequest): void {
    this.#logger.warn({ ...requestIds(request), err: error }, error.message);
  }

  override serializerError(error: Error, request: FastifyRequest, _reply: FastifyReply, metadata: { statusCode: number }): void {
    this.#logger.error({ ...requestIds(request), err: error, status: metadata.statusCode }, 'the serializer for the given status code failed');
  }

  /** The 404 handler answers and the completion line records it; no second line. */
  override routeNotFound(): void {}

  /** Fastify refuses a request with 503 while closing: said with the service logger. */
  override serviceUnavailable(): void {
    this.#logger.info({ status: 503 }, 'request refused: server is closing');
  }
}
