import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ExtraFields } from './access-log.js';
import { errorBody, HttpError } from './errors.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger, type DestinationStream, type Logger } from './logger.js';
import { createHttpMetrics, type HttpMetrics } from './metrics.js';
import { createManagementApp } from './management-app.js';
import { registerHealthRoutes, registerVersionRoute } from './operational-routes.js';
import { RequestObserver } from './request-observer.js';
import { clientErrorHandler, setCommonHeadersWhileClosing } from './response-headers.js';
import type { LogLevel } from './service-config.js';
import { requestIdFrom, type TraceContext } from './trace.js';
import { readBuildInfo, readPackageVersion, type BuildInfo } from './version.js';

// The request and reply decorations this app declares (set by RequestObserver and the routes).
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
  /** Closes a keep-alive connection after its first response past this age; 0 never. */
  readonly maxConnectionAgeMs: number;
  readonly maxHeaderBytes: number;
}

/** The parts a service app is built from. */
export interface ServiceAppOptions {
  readonly info: BuildInfo;
  readonly config: HttpEdgeConfig;
  readonly logger: Logger;
  readonly metrics: HttpMetrics;
  readonly lifecycle: Lifecycle;
}

/**
 * Builds a Fastify app with Castle's HTTP edge: request ids and trace context, hardened
 * timeouts and limits, one completion log line and metrics per request, one error handler
 * (4xx messages shown, 5xx masked), 404/405 with `Allow`, and /healthz, /readyz, /version.
 * /metrics is not here but on the management app (`createManagementApp`). The service adds
 * its own routes; this never listens.
 */
export function createServiceApp(options: ServiceAppOptions): FastifyInstance {
  const { config, logger, metrics, lifecycle } = options;
  const observer = new RequestObserver(logger, metrics, lifecycle, config.maxConnectionAgeMs);
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
    clientErrorHandler,
  });
  // RequestObserver adds the common headers to every request Fastify routes.
  setCommonHeadersWhileClosing(app);
  app.server.headersTimeout = Math.min(config.headersTimeoutMs, config.requestTimeoutMs);
  app.server.on('connection', (socket: Socket) => observer.watch(socket));
  // Fastify's own instance-level messages (hook errors, client errors) go to the service logger too.
  app.log = logger;

  app.decorateRequest('trace', null as unknown as TraceContext);
  app.decorateReply('logFields', null);
  app.decorateReply('receivedAt', 0);

  const allowed = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const set = allowed.get(route.url) ?? new Set<string>();
    for (const m of methods) set.add(m);
    allowed.set(route.url, set);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const exposed = err instanceof HttpError;
    const body = errorBody(err, exposed);
    if (body.statusCode >= 500 && !exposed) request.log.error({ err, req_id: request.id, trace_id: request.trace?.traceId }, 'unhandled error');
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

  registerHealthRoutes(app, options);
  registerVersionRoute(app, options);
  return app;
}

/** What a service takes from outside, so tests can fix its identity and capture its output. */
export interface ServiceDeps {
  readonly info?: BuildInfo;
  readonly logDestination?: DestinationStream;
  readonly runtimeMetrics?: boolean;
}

/**
 * The parts every service starts from: build info (from the image's variables and the
 * service's package.json), the logger, the HTTP metrics, the lifecycle, the app with its
 * HTTP edge and the management app that serves /metrics. The service then adds its routes.
 */
export function createService(
  name: string,
  packageJson: URL,
  config: HttpEdgeConfig & { readonly logLevel: LogLevel },
  deps: ServiceDeps = {},
): ServiceAppOptions & { readonly app: FastifyInstance; readonly management: FastifyInstance } {
  const info = deps.info ?? readBuildInfo(name, readPackageVersion(packageJson));
  const logger = createLogger(info, config.logLevel, deps.logDestination);
  const metrics = createHttpMetrics(info, { runtimeMetrics: deps.runtimeMetrics ?? true });
  const lifecycle = new Lifecycle();
  const parts = { info, config, logger, metrics, lifecycle };
  return { ...parts, app: createServiceApp(parts), management: createManagementApp(parts) };
}
