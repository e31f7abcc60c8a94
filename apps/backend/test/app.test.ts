import { describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/support/log-capture.js';
import { buildBackend } from '../src/app.js';
import { loadBackendConfig } from '../src/config.js';

const info = { service: 'backend', version: '9.9.9', gitSha: 'f00', buildTime: 'now', instance: 'backend-7' };
const fixedNow = () => 1136214245000;

function backend(env: NodeJS.ProcessEnv, random: () => number = () => 0.5) {
  const logs = new LogCapture();
  const parts = buildBackend(loadBackendConfig(env), { now: fixedNow, random, info, logDestination: logs, runtimeMetrics: false });
  return { ...parts, logs };
}

describe('backend GET /', () => {
  it('answers the current UTC time in RFC 850 layout as text/plain', async () => {
    const { app } = backend({});
    const res = await app.inject('/');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.headers['x-castle-instance']).toBe('backend-7');
    expect(res.body).toBe('Monday, 02-Jan-06 15:04:05 UTC');
  });

  it.each([
    ['fails a request whose draw is under the error rate with 500 ERROR', {}, 0.019, 500, 'ERROR'],
    ['serves a request whose draw is at the error rate', {}, 0.02, 200, 'Monday, 02-Jan-06 15:04:05 UTC'],
    ['never fails at rate 0', { BACKEND_ERROR_RATE: '0' }, 0, 200, 'Monday, 02-Jan-06 15:04:05 UTC'],
    ['always fails at rate 1', { BACKEND_ERROR_RATE: '1' }, 0.9999, 500, 'ERROR'],
    ['reproduces the original 200 ERROR in legacy mode', { BACKEND_LEGACY_ERRORS: 'true' }, 0.001, 200, 'ERROR'],
  ])('%s', async (_name, env, draw, status, body) => {
    const { app } = backend(env, () => draw);
    const res = await app.inject('/');
    expect(res.statusCode).toBe(status);
    expect(res.body).toBe(body);
  });

  it('fails about the configured share of requests', async () => {
    const { app, management } = backend({ BACKEND_ERROR_RATE: '0.25' }, Math.random);
    let errors = 0;
    for (let i = 0; i < 1000; i++) if ((await app.inject('/')).statusCode === 500) errors++;
    // 1000 draws at p=0.25: mean 250, sd ~13.7; ±6 sd never fails by chance.
    expect(errors).toBeGreaterThan(168);
    expect(errors).toBeLessThan(332);
    expect((await management.inject('/metrics')).body).toContain(`backend_injected_errors_total ${errors}`);
  });

  it('logs one line per response with time, remote address, response, status, duration and request id', async () => {
    const { app, logs } = backend({});
    await app.inject({ url: '/', headers: { 'x-request-id': 'r-1' } });
    expect(logs.withMessage('request completed')).toEqual([
      expect.objectContaining({
        time: expect.any(String),
        remote_address: '127.0.0.1',
        response: 'Monday, 02-Jan-06 15:04:05 UTC',
        status: 200,
        duration_ms: expect.any(Number),
        req_id: 'r-1',
      }),
    ]);
  });
});
