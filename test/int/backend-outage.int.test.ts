import { describe, expect, it } from 'vitest';
import { closedLoop, hit, newClient, percentile, pollUntil, rfc850, tally } from '../support/http-load.js';
import { useServices } from '../support/local-services.js';

const services = useServices();
const backendTimeoutMs = 2000;

describe('backend outage and recovery', () => {
  it('while the backend is down www answers fast 502/503, and it serves the time again once the backend is back on the same port', async () => {
    const backend = await services.start('backend', { BACKEND_ERROR_RATE: '0' });
    const www = await services.startWww(backend, {
      WWW_BACKEND_TIMEOUT_MS: String(backendTimeoutMs),
      WWW_BREAKER_THRESHOLD: '3',
      WWW_BREAKER_RESET_MS: '500',
    });
    const dispatcher = newClient(8);
    const before = await closedLoop(`${www.url}/`, { concurrency: 4, total: 40, dispatcher });
    expect(tally(before)).toEqual({ 200: 40 });

    await backend.stop('SIGKILL');
    const outage = await closedLoop(`${www.url}/`, { concurrency: 4, total: 60, dispatcher });

    // Refused connections are answered at once; the breaker then fails fast without trying.
    const statuses = new Set(outage.map((o) => o.status));
    expect([...statuses].filter((s) => s !== 502 && s !== 503)).toEqual([]);
    expect([...statuses]).toContain(503);
    expect(percentile(outage.map((o) => o.ms), 95)).toBeLessThan(backendTimeoutMs / 4);
    expect(www.running).toBe(true);

    const restarted = await services.start('backend', { BACKEND_ERROR_RATE: '0', BACKEND_PORT: String(backend.port) });
    expect(restarted.port).toBe(backend.port);

    // The breaker half-opens after 500 ms; poll on www's own answers until one is the time.
    const recovery = await pollUntil(`${www.url}/`, (o) => o.status === 200, { deadlineMs: 15_000, dispatcher });
    expect(recovery.at(-1)?.status).toBe(200);
    expect(recovery.slice(0, -1).filter((o) => o.status !== 502 && o.status !== 503)).toEqual([]);

    const after = await closedLoop(`${www.url}/`, { concurrency: 4, total: 40, dispatcher });
    await dispatcher.close();
    expect(tally(after)).toEqual({ 200: 40 });
    expect(after.map((o) => o.body).filter((b) => !rfc850.test(b ?? ''))).toEqual([]);
    expect(www.lines.map((l) => l.upstream)).toContain('circuit_open');
  });

  it('www reports the dead backend as a 5xx, never as a connection error to its own client', async () => {
    const backend = await services.start('backend', { BACKEND_ERROR_RATE: '0' });
    const www = await services.startWww(backend, { WWW_BREAKER_RESET_MS: '500' });
    await backend.stop('SIGKILL');

    const answer = await hit(`${www.url}/`);

    expect(answer.error).toBeUndefined();
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body ?? '{}')).toMatchObject({ code: 'WWW_ERR_BAD_GATEWAY', message: 'backend failed to answer' });
  });
});
