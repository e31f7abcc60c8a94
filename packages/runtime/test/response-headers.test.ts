import { once } from 'node:events';
import { connect } from 'node:net';
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startService } from '../src/server.js';
import { demoApp } from './fixture.js';

async function running(addRoutes: (app: ReturnType<typeof demoApp>['app']) => void = () => {}) {
  const parts = demoApp();
  addRoutes(parts.app);
  const service = await startService({ ...parts, config: { host: '127.0.0.1', port: 0, metricsPort: 0, drainDelayMs: 0, shutdownTimeoutMs: 5000 } });
  onTestFinished(() => service.shutdown('test done'));
  return { ...parts, service };
}

async function nosniffOf(url: string, method: 'GET' | 'HEAD' | 'POST' = 'GET'): Promise<[number, unknown]> {
  const res = await request(url, { method });
  await res.body.text();
  return [res.statusCode, res.headers['x-content-type-options']];
}

describe('headers on every response', () => {
  it('sends X-Content-Type-Options: nosniff on answers, errors, unknown paths and the management port', async () => {
    const { service } = await running();
    expect([
      await nosniffOf(`${service.url}/hello`),
      await nosniffOf(`${service.url}/hello`, 'HEAD'),
      await nosniffOf(`${service.url}/boom`),
      await nosniffOf(`${service.url}/nope`),
      await nosniffOf(`${service.url}/hello`, 'POST'),
      await nosniffOf(`${service.url}/readyz`),
      await nosniffOf(`${service.management.url}/metrics`),
      await nosniffOf(`${service.management.url}/nope`),
    ]).toEqual([
      [200, 'nosniff'],
      [200, 'nosniff'],
      [500, 'nosniff'],
      [404, 'nosniff'],
      [405, 'nosniff'],
      [200, 'nosniff'],
      [200, 'nosniff'],
      [404, 'nosniff'],
    ]);
  });

  it('sends it on the 503 Fastify writes itself to a request that arrives while the server closes', async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { app, logs, service } = await running((app) =>
      app.get('/held', async (_req, reply) => {
        entered();
        await released;
        return reply.send('late');
      }),
    );
    // One keep-alive connection: the first request holds the server open, the second arrives while it closes.
    const socket = connect(service.port, '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    socket.write('GET /held HTTP/1.1\r\nhost: x\r\n\r\n');
    await inHandler;
    const closing = app.close();
    socket.write('GET /hello HTTP/1.1\r\nhost: x\r\n\r\n');
    await expect.poll(() => logs.withMessage('request refused: server is closing').length, { timeout: 5000 }).toBe(1);
    release();
    await closing;
    await expect.poll(() => received.includes('Service Unavailable'), { timeout: 5000 }).toBe(true);
    socket.destroy();
    const heads = received.split(/(?=HTTP\/1\.1 )/).filter(Boolean);
    expect(heads.map((h) => h.slice(9, 12))).toContain('503');
    for (const head of heads) expect(head.toLowerCase()).toContain('x-content-type-options: nosniff');
  });
});
