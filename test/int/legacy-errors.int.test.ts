import { describe, expect, it } from 'vitest';
import { closedLoop, errorBodyOf, hit, tally } from '../support/http-load.js';
import { useServices } from '../support/local-services.js';

const services = useServices();
const legacyBackend = { BACKEND_ERROR_RATE: '1', BACKEND_LEGACY_ERRORS: 'true' };

describe('the original 200 ERROR fault', () => {
  it('a legacy backend answers 200 with body ERROR, and www never passes that body on (502, then 503)', async () => {
    const backend = await services.start('backend', legacyBackend);
    const direct = await hit(`${backend.url}/`);
    expect([direct.status, direct.body]).toEqual([200, 'ERROR']);

    const www = await services.startWww(backend, { WWW_BREAKER_RESET_MS: '60000' });
    const outcomes = await closedLoop(`${www.url}/`, { concurrency: 1, total: 8 });

    expect(outcomes.filter((o) => o.body === 'ERROR')).toEqual([]);
    expect(Object.keys(tally(outcomes)).sort()).toEqual(['502', '503']);
    for (const o of outcomes) {
      expect(errorBodyOf(o)?.code).toBe(o.status === 502 ? 'WWW_ERR_BAD_GATEWAY' : 'WWW_ERR_BACKEND_UNAVAILABLE');
    }
  });

  it('with WWW_CRASH_ON_BACKEND_ERROR=true www exits non-zero on the first backend ERROR (the opt-in fault)', async () => {
    const backend = await services.start('backend', { BACKEND_ERROR_RATE: '1' });
    const www = await services.startWww(backend, { WWW_CRASH_ON_BACKEND_ERROR: 'true' });

    // The request dies with the process; only the exit matters here.
    const answer = await hit(`${www.url}/`);
    const exit = await www.exited;

    expect(answer.status).toBeUndefined();
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(www.lines).toContainEqual(expect.objectContaining({ level: 'fatal', msg: expect.stringMatching(/WWW_CRASH_ON_BACKEND_ERROR/) }));
  });

  it('by default www keeps running however often the backend answers ERROR', async () => {
    const backend = await services.start('backend', { BACKEND_ERROR_RATE: '1' });
    const www = await services.startWww(backend, { WWW_BREAKER_THRESHOLD: '1000' });

    const outcomes = await closedLoop(`${www.url}/`, { concurrency: 4, total: 40 });
    const health = await hit(`${www.url}/healthz`);

    expect(tally(outcomes)).toEqual({ 502: 40 });
    expect(health.status).toBe(200);
    expect(www.running).toBe(true);
  });
});
