import { boolean, decimalNumber, loadConfig, serviceConfigRules, serviceConfigSpec, type ConfigOf } from '@castle/runtime';

/** Every variable the backend reads, with its default and meaning. */
export const backendConfigSpec = {
  ...serviceConfigSpec('BACKEND', { port: 8081, metricsPort: 9081 }),
  errorRate: decimalNumber('BACKEND_ERROR_RATE', {
    default: 0.02,
    min: 0,
    max: 1,
    description: 'Share of GET / requests that fail on purpose, answered 500 with body ERROR.',
  }),
  legacyErrors: boolean('BACKEND_LEGACY_ERRORS', {
    default: false,
    description: "Answer those failures as the original service did, 200 with body ERROR, for resilience tests.",
  }),
};

export type BackendConfig = ConfigOf<typeof backendConfigSpec>;

/** Reads and validates the backend's configuration. @throws ConfigError listing every problem. */
export function loadBackendConfig(env: NodeJS.ProcessEnv = process.env): BackendConfig {
  return loadConfig(backendConfigSpec, env, serviceConfigRules('BACKEND'));
}
