import type { BatchedDestination } from './log-destination.js';
import { loggerOutput, type DestinationStream, type Logger } from './logger.js';

/**
 * The fields of every request's completion line, in the order they are written. The edge
 * guarantees that `req_id`, `method`, `remote_address` and `trace_id` hold only characters
 * that need no escaping in JSON (a validated or generated id, an HTTP token, an IP address,
 * hex), so they are written as they are; `path` and the extra fields are escaped as needed.
 */
export interface AccessFields {
  readonly req_id: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The response time in whole microseconds, written as `duration_ms` with up to 3 decimals. */
  readonly duration_us: number;
  readonly remote_address: string | undefined;
  readonly trace_id: string;
}

/**
 * What a route adds to its completion line: flat values only (string, number, boolean), under
 * names that are plain identifiers (a letter or `_`, then letters, digits or `_`), written as they are.
 */
export type ExtraFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** Writes one request's completion line at `info`, or nothing when `info` is off. */
export type AccessLogWriter = (fields: AccessFields, extra: ExtraFields | null, msg: string) => void;

// JSON.stringify is needed only for strings with quotes, backslashes, control characters or
// surrogates; everything else is written as it is (ids, methods, addresses, most paths).
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const needsEscape = /[\u0000-\u001f"\\\ud800-\udfff]/;

function str(value: string): string {
  return needsEscape.test(value) ? JSON.stringify(value) : `"${value}"`;
}

// ".001" to ".999" (trailing zeros dropped) and "" for 0: the decimals of a millisecond count.
const fractions = Array.from({ length: 1000 }, (_, i) => (i === 0 ? '' : `.${String(i).padStart(3, '0').replace(/0+$/, '')}`));

/**
 * Microseconds as milliseconds, exactly as `String(us / 1000)` would write them, from
 * integer arithmetic: turning a fractional number into its shortest decimal is one of the
 * dearer steps of a log line.
 */
export function millisFromMicros(us: number): string {
  if (!Number.isSafeInteger(us) || us < 0 || us >= 1e15) return json(us / 1000);
  const whole = Math.floor(us / 1000);
  return `${whole}${fractions[us - whole * 1000]}`;
}

function json(value: string | number | boolean): string {
  if (typeof value === 'string') return str(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  return value ? 'true' : 'false';
}

function bindingsOf(logger: Logger): string {
  let text = '';
  for (const [key, value] of Object.entries(logger.bindings())) text += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  return text;
}

/**
 * The writer of the one line every request logs. The line is what `logger.info(fields, msg)`
 * would write — the same level, time, bindings and destination, so it interleaves with the
 * logger's other lines and parses to the same object — but it is built from a fixed template
 * instead of pino's generic walk over the object, which costs three to four times as much.
 * It needs the logger's destination and time function, which `createLogger` records
 * (`loggerOutput`); for any other logger it calls `logger.info`. A destination that batches
 * (BatchedDestination) gets the line through `writeBatched`.
 */
export function accessLogWriter(logger: Logger): AccessLogWriter {
  const output = loggerOutput(logger);
  if (output === undefined) {
    return (f, extra, msg) => {
      const { duration_us, ...rest } = f;
      logger.info({ ...rest, duration_ms: duration_us / 1000, ...extra }, msg);
    };
  }
  const { time } = output;
  const stream = output.destination as DestinationStream & Partial<Pick<BatchedDestination, 'writeBatched'>>;
  // createLogger writes the level as its label; the bindings are fixed when the logger is made.
  const head = '{"level":"info"';
  const bindings = bindingsOf(logger);
  return (f, extra, msg) => {
    if (!logger.isLevelEnabled('info')) return;
    let line =
      `${head}${time()}${bindings},"req_id":"${f.req_id}","method":"${f.method}","path":${str(f.path)}` +
      `,"status":${f.status},"duration_ms":${millisFromMicros(f.duration_us)}` +
      (f.remote_address === undefined ? '' : `,"remote_address":"${f.remote_address}"`) +
      `,"trace_id":"${f.trace_id}"`;
    if (extra !== null) {
      for (const key in extra) {
        const value = extra[key];
        if (value !== undefined) line += `,"${key}":${json(value)}`;
      }
    }
    line += `,"msg":${str(msg)}}\n`;
    if (stream.writeBatched) stream.writeBatched(line);
    else stream.write(line);
  };
}
