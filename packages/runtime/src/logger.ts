import { pino, type Logger, type DestinationStream } from 'pino';
import { batchedStdout } from './log-destination.js';
import type { BuildInfo } from './version.js';
import type { LogLevel } from './service-config.js';

export type { Logger, DestinationStream } from 'pino';

/** Where a logger made by `createLogger` writes, and how it writes the time: what its access line needs. */
export interface LoggerOutput {
  readonly destination: DestinationStream;
  /** pino's `timestamp` function: the `,"time":...` part of a line. */
  readonly time: () => string;
}

const outputs = new WeakMap<Logger, LoggerOutput>();

/** The output of a logger made by `createLogger`; undefined for any other (a child, say). */
export function loggerOutput(logger: Logger): LoggerOutput | undefined {
  return outputs.get(logger);
}

/**
 * The one logger factory: JSON lines with an ISO time, the level as a word, and the
 * service, version and pod (the instance name) on every line. Writes to stdout unless a stream is given.
 */
export function createLogger(info: BuildInfo, level: LogLevel, destination?: DestinationStream): Logger {
  const time = isoTimeField();
  const options = {
    level,
    base: { service: info.service, version: info.version, pod: info.instance },
    timestamp: time,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  // Lines go to standard output in batches (64 KiB to a file, 16 KiB to a pipe) or every
  // 100 ms, and whatever is pending at exit: see BatchedDestination for why not pino's own
  // destination.
  const output = { destination: destination ?? batchedStdout(), time };
  const logger = pino(options, output.destination);
  outputs.set(logger, output);
  return logger;
}

const millis = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * pino's ISO `time` field. The date and time up to the second are formatted once per second
 * and the milliseconds taken from a table: a busy service writes many lines per millisecond
 * and a new millisecond on almost every line, and `toISOString` is the dearer part.
 */
export function isoTimeField(now: () => number = Date.now): () => string {
  let second = Number.NaN;
  let head = '';
  let ms = Number.NaN;
  let field = '';
  return () => {
    const t = now();
    if (t !== ms) {
      ms = t;
      const s = Math.floor(t / 1000);
      if (s !== second) {
        second = s;
        // Years 0-9999 (toISOString's plain form): `YYYY-MM-DDTHH:mm:ss.`
        head = `,"time":"${new Date(s * 1000).toISOString().slice(0, 20)}`;
      }
      field = `${head}${millis[t - s * 1000]}Z"`;
    }
    return field;
  };
}
