import { randomFillSync } from 'node:crypto';

/**
 * The W3C trace context of one request: the trace it belongs to and whether the caller
 * samples it. Castle records no spans of its own (no tracer runs), so it keeps no span id:
 * the trace id and request id in every log line link a request across the tiers, and each
 * call to another service carries a fresh parent id (`childTraceparent`).
 */
export interface TraceContext {
  readonly traceId: string;
  readonly sampled: boolean;
}

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const zeroTrace = '0'.repeat(32);
const zeroSpan = '0'.repeat(16);

// Ids are cut from a pool of random bytes, refilled and hex-encoded 4 KiB at a time: a
// randomUUID per id costs more per request than the measured threshold (bench/README.md,
// "What pays").
const poolBytes = 4096;
const pool = Buffer.alloc(poolBytes);
let poolHex = '';
let poolOffset = poolBytes;

/** `bytes` fresh random bytes as lowercase hex. */
function randomHex(bytes: number): string {
  if (poolOffset + bytes > poolBytes) {
    randomFillSync(pool);
    poolHex = pool.toString('hex');
    poolOffset = 0;
  }
  const hex = poolHex.slice(poolOffset * 2, (poolOffset + bytes) * 2);
  poolOffset += bytes;
  return hex;
}

/** A fresh 8-byte span id as hex. */
function newSpanId(): string {
  return randomHex(8);
}

/** 16 fresh random bytes as hex (a trace id or request id). */
function newId(): string {
  return randomHex(16);
}

/**
 * Continues the trace of an incoming `traceparent` header (version 00), or starts a new,
 * sampled one when the header is missing or malformed.
 */
export function continueTrace(header: string | string[] | undefined): TraceContext {
  const match = typeof header === 'string' ? traceparentPattern.exec(header.trim()) : null;
  if (match && match[1] !== zeroTrace && match[2] !== zeroSpan) {
    const flags = Number.parseInt(match[3] ?? '00', 16);
    return { traceId: match[1] as string, sampled: (flags & 1) === 1 };
  }
  return { traceId: newId(), sampled: true };
}

/** The `traceparent` header for a call this service makes as a child of `ctx`. */
export function childTraceparent(ctx: TraceContext, childSpanId: string = newSpanId()): string {
  return `00-${ctx.traceId}-${childSpanId}-${ctx.sampled ? '01' : '00'}`;
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Keeps a well-formed incoming `x-request-id`, otherwise makes a new one: 32 hex digits,
 * the shape of nginx's `$request_id`.
 */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && requestIdPattern.test(header) ? header : newId();
}
