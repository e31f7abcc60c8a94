import { describe, expect, it } from 'vitest';
import { cachedRfc850Clock, formatRfc850 } from '../src/rfc850.js';

// Expected strings printed by Go: time.UnixMilli(ms).UTC().Format(time.RFC850).
const goVectors: [number, string][] = [
  [0, 'Thursday, 01-Jan-70 00:00:00 UTC'],
  [1136214245000, 'Monday, 02-Jan-06 15:04:05 UTC'],
  [951782400000, 'Tuesday, 29-Feb-00 00:00:00 UTC'],
  [4102444799000, 'Thursday, 31-Dec-99 23:59:59 UTC'],
  [1700000000123, 'Tuesday, 14-Nov-23 22:13:20 UTC'],
  [1582934400000, 'Saturday, 29-Feb-20 00:00:00 UTC'],
];

describe('formatRfc850', () => {
  it.each(goVectors)('formats %i ms exactly as Go does', (ms, expected) => {
    expect(formatRfc850(new Date(ms))).toBe(expected);
  });
});

describe('cachedRfc850Clock', () => {
  it('formats each second once and moves on with the clock', () => {
    let now = 1136214245000;
    const clock = cachedRfc850Clock(() => now);
    expect(clock()).toBe('Monday, 02-Jan-06 15:04:05 UTC');
    now += 999;
    expect(clock()).toBe('Monday, 02-Jan-06 15:04:05 UTC');
    now += 1;
    expect(clock()).toBe('Monday, 02-Jan-06 15:04:06 UTC');
  });
});
