import type { FastifyInstance } from 'fastify';
import { setTimeout as delay } from 'node:timers/promises';
import { ConfigError } from './config.js';
import type { Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';

/** Where a service listens, and how long it drains and waits when it stops. */
export interface ListenConfig {
  readonly host: string;
  readonly port: number;
  /** The management listener's port, on the same host (0 picks a free port). */
  readonly metricsPort: number;
  readonly drainDelayMs: number;
  readonly shutdownTimeoutMs: number;
}

/** What `startService` and `runMain` run: the two apps, their lifecycle, logger and listen config. */
export interface ServiceParts {
  /** The service's own routes and probes, on `config.port`. */
  readonly app: FastifyInstance;
  /** /metrics (and probes), on `config.metricsPort`. */
  readonly management: FastifyInstance;
  readonly lifecycle: Lifecycle;
  readonly logger: Logger;
  readonly config: ListenConfig;
}

/** Where one listener is bound. */
export interface BoundAddress {
  readonly port: number;
  /** `http://host:port`, with a loopback host when listening on every address. */
  readonly url: string;
}

/** A listening service. */
export interface RunningService extends BoundAddress {
  /** The management listener, which serves /metrics. */
  readonly management: BoundAddress;
  /**
   * Drains and stops: readiness turns false, the drain delay passes while requests are still
   * served, then both listeners close and in-flight requests finish. Idempotent.
   * @throws Error when in-flight requests outlive the shutdown timeout.
   */
  shutdown(reason: string): Promise<void>;
}

async function listen(app: FastifyInstance, host: string, port: number): Promise<BoundAddress> {
  await app.listen({ host, port, listenTextResolver: (address) => `listening at ${address}` });
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  return { port: bound, url: `http://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl}:${bound}` };
}

/** Listens on both ports, marks the service ready, and returns a handle that can drain it. */
export async function startService({ app, management, lifecycle, logger, config }: ServiceParts): Promise<RunningService> {
  const main = await listen(app, config.host, config.port);
  let metrics: BoundAddress;
  try {
    metrics = await listen(management, config.host, config.metricsPort);
  } catch (err) {
    // Nothing half-done: a service without its metrics listener does not start.
    await app.close();
    throw err;
  }
  lifecycle.markReady();
  logger.info({ host: config.host, port: main.port, url: main.url, metrics_port: metrics.port, metrics_url: metrics.url }, 'ready');

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      lifecycle.startDraining();
      logger.info({ reason, drain_delay_ms: config.drainDelayMs }, 'draining');
      // The drain delay is the contract with load balancers, not a wait for an event.
      if (config.drainDelayMs > 0) await delay(config.drainDelayMs);
      logger.info('closing listeners; waiting for in-flight requests');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`in-flight requests still running after ${config.shutdownTimeoutMs} ms`)),
          config.shutdownTimeoutMs,
        );
      });
      try {
        await Promise.race([Promise.all([app.close(), management.close()]), timeout]);
      } finally {
        clearTimeout(timer);
      }
      logger.info('stopped');
    })();
    return stopping;
  };
  return { ...main, management: metrics, shutdown };
}

/**
 * The entry point of a service process: builds it (reporting configuration problems as
 * `KEY: message` lines on stderr with exit status 1), listens, and on SIGTERM or SIGINT
 * drains and exits 0. A second signal forces exit 1.
 */
export async function runMain(name: string, build: () => ServiceParts | Promise<ServiceParts>): Promise<void> {
  let parts: ServiceParts;
  try {
    parts = await build();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: invalid configuration\n${err.problems.join('\n')}\n`);
      process.exit(1);
    }
    throw err;
  }
  const { logger } = parts;
  let service: RunningService;
  try {
    service = await startService(parts);
  } catch (err) {
    logger.fatal({ err }, 'could not start');
    process.exit(1);
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    service.shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown did not finish cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
