import { accessLogWriter, createLogger, type AccessFields, type BuildInfo, type ExtraFields, type LogLevel } from '@castle/runtime';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const info: BuildInfo = { service: 'demo', version: '1.2.3', gitSha: 'abc1234', buildTime: '2026-01-01T00:00:00Z', instance: 'demo-0' };

/** A logger whose raw output is kept as written. */
function rawLogger(level: LogLevel = 'info') {
  const chunks: string[] = [];
  const logger = createLogger(info, level, { write: (chunk: string) => void chunks.push(chunk) });
  return { logger, chunks };
}

// Strings as requests bring them: any well-formed Unicode, with quotes, backslashes and
// control characters over-represented, short and long (pino switches strategy at 100).
const text = fc.oneof(
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\u2028', 'a', 'é', '😀') }),
  fc.string({ unit: 'grapheme-ascii', minLength: 90, maxLength: 140 }),
);
const fields: fc.Arbitrary<AccessFields> = fc.record({
  req_id: text,
  method: fc.constantFrom('GET', 'HEAD', 'POST'),
  path: text,
  status: fc.integer({ min: 100, max: 599 }),
  duration_ms: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 0.001, 1e21, Number.NaN, Infinity)),
  remote_address: fc.option(text, { nil: undefined }),
  trace_id: text,
});
const extra: fc.Arbitrary<ExtraFields | null> = fc.option(
  fc.dictionary(
    text.filter((k) => !['req_id', 'method', 'path', 'status', 'duration_ms', 'remote_address', 'trace_id', 'msg', '__proto__'].includes(k)),
    fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(undefined)),
    { maxKeys: 4 },
  ),
  { nil: null },
);

describe('accessLogWriter', () => {
  beforeEach(() => {
    // One millisecond for both writers, so the time fields agree.
    vi.spyOn(Date, 'now').mockReturnValue(Date.parse('2026-11-27T06:41:14.123Z'));
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('writes exactly the bytes pino writes for the same fields, for any well-formed input', () => {
    fc.assert(
      fc.property(fields, extra, text, (f, x, msg) => {
        const ours = rawLogger();
        const theirs = rawLogger();
        accessLogWriter(ours.logger)(f, x, msg);
        theirs.logger.info({ ...f, ...x }, msg);
        expect(ours.chunks).toEqual(theirs.chunks);
      }),
      { numRuns: 500 },
    );
  });

  it('writes valid JSON that keeps lone surrogates, which pino would pass through raw', () => {
    const { logger, chunks } = rawLogger();
    const path = '/a\ud800b';
    accessLogWriter(logger)({ req_id: 'r', method: 'GET', path, status: 200, duration_ms: 1, remote_address: undefined, trace_id: 't' }, { x: '\udfff' }, 'm');
    const line = JSON.parse(chunks.join('')) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', service: 'demo', path, x: '\udfff', msg: 'm', time: '2026-11-27T06:41:14.123Z' });
    expect(chunks.join('')).toMatch(/\n$/);
  });

  it('writes nothing when the logger is above info', () => {
    const { logger, chunks } = rawLogger('warn');
    accessLogWriter(logger)({ req_id: 'r', method: 'GET', path: '/', status: 200, duration_ms: 1, remote_address: '::1', trace_id: 't' }, null, 'm');
    expect(chunks).toEqual([]);
    logger.level = 'info';
    accessLogWriter(logger)({ req_id: 'r', method: 'GET', path: '/', status: 200, duration_ms: 1, remote_address: '::1', trace_id: 't' }, null, 'm');
    expect(chunks).toHaveLength(1);
  });
});
