import { childTraceparent, continueTrace, requestIdFrom } from '@castle/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const validTraceId = hex(32).filter((s) => !/^0+$/.test(s));
const validSpanId = hex(16).filter((s) => !/^0+$/.test(s));
const validTraceparent = fc.record({ traceId: validTraceId, spanId: validSpanId, flags: hex(2) });
const isTraceId = (s: string) => /^[0-9a-f]{32}$/.test(s) && !/^0+$/.test(s);
const isSpanId = (s: string) => /^[0-9a-f]{16}$/.test(s) && !/^0+$/.test(s);

describe('continueTrace', () => {
  it('keeps the trace id and the sampled flag of any valid version-00 traceparent', () => {
    fc.assert(
      fc.property(validTraceparent, fc.constantFrom('', ' ', '\t'), ({ traceId, spanId, flags }, pad) => {
        const ctx = continueTrace(`${pad}00-${traceId}-${spanId}-${flags}${pad}`);
        expect(ctx).toEqual({ traceId, sampled: (Number.parseInt(flags, 16) & 1) === 1 });
      }),
    );
  });

  it('starts a fresh, valid, sampled trace for anything that is not a valid traceparent', () => {
    const invalid = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      // Near misses: upper-case hex, all-zero ids, other versions, wrong lengths.
      validTraceparent.map(({ traceId, spanId, flags }) => `00-${traceId.toUpperCase()}-${spanId}-${flags}`).filter((s) => /[A-F]/.test(s)),
      validSpanId.map((spanId) => `00-${'0'.repeat(32)}-${spanId}-01`),
      validTraceId.map((traceId) => `00-${traceId}-${'0'.repeat(16)}-01`),
      fc.tuple(hex(2).filter((v) => v !== '00'), validTraceId, validSpanId).map(([v, t, s]) => `${v}-${t}-${s}-01`),
      fc.tuple(validTraceId, validSpanId).map(([t, s]) => `00-${t.slice(1)}-${s}-01`),
    );
    fc.assert(
      fc.property(fc.oneof(invalid, fc.constant(undefined), fc.array(fc.string())), (header) => {
        const ctx = continueTrace(header);
        expect(isTraceId(ctx.traceId)).toBe(true);
        expect(ctx.sampled).toBe(true);
        if (typeof header === 'string') expect(header).not.toContain(ctx.traceId);
      }),
    );
  });

  it('hands a child a traceparent that continues the same trace when parsed back', () => {
    fc.assert(
      fc.property(fc.option(validTraceparent), (tp) => {
        const parent = continueTrace(tp ? `00-${tp.traceId}-${tp.spanId}-${tp.flags}` : undefined);
        const child = childTraceparent(parent);
        expect(child).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
        expect(isSpanId(child.split('-')[2] ?? '')).toBe(true);
        expect(continueTrace(child)).toMatchObject({ traceId: parent.traceId, sampled: parent.sampled });
      }),
    );
  });
});

describe('requestIdFrom', () => {
  const idChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-');

  it('keeps any well-formed x-request-id as is', () => {
    fc.assert(
      fc.property(fc.string({ unit: idChars, minLength: 1, maxLength: 128 }), (id) => {
        expect(requestIdFrom(id)).toBe(id);
      }),
    );
  });

  it('replaces anything else (odd bytes, too long, empty, repeated headers) with a fresh 16-byte hex id', () => {
    const malformed = fc.oneof(
      fc.string({ maxLength: 200 }).filter((s) => !/^[A-Za-z0-9._:-]{1,128}$/.test(s)),
      fc.string({ unit: idChars, minLength: 129, maxLength: 300 }),
      fc.constant(undefined),
      fc.array(fc.string({ unit: idChars, minLength: 1 })),
    );
    const seen = new Set<string>();
    fc.assert(
      fc.property(malformed, (header) => {
        const id = requestIdFrom(header);
        expect(id).toMatch(/^[0-9a-f]{32}$/);
        expect(id).not.toBe(header);
        expect([...seen]).not.toContain(id);
        seen.add(id);
      }),
    );
  });
});
