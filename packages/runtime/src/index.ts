// The public API of @castle/runtime: what the services, the tests and the scripts use.
// Everything else in src/ is internal and may change without notice.
export { accessLogWriter, millisFromMicros, type AccessFields, type ExtraFields } from './access-log.js';
export {
  boolean,
  ConfigError,
  decimalNumber,
  describeConfig,
  httpUrl,
  integer,
  loadConfig,
  milliseconds,
  type ConfigOf,
  type ConfigSpec,
  type Field,
} from './config.js';
export { HttpError } from './errors.js';
export { FastCounter, FastHistogram } from './fast-metrics.js';
export { createLogger, isoTimeField } from './logger.js';
export { Gauge, latencyBuckets, type Registry } from './metrics.js';
export { runMain, startService, type BoundAddress, type RunningService, type ServiceParts } from './server.js';
export { createService, type ServiceDeps } from './service-app.js';
export { serviceConfigRules, serviceConfigSpec, type LogLevel } from './service-config.js';
export { childTraceparent, continueTrace, requestIdFrom } from './trace.js';
export type { BuildInfo } from './version.js';
