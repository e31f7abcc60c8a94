import { describe, expect, it } from 'vitest';
import { childTraceparent, continueTrace, requestIdFrom } from '../src/trace.js';

const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context', () => {
  it('continues the trace of a valid traceparent', () => {
    expect(continueTrace(valid)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', sampled: true });
  });

  it.each([undefined, '', 'garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'])(
    'starts a new trace when the header is %j',
    (header) => {
      const ctx = continueTrace(header);
      expect(ctx.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(ctx.traceId).not.toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    },
  );

  it('passes the trace id and sampling flag to the child call', () => {
    const ctx = continueTrace('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
    expect(childTraceparent(ctx, 'aaaaaaaaaaaaaaaa')).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-aaaaaaaaaaaaaaaa-00');
  });

  it('gives each child call a parent id of its own, never the incoming one', () => {
    const ctx = continueTrace(valid);
    const parentIds = new Set(Array.from({ length: 1000 }, () => childTraceparent(ctx).split('-')[2]));
    expect(parentIds.size).toBe(1000);
    expect([...parentIds]).not.toContain('00f067aa0ba902b7');
  });

  it('makes distinct 32-digit request and trace ids however many it makes, across refills of its random pool', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? requestIdFrom(undefined) : continueTrace(undefined).traceId));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps a well-formed request id and replaces a hostile one', () => {
    expect(requestIdFrom('abc-123')).toBe('abc-123');
    expect(requestIdFrom('a b\nc')).toMatch(/^[0-9a-f]{32}$/);
    expect(requestIdFrom('x'.repeat(200))).toMatch(/^[0-9a-f]{32}$/);
    expect(requestIdFrom(['a', 'b'])).toMatch(/^[0-9a-f]{32}$/);
  });
});
