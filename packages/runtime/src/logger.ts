import { pino, type Logger, type DestinationStream } from 'pino';
import type { BuildInfo } from './version.js';
import type { LogLevel } from './service-config.js';

export type { Logger, DestinationStream } from 'pino';

/**
 * The one logger factory: JSON lines with an ISO time, the level as a word, and the
 * service, version and instance on every line. Writes to stdout unless a stream is given.
 */
export function createLogger(info: BuildInfo, level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: info.service, version: info.version, instance: info.instance },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}
