import { boolean, httpUrl, integer, loadConfig, milliseconds, serviceConfigRules, serviceConfigSpec, type ConfigOf } from '@castle/runtime';

/** Every variable www reads, with its default and meaning. */
export const wwwConfigSpec = {
  ...serviceConfigSpec('WWW', { port: 8080, metricsPort: 9080 }),
  backendUrl: httpUrl('WWW_BACKEND_URL', {
    default: 'http://127.0.0.1:8081',
    description: 'Base URL of the backend tier.',
  }),
  capacityRps: integer('WWW_CAPACITY_RPS', {
    default: 10,
    min: 0,
    max: 1_000_000,
    unit: 'requests per second',
    description: 'Requests per second one instance serves, as the original did (10); beyond it requests are shed. 0 disables the rate limit.',
  }),
  capacityBurst: integer('WWW_CAPACITY_BURST', {
    default: 1,
    min: 1,
    max: 1_000_000,
    description: 'Requests that may start back to back before the rate applies.',
  }),
  maxWaitMs: milliseconds('WWW_MAX_WAIT_MS', {
    default: 250,
    max: 60_000,
    description: 'Longest a request may wait for capacity; a request that would wait longer is shed at once with 503 and Retry-After.',
  }),
  maxConcurrency: integer('WWW_MAX_CONCURRENCY', {
    default: 100,
    min: 0,
    max: 100_000,
    description: 'Requests one instance holds at once, waiting or running; beyond it requests are shed at once. 0 disables the bound.',
  }),
  backendTimeoutMs: milliseconds('WWW_BACKEND_TIMEOUT_MS', {
    default: 1_000,
    min: 1,
    max: 60_000,
    description: 'Time limit of one backend try, for each of its phases: connecting, the response head and the body.',
  }),
  backendRetries: integer('WWW_BACKEND_RETRIES', {
    default: 1,
    min: 0,
    max: 5,
    description: 'Retries after a failed backend try (5xx, body ERROR, network error, timeout), with jittered backoff.',
  }),
  backendRetryDelayMs: milliseconds('WWW_BACKEND_RETRY_DELAY_MS', {
    default: 20,
    max: 10_000,
    description: 'Base delay before a retry; the actual delay is jittered.',
  }),
  backendConnections: integer('WWW_BACKEND_CONNECTIONS', {
    default: 64,
    min: 1,
    max: 10_000,
    description: 'Size of the keep-alive connection pool to the backend.',
  }),
  breakerThreshold: integer('WWW_BREAKER_THRESHOLD', {
    default: 5,
    min: 1,
    max: 1_000,
    description: 'Consecutive failed backend tries that open the circuit breaker; while open, requests fail fast with 503.',
  }),
  breakerResetMs: milliseconds('WWW_BREAKER_RESET_MS', {
    default: 2_000,
    min: 1,
    max: 600_000,
    description: 'How long the breaker stays open before it lets one trial request through (half-open).',
  }),
  crashOnBackendError: boolean('WWW_CRASH_ON_BACKEND_ERROR', {
    default: false,
    description: "Reproduce the original's fault: exit the process when the backend answers ERROR. For resilience tests only.",
  }),
};

export type WwwConfig = ConfigOf<typeof wwwConfigSpec>;

/** Reads and validates www's configuration. @throws ConfigError listing every problem. */
export function loadWwwConfig(env: NodeJS.ProcessEnv = process.env): WwwConfig {
  return loadConfig(wwwConfigSpec, env, serviceConfigRules('WWW'));
}
