import { accessLogWriter, createLogger, isoTimeField, millisFromMicros, type AccessFields, type BuildInfo, type ExtraFields, type LogLevel } from '@castle/runtime';
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
// What the edge puts in the fields it writes unescaped: request ids as requestIdFrom keeps
// or makes them, HTTP method tokens, IP addresses and hex trace ids.
const token = (chars: string, max: number) => fc.string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: max });
const fields: fc.Arbitrary<AccessFields> = fc.record({
  req_id: fc.oneof(token('ABCXYZabcxyz0189._:-', 128), fc.uuid()),
  method: fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST'), token("!#$%&'*+-.^_`|~ABCZ09", 20)),
  path: text,
  status: fc.integer({ min: 100, max: 599 }),
  duration_us: fc.oneof(fc.nat(), fc.integer({ min: 0, max: 1e13 }), fc.constantFrom(0, 1, 999, 1000, 1001, 1e15, -1, 0.5, Number.NaN, Infinity)),
  remote_address: fc.option(fc.oneof(fc.ipV4(), fc.ipV6()), { nil: undefined }),
  trace_id: token('0123456789abcdef', 32),
});
const extra: fc.Arbitrary<ExtraFields | null> = fc.option(
  fc.dictionary(
    fc.tuple(token('abcxyz_', 1), fc.string({ unit: fc.constantFrom(...'abcxyz_0189'), maxLength: 23 })).map(([a, b]) => a + b).filter((k) => !['req_id', 'method', 'path', 'status', 'duration_ms', 'remote_address', 'trace_id', 'msg'].includes(k)),
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
        const { duration_us, ...rest } = f;
        const pinoFields = { req_id: rest.req_id, method: rest.method, path: rest.path, status: rest.status, duration_ms: duration_us / 1000 };
        theirs.logger.info({ ...pinoFields, remote_address: rest.remote_address, trace_id: rest.trace_id, ...x }, msg);
        expect(ours.chunks).toEqual(theirs.chunks);
      }),
      { numRuns: 500 },
    );
  });

  it('writes valid JSON that keeps lone surrogates, which pino would pass through raw', () => {
    const { logger, chunks } = rawLogger();
    const path = '/a\ud800b';
    accessLogWriter(logger)({ req_id: 'r', method: 'GET', path, status: 200, duration_us: 1, remote_address: undefined, trace_id: 't' }, { x: '\udfff' }, 'm');
    const line = JSON.parse(chunks.join('')) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', service: 'demo', path, x: '\udfff', msg: 'm', time: '2026-11-27T06:41:14.123Z' });
    expect(chunks.join('')).toMatch(/\n$/);
  });

  it("writes a child logger's line through the child, with the child's bindings", () => {
    const { logger, chunks } = rawLogger();
    const child = logger.child({ component: 'edge' });
    accessLogWriter(child)({ req_id: 'r', method: 'GET', path: '/', status: 204, duration_us: 1500, remote_address: '::1', trace_id: 't' }, { upstream: 'ok' }, 'm');
    expect(chunks).toHaveLength(1);
    expect(JSON.parse(chunks[0] ?? '')).toEqual({
      level: 'info',
      time: '2026-11-27T06:41:14.123Z',
      service: 'demo',
      version: '1.2.3',
      pod: 'demo-0',
      component: 'edge',
      req_id: 'r',
      method: 'GET',
      path: '/',
      status: 204,
      duration_ms: 1.5,
      remote_address: '::1',
      trace_id: 't',
      upstream: 'ok',
      msg: 'm',
    });
  });

  it('writes nothing when the logger is above info', () => {
    const { logger, chunks } = rawLogger('warn');
    accessLogWriter(logger)({ req_id: 'r', method: 'GET', path: '/', status: 200, duration_us: 1, remote_address: '::1', trace_id: 't' }, null, 'm');
    expect(chunks).toEqual([]);
    logger.level = 'info';
    accessLogWriter(logger)({ req_id: 'r', method: 'GET', path: '/', status: 200, duration_us: 1, remote_address: '::1', trace_id: 't' }, null, 'm');
    expect(chunks).toHaveLength(1);
  });
});

describe('isoTimeField', () => {
  it('writes the time exactly as toISOString does, for any time and in any order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: Date.parse('9999-12-31T23:59:59.999Z') }), { minLength: 1, maxLength: 20 }), (times) => {
        let i = 0;
        const field = isoTimeField(() => times[i] ?? 0);
        for (i = 0; i < times.length; i++) {
          expect(field()).toBe(`,"time":"${new Date(times[i] ?? 0).toISOString()}"`);
        }
      }),
    );
  });

  it('follows a clock through millisecond and second boundaries', () => {
    let now = Date.parse('2026-12-31T23:59:59.998Z');
    const field = isoTimeField(() => now);
    const seen: string[] = [];
    for (let k = 0; k < 4; k++, now++) seen.push(field());
    expect(seen).toEqual([
      ',"time":"2026-12-31T23:59:59.998Z"',
      ',"time":"2026-12-31T23:59:59.999Z"',
      ',"time":"2027-01-01T00:00:00.000Z"',
      ',"time":"2027-01-01T00:00:00.001Z"',
    ]);
  });
});

describe('millisFromMicros', () => {
  it('writes microseconds as milliseconds exactly as String(us / 1000) does', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.double(), fc.integer({ min: -1e6, max: -1 })), (us) => {
        expect(millisFromMicros(us)).toBe(JSON.stringify(us / 1000) ?? 'null');
      }),
      { numRuns: 2000 },
    );
    expect([0, 1, 10, 100, 120, 1000, 1500, 123456].map(millisFromMicros)).toEqual(['0', '0.001', '0.01', '0.1', '0.12', '1', '1.5', '123.456']);
  });
});
