import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { accessLogWriter, type AccessLogWriter, type ExtraFields } from './access-log.js';
import type { CounterSeries, HistogramSeries } from './fast-metrics.js';
import { errorBody, HttpError } from './errors.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger, type DestinationStream, type Logger } from './logger.js';
import { createHttpMetrics, type HttpMetrics } from './metrics.js';
import type { LogLevel } from './service-config.js';
import { continueTrace, requestIdFrom, type TraceContext } from './trace.js';
import { readBuildInfo, readPackageVersion, type BuildInfo } from './version.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The W3C trace context of this request. */
    trace: TraceContext;
  }
  interface FastifyReply {
    /** Extra fields for this request's completion log line (e.g. the upstream outcome). */
    logFields: ExtraFields | null;
    /** `performance.now()` when the request was received. */
    receivedAt: number;
  }
}

/** What the HTTP edge needs from a service's configuration. */
export interface HttpEdgeConfig {
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
}

export interface ServiceAppOptions {
  readonly info: BuildInfo;
  readonly config: HttpEdgeConfig;
  readonly logger: Logger;
  readonly metrics: HttpMetrics;
  readonly lifecycle: Lifecycle;
}

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
type TrackedSocket = Socket & { [inProgress]?: FastifyReply | FastifyReply[] | undefined };

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
class RequestObserver extends LogController {
  readonly #logger: Logger;
  readonly #metrics: HttpMetrics;
  readonly #lifecycle: Lifecycle;
  readonly #record: ReturnType<typeof requestRecorder>;
  readonly #access: AccessLogWriter;

  constructor(logger: Logger, metrics: HttpMetrics, lifecycle: Lifecycle) {
    super({ requestIdLogLabel: 'req_id' });
    this.#logger = logger;
    this.#metrics = metrics;
    this.#lifecycle = lifecycle;
    this.#record = requestRecorder(metrics);
    this.#access = accessLogWriter(logger);
  }

  /** Called for every new connection: reports its unanswered requests when it closes. */
  watch(socket: TrackedSocket): void {
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
    reply.receivedAt = performance.now();
    request.log = this.#logger;
    reply.log = this.#logger;
    request.trace = continueTrace(request.headers.traceparent);
    void reply.header('x-request-id', request.id);
    // While draining, tell keep-alive clients to reconnect, so they move to another instance.
    if (this.#lifecycle.draining) void reply.header('connection', 'close');
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

  /** The 404 handler answers and the completion line records it; no second line. */
  override routeNotFound(): void {}

  /** Fastify refuses a request with 503 while closing: said with the service logger. */
  override serviceUnavailable(): void {
    this.#logger.info({ status: 503 }, 'request refused: server is closing');
  }
}

/**
 * Builds a Fastify app with Castle's HTTP edge: request ids and trace context, hardened
 * timeouts and limits, one completion log line and metrics per request, one error handler
 * (4xx messages shown, 5xx masked), 404/405 with `Allow`, and /healthz, /readyz, /version,
 * /metrics. The service adds its own routes; this never listens.
 */
export function createServiceApp(options: ServiceAppOptions): FastifyInstance {
  const { config, logger, metrics, lifecycle } = options;
  const observer = new RequestObserver(logger, metrics, lifecycle);
  const app = Fastify({
    // No logger of Fastify's own: RequestObserver gives every request the service logger
    // (the completion line names the request id itself; a pino child per request would cost
    // more than the line it writes).
    logger: false,
    logController: observer,
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionTimeout: 0,
    bodyLimit: 16 * 1024,
    http: {
      maxHeaderSize: config.maxHeaderBytes,
      // Node enforces the header and request timeouts only when it checks, every 30 s by default.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(Math.min(config.headersTimeoutMs, config.requestTimeoutMs) / 4))),
    },
    return503OnClosing: true,
  });
  app.server.headersTimeout = Math.min(config.headersTimeoutMs, config.requestTimeoutMs);
  app.server.on('connection', (socket: Socket) => observer.watch(socket));
  // Fastify's own instance-level messages (hook errors, client errors) go to the service logger too.
  app.log = logger;

  const allowed = new Map<string, Set<string>>();

  app.decorateRequest('trace', null as unknown as TraceContext);
  app.decorateReply('logFields', null);
  app.decorateReply('receivedAt', 0);

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const set = allowed.get(route.url) ?? new Set<string>();
    for (const m of methods) set.add(m);
    allowed.set(route.url, set);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const exposed = err instanceof HttpError;
    const body = errorBody(err, exposed);
    if (body.statusCode >= 500 && !exposed) request.log.error({ err, req_id: request.id }, 'unhandled error');
    if (exposed) void reply.headers(err.headers);
    reply.logFields = { ...reply.logFields, error_code: body.code };
    return reply.code(body.statusCode).type('application/json; charset=utf-8').send(body);
  });

  app.setNotFoundHandler((request) => {
    const path = request.url.split('?', 1)[0] ?? '/';
    const methods = allowed.get(path);
    if (methods) {
      const allow = [...methods].sort().join(', ');
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; allowed: ${allow}`, {
        headers: { allow },
      });
    }
    throw new HttpError(404, 'NOT_FOUND', 'no such resource');
  });

  registerOperationalRoutes(app, options);
  return app;
}

function registerOperationalRoutes(app: FastifyInstance, { info, metrics, lifecycle }: ServiceAppOptions): void {
  const text = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(body);

  app.get('/healthz', (_request, reply) => text(reply, 200, 'ok\n'));

  app.get('/readyz', (_request, reply) =>
    lifecycle.ready ? text(reply, 200, 'ready\n') : text(reply, 503, `${lifecycle.phase}\n`),
  );

  const version = JSON.stringify({
    service: info.service,
    version: info.version,
    gitSha: info.gitSha,
    buildTime: info.buildTime,
    instance: info.instance,
    node: process.version,
  });
  app.get('/version', (_request, reply) => reply.type('application/json; charset=utf-8').send(version));

  app.get('/metrics', async (_request: FastifyRequest, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('cache-control', 'no-store').type(metrics.registry.contentType).send(body);
  });
}

/** What a service takes from outside, so tests can fix its identity and capture its output. */
export interface ServiceDeps {
  readonly info?: BuildInfo;
  readonly logDestination?: DestinationStream;
  readonly runtimeMetrics?: boolean;
}

/**
 * The parts every service starts from: build info (from the image's variables and the
 * service's package.json), the logger, the HTTP metrics, the lifecycle and the app with its
 * HTTP edge. The service then adds its routes.
 */
export function createService(
  name: string,
  packageJson: URL,
  config: HttpEdgeConfig & { readonly logLevel: LogLevel },
  deps: ServiceDeps = {},
): ServiceAppOptions & { readonly app: FastifyInstance } {
  const info = deps.info ?? readBuildInfo(name, readPackageVersion(packageJson));
  const logger = createLogger(info, config.logLevel, deps.logDestination);
  const metrics = createHttpMetrics(info, { runtimeMetrics: deps.runtimeMetrics ?? true });
  const lifecycle = new Lifecycle();
  const parts = { info, config, logger, metrics, lifecycle };
  return { ...parts, app: createServiceApp(parts) };
}
