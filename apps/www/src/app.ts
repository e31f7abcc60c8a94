import { childTraceparent, createService, HttpError, type ServiceDeps, type ServiceParts } from '@castle/runtime';
import accepts from 'accepts';
import type { FastifyRequest } from 'fastify';
import { BackendClient, BackendError, type CallContext } from './backend-client.js';
import type { WwwConfig } from './config.js';
import { CapacityLimiter, type ShedReason } from './limiter.js';
import { createWwwMetrics } from './metrics.js';
import { renderPage } from './page.js';


/** What www takes from outside, so tests can fix identity, output and the crash. */
export interface WwwDeps extends ServiceDeps {
  /** What WWW_CRASH_ON_BACKEND_ERROR does, given the call that saw `ERROR`; exits the process with status 1 by default. */
  readonly crash?: (context: CallContext) => void;
}

const shedMessages: Record<ShedReason, string> = {
  rate: 'over capacity, retry later',
  concurrency: 'too many requests in progress, retry later',
};

/** Only negotiate when the client mentions HTML at all: most clients (curl, probes, load) do not. */
function prefersHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return accept !== undefined && accept.includes('html') && accepts(request.raw).type(['text/plain', 'text/html']) === 'text/html';
}

/** Maps a failed backend call to the response www gives: 502, 503 or 504 with a short message. */
export function upstreamError(err: BackendError, breakerResetMs: number): HttpError {
  switch (err.outcome) {
    case 'circuit_open':
      return new HttpError(503, 'WWW_ERR_BACKEND_UNAVAILABLE', 'backend unavailable, retry later', {
        headers: { 'retry-after': String(Math.max(1, Math.ceil(breakerResetMs / 1000))) },
      });
    case 'timeout':
      return new HttpError(504, 'WWW_ERR_UPSTREAM_TIMEOUT', 'backend did not answer in time');
    default:
      return new HttpError(502, 'WWW_ERR_BAD_GATEWAY', 'backend failed to answer');
  }
}

/**
 * Builds www: `GET /` asks the backend for the time and returns it as text, or as a small
 * HTML page to clients that prefer HTML, within the instance's capacity.
 */
export function buildWww(config: WwwConfig, deps: WwwDeps = {}): ServiceParts {
  const packageJson = new URL('../package.json', import.meta.url);
  const { app, management, info, logger, metrics: httpMetrics, lifecycle } = createService('www', packageJson, config, deps);

  const limiter = new CapacityLimiter({
    ratePerSecond: config.capacityRps,
    burst: config.capacityBurst,
    maxWaitMs: config.maxWaitMs,
    maxConcurrency: config.maxConcurrency,
  });
  const crash =
    deps.crash ??
    ((context: CallContext) => {
      // The trace id is the second field of the traceparent this call sent (`00-<trace id>-...`).
      logger.fatal(
        { req_id: context.requestId, trace_id: context.traceparent.slice(3, 35) },
        'backend answered ERROR and WWW_CRASH_ON_BACKEND_ERROR is set: exiting',
      );
      process.exit(1);
    });
  let client: BackendClient | undefined = undefined;
  const metrics = createWwwMetrics(httpMetrics.registry, {
    limiter,
    capacityRps: config.capacityRps,
    breakerState: () => client?.breakerState ?? 0,
  });
  client = new BackendClient({
    url: config.backendUrl,
    timeoutMs: config.backendTimeoutMs,
    retries: config.backendRetries,
    retryDelayMs: config.backendRetryDelayMs,
    connections: config.backendConnections,
    breakerThreshold: config.breakerThreshold,
    breakerResetMs: config.breakerResetMs,
    onTry: metrics.backendTry,
    onRetry: metrics.retry,
    ...(config.crashOnBackendError ? { onErrorBody: crash } : {}),
  });
  const backend = client;
  app.addHook('onClose', async () => backend.close());

  app.get('/', async (request, reply) => {
    const decision = limiter.decide();
    if (!decision.admitted) {
      const { reason, retryAfterSeconds } = decision.shed;
      metrics.shed(reason);
      reply.logFields = { shed: reason };
      throw new HttpError(503, 'WWW_ERR_OVERLOADED', shedMessages[reason], {
        headers: { 'retry-after': String(retryAfterSeconds) },
      });
    }
    try {
      const waitedMs = decision.waitMs >= 1 ? await limiter.wait(decision.waitMs) : 0;
      metrics.waited(waitedMs / 1000);
      const answer = await backend.get({ requestId: request.id, traceparent: childTraceparent(request.trace) });
      metrics.backendCall('ok');
      reply.logFields = { upstream: 'ok', upstream_tries: answer.tries, backend_instance: answer.instance };
      void reply.header('x-castle-instance', info.instance).header('cache-control', 'no-store').header('vary', 'accept');
      if (prefersHtml(request)) {
        const page = renderPage({ time: answer.body, wwwInstance: info.instance, backendInstance: answer.instance, version: info.version });
        return reply.headers(page.headers).send(page.body);
      }
      return reply.type('text/plain; charset=utf-8').send(answer.body);
    } catch (err) {
      if (!(err instanceof BackendError)) throw err;
      metrics.backendCall(err.outcome);
      reply.logFields = { upstream: err.outcome, upstream_error: err.message };
      throw upstreamError(err, config.breakerResetMs);
    } finally {
      limiter.release();
    }
  });

  return { app, management, lifecycle, logger, config };
}
