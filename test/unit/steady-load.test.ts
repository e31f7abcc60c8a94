import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLoad, startSteadyLoad } from '../support/steady-load.js';

/** Answers in turn: 200, a capacity shed, a 502, and a dropped connection. */
let server: Server;
let url: string;
let n = 0;
const connections = new Set<string>();

beforeAll(async () => {
  server = createServer((req, res) => {
    connections.add(`${req.socket.remotePort}`);
    const turn = n++ % 4;
    if (turn === 0) res.end('ok');
    else if (turn === 1) res.writeHead(503, { 'content-type': 'application/json' }).end('{"code":"WWW_ERR_OVERLOADED"}');
    else if (turn === 2) res.writeHead(502, { 'content-type': 'application/json' }).end('{"code":"WWW_ERR_BAD_GATEWAY"}');
    else req.socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the steady load of the cluster scenarios', () => {
  it('counts ok, shed and failed apart, names each miss, and opens a connection per request', async () => {
    n = 0;
    connections.clear();
    const load = startSteadyLoad(url, { rps: 200, uniform: true });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const r = await load.stop();
    expect(r.sent).toBeGreaterThanOrEqual(40);
    expect(r.done).toBe(r.sent);
    expect(r.ok + r.shed + r.failed).toBe(r.sent);
    expect(r.ok).toBeGreaterThan(0);
    expect(r.shed).toBeGreaterThan(0);
    expect(r.misses.filter((m) => m.verdict === 'failed').map((m) => m.code ?? m.what).sort()).toEqual(
      expect.arrayContaining(['WWW_ERR_BAD_GATEWAY', expect.stringMatching(/^(ECONNRESET|UND_ERR_SOCKET|SocketError)$/)]),
    );
    expect(connections.size).toBe(r.sent);
    expect(r.seconds.reduce((s, x) => s + x.sent, 0)).toBe(r.sent);
    expect(describeLoad(r)).toMatch(/ok, \d+ shed, \d+ failed \(.*shed 503 WWW_ERR_OVERLOADED/);
  });

  it('stops by itself after its maximum duration', async () => {
    const load = startSteadyLoad(url, { rps: 50, maxDurationMs: 300 });
    await new Promise((resolve) => setTimeout(resolve, 700));
    const before = load.report().sent;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const r = await load.stop();
    expect(r.sent).toBe(before);
    expect(r.durationMs).toBeLessThan(400);
  });

  it('offers Poisson arrivals at about the asked mean rate', async () => {
    const load = startSteadyLoad(url, { rps: 100 });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const r = await load.stop();
    // About 100 expected (more if the timer above fired late): a Poisson count stays within
    // four standard deviations of its mean with overwhelming probability.
    const expected = (100 * r.durationMs) / 1000;
    expect(Math.abs(r.sent - expected)).toBeLessThan(4 * Math.sqrt(expected));
  });
});
