import { host, integer, milliseconds, oneOf, port, type ConfigRule } from './config.js';

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

/**
 * The fields every Castle HTTP service has, under its own prefix (`WWW_`, `BACKEND_`):
 * where it listens, how it logs, how it protects its HTTP edge and how it shuts down.
 */
export function serviceConfigSpec(prefix: string, defaults: { readonly port: number; readonly metricsPort: number }) {
  return {
    host: host(`${prefix}_HOST`, {
      default: '127.0.0.1',
      description: 'Address to listen on; containers set 0.0.0.0.',
    }),
    port: port(`${prefix}_PORT`, {
      default: defaults.port,
      description: 'TCP port of the service and its probes (/healthz, /readyz, /version); 0 picks a free port.',
    }),
    metricsPort: port(`${prefix}_METRICS_PORT`, {
      default: defaults.metricsPort,
      description: `TCP port of the management listener, on the same host: /metrics for Prometheus (plus /healthz, /readyz), kept off the public port; containers set 9090. 0 picks a free port; must differ from ${prefix}_PORT.`,
    }),
    logLevel: oneOf(`${prefix}_LOG_LEVEL`, logLevels, {
      default: 'info',
      description: 'Minimum level of the JSON log lines written to stdout.',
    }),
    drainDelayMs: milliseconds(`${prefix}_DRAIN_DELAY_MS`, {
      default: 0,
      max: 300_000,
      description:
        'On SIGTERM/SIGINT, how long to keep serving while /readyz reports draining, so load balancers stop routing here first (Kubernetes: 5000).',
    }),
    shutdownTimeoutMs: milliseconds(`${prefix}_SHUTDOWN_TIMEOUT_MS`, {
      default: 10_000,
      min: 100,
      max: 600_000,
      description: 'After the drain delay, how long in-flight requests may take before the process exits with status 1.',
    }),
    requestTimeoutMs: milliseconds(`${prefix}_REQUEST_TIMEOUT_MS`, {
      default: 10_000,
      min: 100,
      description: 'Longest time a client may take to send a whole request (answers 408); guards against slow clients.',
    }),
    headersTimeoutMs: milliseconds(`${prefix}_HEADERS_TIMEOUT_MS`, {
      default: 5_000,
      min: 100,
      description: 'Longest time a client may take to send the request headers (slowloris guard); at most the request timeout.',
    }),
    keepAliveTimeoutMs: milliseconds(`${prefix}_KEEP_ALIVE_TIMEOUT_MS`, {
      default: 65_000,
      min: 100,
      description: 'How long an idle keep-alive connection stays open; keep it above the idle timeout of the load balancer in front (AWS ALB: 60 s).',
    }),
    maxConnectionAgeMs: milliseconds(`${prefix}_MAX_CONNECTION_AGE_MS`, {
      default: 10_000,
      description:
        'After this long, a keep-alive connection is closed after its next response (`Connection: close`), so clients reconnect and new replicas get their share of traffic within that time; 0 keeps connections for as long as they are used.',
    }),
    maxHeaderBytes: integer(`${prefix}_MAX_HEADER_BYTES`, {
      default: 16_384,
      min: 1_024,
      max: 1_048_576,
      unit: 'bytes',
      description: 'Largest request head accepted; larger ones are answered 431.',
    }),
  };
}

/**
 * The rules across the fields of `serviceConfigSpec`: the management listener needs a port
 * of its own (two fixed equal ports would fail at listen, later and less clearly).
 */
export function serviceConfigRules(prefix: string): ConfigRule<{ readonly port: number; readonly metricsPort: number }>[] {
  return [
    ({ port, metricsPort }) =>
      port !== 0 && metricsPort === port
        ? `${prefix}_METRICS_PORT: must differ from ${prefix}_PORT (both are ${port}); /metrics is served on a port of its own, so set another port or 0 for a free one`
        : undefined,
  ];
}
