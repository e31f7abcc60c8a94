import { once } from 'node:events';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { startService } from '../src/server.js';
import { demoApp } from './fixture.js';

function listen(drainDelayMs: number, shutdownTimeoutMs = 5000) {
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
  const config = { host: '127.0.0.1', port: 0, drainDelayMs, shutdownTimeoutMs };
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
