import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { errorBody, HttpError } from '../src/errors.js';
import type { HttpMetrics } from '../src/metrics.js';
import { demoApp, info } from './fixture.js';

/**
 * Listens, sends `raw` and waits until the app has `inFlight` requests in hand (`entered`),
 * then disconnects and waits until the app counts none in flight. The app closes after the test.
 */
async function abandon(app: FastifyInstance, metrics: HttpMetrics, raw: string, entered: Promise<void>, inFlight: number): Promise<void> {
  onTestFinished(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const client = connect(port, '127.0.0.1', () => client.write(raw));
  await entered;
  expect(metrics.inFlight.count).toBe(inFlight);
  client.destroy();
  await expect.poll(() => metrics.inFlight.count).toBe(0);
}

describe('the HTTP edge', () => {
  it('answers unknown paths 404 with a JSON error body', async () => {
    const { app } = demoApp();
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: 'no such resource' });
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH'] as const)('answers %s on a GET route 405 with an Allow header', async (method) => {
    const { app } = demoApp();
    const res = await app.inject({ method, url: '/hello?x=1' });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
  });

  it('answers HEAD like GET without a body', async () => {
    const { app } = demoApp();
    const res = await app.inject({ method: 'HEAD', url: '/hello' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
  });

  it('masks unexpected errors: no message, stack or path reaches the client, but the log has them', async () => {
    const { app, logs } = demoApp();
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ statusCode: 500, code: 'INTERNAL', error: 'Internal Server Error', message: 'Internal Server Error' });
    expect(res.body).not.toMatch(/secret|\/srv|at /);
    expect(JSON.stringify(logs.withMessage('unhandled error'))).toContain('secret database password');
  });

  it("names the request and its trace on the unhandled error's line, as on its completion line", async () => {
    const { app, logs } = demoApp();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await app.inject({ method: 'GET', url: '/boom', headers: { 'x-request-id': 'req-7', traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    const [error] = logs.withMessage('unhandled error');
    expect(error).toMatchObject({ level: 'error', req_id: 'req-7', trace_id: traceId, service: 'demo', version: '1.2.3', pod: 'demo-0' });
    expect(logs.withMessage('request completed')[0]).toMatchObject({ req_id: 'req-7', trace_id: traceId, pod: 'demo-0' });
  });

  it('echoes a well-formed request id and logs one completion line per request', async () => {
    const { app, logs } = demoApp();
    const res = await app.inject({ method: 'GET', url: '/hello', headers: { 'x-request-id': 'req-42' } });
    expect(res.headers['x-request-id']).toBe('req-42');
    const lines = logs.withMessage('request completed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ req_id: 'req-42', method: 'GET', path: '/hello', status: 200, service: 'demo', version: '1.2.3', pod: 'demo-0' });
    expect(typeof lines[0]?.duration_ms).toBe('number');
    expect(lines[0]?.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it("logs Fastify's own warnings with the service logger, alongside the request's completion line", async () => {
    const { app, logs } = demoApp();
    app.get('/twice', (_req, reply) => {
      void reply.type('text/plain').send('one');
      return reply.send('two');
    });
    const res = await app.inject({ method: 'GET', url: '/twice' });
    expect(res.body).toBe('one');
    const warnings = logs.lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ service: 'demo', version: '1.2.3', pod: 'demo-0' });
    expect(String(warnings[0]?.msg)).toMatch(/already sent/);
    expect(logs.withMessage('request completed')).toHaveLength(1);
  });

  it('reports liveness always and readiness only while ready', async () => {
    const { app, lifecycle } = demoApp();
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/readyz')).body).toBe('starting\n');
    lifecycle.markReady();
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    lifecycle.startDraining();
    const draining = await app.inject('/readyz');
    expect(draining.statusCode).toBe(503);
    expect(draining.body).toBe('draining\n');
    expect((await app.inject('/healthz')).statusCode).toBe(200);
  });

  it('asks keep-alive clients to reconnect elsewhere while draining', async () => {
    const { app, lifecycle } = demoApp();
    lifecycle.markReady();
    expect((await app.inject('/hello')).headers.connection).not.toBe('close');
    lifecycle.startDraining();
    expect((await app.inject('/hello')).headers.connection).toBe('close');
  });

  it('closes a keep-alive connection after its first response past the maximum age, so clients rebalance', async () => {
    const { app } = demoApp({ maxConnectionAgeMs: 1_000 });
    onTestFinished(() => app.close());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    onTestFinished(() => void socket.destroy());
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    const ended = once(socket, 'end');
    const response = async (n: number) => {
      await expect.poll(() => received.split('\r\n\r\nhi').length - 1).toBe(n);
      return received.split(/(?=HTTP\/1\.1 )/)[n - 1]?.toLowerCase() ?? '';
    };
    const opened = performance.now();
    socket.write('GET /hello HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(await response(1)).toContain('connection: keep-alive');
    // The age is the condition under test: let it pass.
    await delay(Math.max(0, 1_050 - (performance.now() - opened)));
    socket.write('GET /hello HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(await response(2)).toContain('connection: close');
    await ended;
  });

  it('serves build metadata on /version', async () => {
    const { app } = demoApp();
    expect((await app.inject('/version')).json()).toEqual({ ...info, node: process.version });
  });

  it('exposes request counts, latency and in-flight in Prometheus text format on the management app', async () => {
    const { app, management } = demoApp();
    await app.inject('/hello');
    await app.inject('/hello');
    await app.inject('/nope');
    const res = await management.inject('/metrics');
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('http_requests_total{method="GET",route="/hello",status_code="200"} 2');
    expect(res.body).toContain('http_requests_total{method="GET",route="unmatched",status_code="404"} 1');
    expect(res.body).toContain('http_request_duration_seconds_count{method="GET",route="/hello",status_code="200"} 2');
    expect(res.body).toContain('http_requests_in_flight 0');
    expect(res.body).toContain('castle_build_info{service="demo",version="1.2.3",git_sha="abc1234"} 1');
  });

  it('answers /metrics on the main app 404, like any unknown path', async () => {
    const { app } = demoApp();
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('serves only /metrics and the probes on the management app, and counts none of it as traffic', async () => {
    const { management, lifecycle } = demoApp();
    lifecycle.markReady();
    expect((await management.inject('/healthz')).body).toBe('ok\n');
    expect((await management.inject('/readyz')).body).toBe('ready\n');
    for (const path of ['/', '/hello', '/version', '/nope']) expect((await management.inject(path)).statusCode).toBe(404);
    expect((await management.inject('/metrics')).body).not.toContain('http_requests_total{');
  });

  it('reports a request whose client went away before the answer as aborted (499), once, and stops counting it in flight', async () => {
    const { app, management, logs, metrics } = demoApp();
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let finished!: () => void;
    const handlerDone = new Promise<void>((resolve) => (finished = resolve));
    app.get('/held', async (_req, reply) => {
      entered();
      await released;
      try {
        return await reply.send('late');
      } finally {
        finished();
      }
    });
    await abandon(app, metrics, 'GET /held HTTP/1.1\r\nhost: x\r\n\r\n', inHandler, 1);
    release();
    await handlerDone;
    expect(metrics.inFlight.count).toBe(0);
    expect(logs.withMessage('request completed')).toEqual([]);
    const aborted = logs.withMessage('request aborted');
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toMatchObject({ method: 'GET', path: '/held', status: 499 });
    const scrape = await management.inject('/metrics');
    expect(scrape.body).toContain('http_requests_total{method="GET",route="/held",status_code="499"} 1');
  });

  it('reports a response that fails while being written as aborted (499), once, with the error logged beside it', async () => {
    const { app, logs, metrics } = demoApp();
    onTestFinished(() => app.close());
    app.get('/broken', (_req, reply) => {
      const body = new Readable({ read() {} });
      body.push('first part\n');
      setImmediate(() => body.destroy(new Error('disk gone')));
      return reply.type('text/plain').send(body);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const head = `GET /broken HTTP/1.1\r\nhost: x\r\nx-request-id: req-broken\r\ntraceparent: ${traceparent}\r\n\r\n`;
    const client = connect(port, '127.0.0.1', () => client.write(head));
    let received = '';
    client.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    await new Promise((resolve) => client.on('close', resolve));
    expect(received).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(received).toContain('first part');
    await expect.poll(() => metrics.inFlight.count).toBe(0);
    expect(logs.withMessage('request completed')).toEqual([]);
    const aborted = logs.withMessage('request aborted');
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toMatchObject({ method: 'GET', path: '/broken', status: 499 });
    const warned = logs.withMessage('response terminated with an error with headers already sent');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 'warn', err: { message: 'disk gone' }, req_id: 'req-broken', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' });
    expect(aborted[0]).toMatchObject({ req_id: 'req-broken', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' });
  });

  it('reports every unanswered request of a pipelining client that went away', async () => {
    const { app, logs, metrics } = demoApp();
    let inHandlers = 0;
    let bothEntered!: () => void;
    const bothIn = new Promise<void>((resolve) => (bothEntered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    app.get('/held/:n', async (_req, reply) => {
      inHandlers += 1;
      if (inHandlers === 2) bothEntered();
      await released;
      return reply.send('late');
    });
    await abandon(app, metrics, 'GET /held/1 HTTP/1.1\r\nhost: x\r\n\r\nGET /held/2 HTTP/1.1\r\nhost: x\r\n\r\n', bothIn, 2);
    release();
    expect(logs.withMessage('request aborted').map((l) => l.path).sort()).toEqual(['/held/1', '/held/2']);
    expect(logs.withMessage('request completed')).toEqual([]);
  });
});

describe('errorBody', () => {
  it.each([
    [new HttpError(503, 'X_BUSY', 'busy, retry later'), true, { statusCode: 503, code: 'X_BUSY', message: 'busy, retry later' }],
    [Object.assign(new Error('bad header'), { statusCode: 400, code: 'FST_ERR_X' }), false, { statusCode: 400, code: 'FST_ERR_X', message: 'bad header' }],
    [Object.assign(new Error('db down at /srv/x.js'), { statusCode: 502 }), false, { statusCode: 502, code: 'INTERNAL', message: 'Internal Server Error' }],
    [Object.assign(new Error('weird'), { statusCode: 99 }), false, { statusCode: 500, code: 'INTERNAL', message: 'Internal Server Error' }],
  ])('maps %s (exposed: %s) to a safe body', (err, exposed, expected) => {
    expect(errorBody(err, exposed)).toMatchObject(expected);
  });
});
