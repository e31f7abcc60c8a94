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
    timestamp: isoTimeCachedPerMillisecond(),
    formatters: { level: (label: string) => ({ level: label }) },
  };
  // Lines are written in batches of 4 KiB or every 100 ms, whichever comes first: a write
  // call per line would double the system calls of a busy service. pino flushes what is
  // pending when the process exits.
  return pino(options, destination ?? pino.destination({ dest: 1, sync: true, minLength: 4096, periodicFlush: 100 }));
}

/** pino's ISO `time` field, formatted once per millisecond rather than once per line. */
function isoTimeCachedPerMillisecond(): () => string {
  let ms = -1;
  let field = '';
  return () => {
    const now = Date.now();
    if (now !== ms) {
      ms = now;
      field = `,"time":"${new Date(now).toISOString()}"`;
    }
    return field;
  };
}
