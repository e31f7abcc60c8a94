import { once } from 'node:events';
import { createServer } from 'node:net';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startService } from '../src/server.js';
import { demoApp } from './fixture.js';

function listen(drainDelayMs: number, shutdownTimeoutMs = 5000, metricsPort = 0) {
  const parts = demoApp();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const started = new Promise<void>((resolve) => (entered = resolve));
  parts.app.get('/slow', async (_req, reply) => {
    entered();
    await released;
    return reply.send('done');
  });
  const config = { host: '127.0.0.1', port: 0, metricsPort, drainDelayMs, shutdownTimeoutMs };
  return { ...parts, release, started, start: () => startService({ ...parts, config }) };
}

describe('graceful shutdown', () => {
  it('turns readiness false, keeps serving through the drain delay, then finishes in-flight requests', async () => {
    const svc = listen(1000);
    const running = await svc.start();
    expect(svc.lifecycle.ready).toBe(true);
    const inflight = request(`${running.url}/slow`);
    await svc.started;
    const stopping = running.shutdown('SIGTERM');
    expect(svc.lifecycle.draining).toBe(true);
    const ready = await request(`${running.url}/readyz`);
    expect(ready.statusCode).toBe(503);
    await ready.body.text();
    const during = await request(`${running.url}/hello`);
    expect(during.statusCode).toBe(200);
    expect(await during.body.text()).toBe('hi');
    svc.release();
    const res = await inflight;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('done');
    await stopping;
    expect(svc.logs.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['draining', 'stopped']));
    await expect(request(`${running.url}/hello`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('serves /metrics on the management port it reports, not on the main port, and closes both listeners', async () => {
    const svc = listen(0);
    const running = await svc.start();
    expect(running.management.port).toBeGreaterThan(0);
    expect(running.management.port).not.toBe(running.port);
    expect(running.management.url).toBe(`http://127.0.0.1:${running.management.port}`);
    expect(svc.logs.withMessage('ready')[0]).toMatchObject({ port: running.port, metrics_port: running.management.port });
    const onMain = await request(`${running.url}/metrics`);
    expect(onMain.statusCode).toBe(404);
    await onMain.body.text();
    const scrape = await request(`${running.management.url}/metrics`);
    expect(scrape.statusCode).toBe(200);
    expect(scrape.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await scrape.body.text()).toContain('# TYPE http_requests_total counter');
    await running.shutdown('SIGTERM');
    expect(svc.app.server.listening).toBe(false);
    expect(svc.management.server.listening).toBe(false);
    await expect(request(`${running.management.url}/metrics`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('does not start, and leaves no listener open, when the management port is taken', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const taken = (blocker.address() as { port: number }).port;
    try {
      const svc = listen(0, 5000, taken);
      await expect(svc.start()).rejects.toThrow(/EADDRINUSE/);
      expect(svc.app.server.listening).toBe(false);
      expect(svc.lifecycle.ready).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('is idempotent: a second shutdown call returns the same drain', async () => {
    const svc = listen(0);
    const running = await svc.start();
    const a = running.shutdown('SIGTERM');
    const b = running.shutdown('SIGINT');
    expect(a).toBe(b);
    await a;
    expect(svc.logs.withMessage('draining')).toHaveLength(1);
  });

  it('gives up with an error when in-flight requests outlive the shutdown timeout', async () => {
    const svc = listen(0, 200);
    const running = await svc.start();
    const inflight = request(`${running.url}/slow`).catch((err: unknown) => err);
    await svc.started;
    await expect(running.shutdown('SIGTERM')).rejects.toThrow('in-flight requests still running after 200 ms');
    svc.release();
    await inflight;
    svc.app.server.closeAllConnections();
    if (svc.app.server.listening) await once(svc.app.server, 'close');
  });
});
