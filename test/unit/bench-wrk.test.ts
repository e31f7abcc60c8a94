import { describe, expect, it } from 'vitest';
import { parseWrk } from '../../bench/lib/wrk.js';

// A report wrk 4.1 printed here, against the backend with BACKEND_ERROR_RATE=0.5.
const report = `Running 1s test @ http://127.0.0.1:18097/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   670.89us    1.32ms  20.16ms   95.28%
    Req/Sec     8.92k     4.40k   17.66k    70.00%
  Latency Distribution
     50%  366.00us
     75%  641.00us
     90%    1.14ms
     99%    6.84ms
  8871 requests in 1.00s, 2.43MB read
  Non-2xx or 3xx responses: 4383
Requests/sec:   8862.07
Transfer/sec:      2.43MB
`;

describe("the bench's wrk report reader", () => {
  it('reads requests, duration, non-2xx and the latency percentiles in their units', () => {
    expect(parseWrk(report)).toEqual({
      requests: 8871,
      durationS: 1,
      rps: 8871,
      non2xx: 4383,
      errors: 0,
      timeouts: 0,
      latencyP50Ms: 0.366,
      latencyP99Ms: 6.84,
    });
  });

  it('counts socket errors, timeouts apart, and reads a duration in minutes', () => {
    const withErrors = report
      .replace('  8871 requests in 1.00s,', '  8871 requests in 1.50m,')
      .replace('  Non-2xx or 3xx responses: 4383\n', '  Socket errors: connect 1, read 2, write 3, timeout 4\n');
    expect(parseWrk(withErrors)).toMatchObject({ durationS: 90, non2xx: 0, errors: 6, timeouts: 4 });
  });

  it('refuses a report without a request count, quoting it', () => {
    expect(() => parseWrk('unable to connect to 127.0.0.1:1 Connection refused\n')).toThrow(/no "N requests in T" line.*\n.*Connection refused/s);
  });
});
