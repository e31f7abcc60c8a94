import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/support/log-capture.js';
import { buildWww } from '../src/app.js';
import type { CallContext } from '../src/backend-client.js';
import { loadWwwConfig } from '../src/config.js';
import { StubBackend, type Behaviour } from './stub-backend.js';

const info = { service: 'www', version: '2.0.0', gitSha: 'beef', buildTime: 'now', instance: 'www-<0>' };
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function www(script: Behaviour[], env: NodeJS.ProcessEnv = {}, crash?: (context: CallContext) => void) {
  const stub = await StubBackend.start(script);
  const logs = new LogCapture();
  const config = loadWwwConfig({ WWW_BACKEND_URL: stub.url, WWW_CAPACITY_RPS: '0', WWW_BACKEND_RETRY_DELAY_MS: '1', ...env });
  const { app, management } = buildWww(config, { info, logDestination: logs, runtimeMetrics: false, ...(crash ? { crash } : {}) });
  cleanups.push(async () => {
    await Promise.all([app.close(), management.close()]);
    await stub.stop();
  });
  return { app, management, stub, logs };
}

const get = (app: FastifyInstance, accept?: string) => app.inject({ url: '/', headers: accept ? { accept } : {} });

describe('www GET /', () => {
  it.each([undefined, '*/*', 'text/plain', 'application/json'])('answers the backend time as text/plain for Accept %j', async (accept) => {
    const { app } = await www(['time']);
    const res = await get(app, accept);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.headers.vary).toBe('accept');
    expect(res.body).toBe('Monday, 02-Jan-06 15:04:05 UTC');
  });

  it('serves a small HTML page with the time, both instances and the version to browsers', async () => {
    const { app } = await www(['time']);
    const res = await get(app, 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8');
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('<h1 id="time">Monday, 02-Jan-06 15:04:05 UTC</h1>');
    expect(res.body).toContain('<dd>www-&lt;0&gt;</dd>');
    expect(res.body).toContain('<dd>stub-1</dd>');
    expect(res.body).toContain('<dd>2.0.0</dd>');
  });

  it.each([
    ['502 when the backend keeps failing', ['error500'], {}, 502, 'WWW_ERR_BAD_GATEWAY'],
    ['502 when the backend keeps answering 200 ERROR', ['error200'], {}, 502, 'WWW_ERR_BAD_GATEWAY'],
    ['504 when the backend keeps timing out', ['hang'], { WWW_BACKEND_TIMEOUT_MS: '50' }, 504, 'WWW_ERR_UPSTREAM_TIMEOUT'],
  ] as const)('answers %s', async (_name, script, env, status, code) => {
    const { app } = await www([...script], env);
    const res = await get(app);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ statusCode: status, code });
    expect(res.body).not.toContain('ERROR"');
  });

  it('never passes a 200 ERROR on to its client', async () => {
    const { app } = await www(['error200', 'time']);
    const res = await get(app);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('Monday, 02-Jan-06 15:04:05 UTC');
  });

  it('fails fast with 503 and Retry-After once the breaker is open', async () => {
    const { app } = await www(['error500'], { WWW_BREAKER_THRESHOLD: '2', WWW_BACKEND_RETRIES: '0', WWW_BREAKER_RESET_MS: '3000' });
    await get(app);
    await get(app);
    const res = await get(app);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.json()).toMatchObject({ code: 'WWW_ERR_BACKEND_UNAVAILABLE', message: 'backend unavailable, retry later' });
  });

  it('sheds requests beyond capacity with 503 and Retry-After, counting them', async () => {
    const { app, management } = await www(['time'], { WWW_CAPACITY_RPS: '1', WWW_MAX_WAIT_MS: '0' });
    expect((await get(app)).statusCode).toBe(200);
    const shed = await get(app);
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['retry-after']).toBe('1');
    expect(shed.json()).toMatchObject({ code: 'WWW_ERR_OVERLOADED', message: 'over capacity, retry later' });
    const metrics = (await management.inject('/metrics')).body;
    expect(metrics).toContain('www_shed_total{reason="rate"} 1');
    expect(metrics).toContain('www_capacity_requests_per_second 1');
  });

  it('calls the crash hook on a backend ERROR only when WWW_CRASH_ON_BACKEND_ERROR is set, naming the request and its trace', async () => {
    const crashes: CallContext[] = [];
    const off = await www(['error500', 'time'], {}, (context) => crashes.push(context));
    expect((await get(off.app)).statusCode).toBe(200);
    expect(crashes).toHaveLength(0);
    const on = await www(['error500', 'time'], { WWW_CRASH_ON_BACKEND_ERROR: 'true' }, (context) => crashes.push(context));
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await on.app.inject({ url: '/', headers: { 'x-request-id': 'req-9', traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(crashes).toHaveLength(1);
    expect(crashes[0]?.requestId).toBe('req-9');
    expect(crashes[0]?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
  });

  it('logs the upstream outcome on the completion line and counts backend calls, tries and retries', async () => {
    const { app, management, logs } = await www(['error500', 'time']);
    await get(app);
    expect(logs.withMessage('request completed')[0]).toMatchObject({ status: 200, upstream: 'ok', upstream_tries: 2, backend_instance: 'stub-1' });
    const metrics = (await management.inject('/metrics')).body;
    expect(metrics).toContain('www_backend_calls_total{outcome="ok"} 1');
    expect(metrics).toContain('www_backend_retries_total 1');
    expect(metrics).toContain('www_backend_try_duration_seconds_count{outcome="error_status"} 1');
    expect(metrics).toContain('www_backend_circuit_state 0');
    expect(metrics).toMatch(/www_limiter_wait_seconds_count 1/);
    expect(metrics).toContain('www_limiter_timer_lateness_seconds 0');
  });
});
