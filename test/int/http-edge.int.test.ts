import { beforeAll, describe, expect, it } from 'vitest';
import { hit, type Outcome } from '../support/http-load.js';
import { useServices, type RunningService, type ServiceName } from '../support/local-services.js';
import { leaksInternals, parseResponses, rawExchange } from '../support/raw-http.js';

const services = useServices();

const headersTimeoutMs = 500;
const requestTimeoutMs = 1000;
const maxHeaderBytes = 2048;
// Node enforces these timeouts from a periodic check, so a close may come that much later.
const timeoutSlackMs = 2500;

const edgeEnv = (prefix: string) => ({
  [`${prefix}_HEADERS_TIMEOUT_MS`]: String(headersTimeoutMs),
  [`${prefix}_REQUEST_TIMEOUT_MS`]: String(requestTimeoutMs),
  [`${prefix}_MAX_HEADER_BYTES`]: String(maxHeaderBytes),
});

const running: Partial<Record<ServiceName, RunningService>> = {};
const bodies: string[] = [];

beforeAll(async () => {
  running.backend = await services.start('backend', { BACKEND_ERROR_RATE: '0', ...edgeEnv('BACKEND') });
  running.www = await services.startWww(running.backend, edgeEnv('WWW'));
});

const serviceOf = (name: ServiceName): RunningService => {
  const s = running[name];
  if (!s) throw new Error(`${name} did not start`);
  return s;
};

const seen = (o: Outcome): Outcome => {
  bodies.push(o.body ?? '');
  return o;
};

describe.each<ServiceName>(['backend', 'www'])('the HTTP edge of %s on a real socket', (name) => {
  it('answers an unknown path with 404 and a JSON error body', async () => {
    const o = seen(await hit(`${serviceOf(name).url}/no/such/thing?x=1`));

    expect(o.status).toBe(404);
    expect(o.headers?.['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(o.body ?? '')).toEqual({ statusCode: 404, code: 'NOT_FOUND', error: 'Not Found', message: 'no such resource' });
  });

  it('answers POST / with 405 and an Allow header listing GET', async () => {
    const o = seen(await hit(`${serviceOf(name).url}/`, { method: 'POST', headers: { 'content-type': 'text/plain' } }));

    expect(o.status).toBe(405);
    expect(String(o.headers?.allow).split(', ')).toContain('GET');
    expect(JSON.parse(o.body ?? '')).toMatchObject({ statusCode: 405, code: 'METHOD_NOT_ALLOWED' });
  });

  it('answers HEAD / with 200 and no body', async () => {
    const o = seen(await hit(`${serviceOf(name).url}/`, { method: 'HEAD' }));

    expect(o.status).toBe(200);
    expect(o.body).toBe('');
  });

  it('sends X-Content-Type-Options: nosniff on every kind of response, on both ports', async () => {
    const s = serviceOf(name);
    const answers = [
      await hit(`${s.url}/`),
      await hit(`${s.url}/no/such/thing`),
      await hit(`${s.url}/`, { method: 'POST', headers: { 'content-type': 'text/plain' } }),
      await hit(`${s.url}/`, { method: 'HEAD' }),
      await hit(`${s.url}/metrics`),
      await hit(`${s.url}/version`),
      await hit(`${s.metricsUrl}/metrics`),
      await hit(`${s.metricsUrl}/version`),
    ].map((o) => [seen(o).status, o.headers?.['x-content-type-options']]);
    expect(answers).toEqual([
      [200, 'nosniff'],
      [404, 'nosniff'],
      [405, 'nosniff'],
      [200, 'nosniff'],
      [404, 'nosniff'],
      [200, 'nosniff'],
      [200, 'nosniff'],
      [404, 'nosniff'],
    ]);
    const ex = await rawExchange(s.port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', { deadlineMs: 10_000 });
    const [malformed] = parseResponses(ex.data);
    expect(malformed?.status).toBe(400);
    expect(malformed?.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers a head larger than the header limit with 431', async () => {
    const head = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(maxHeaderBytes * 2)}\r\nConnection: close\r\n\r\n`;
    const ex = await rawExchange(serviceOf(name).port, head, { deadlineMs: 10_000 });

    const [res] = parseResponses(ex.data);
    bodies.push(res?.body ?? '');
    expect(res?.status).toBe(431);
    expect(res?.headers.get('x-content-type-options')).toBe('nosniff');
    expect(ex.closedByServer).toBe(true);
  });

  it('closes a connection whose request head stalls (slowloris) within about the headers timeout', async () => {
    const ex = await rawExchange(serviceOf(name).port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n', {
      deadlineMs: headersTimeoutMs + timeoutSlackMs,
    });

    expect(ex.closedByServer).toBe(true);
    expect(ex.ms).toBeGreaterThanOrEqual(headersTimeoutMs - 50);
    const responses = parseResponses(ex.data);
    bodies.push(...responses.map((r) => r.body));
    expect(responses.map((r) => r.status).filter((s) => s !== 408)).toEqual([]);
  });

  it('closes a connection whose request body stalls within about the request timeout, answering 408', async () => {
    const head = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\npartial';
    const ex = await rawExchange(serviceOf(name).port, head, { deadlineMs: requestTimeoutMs + timeoutSlackMs });

    expect(ex.closedByServer).toBe(true);
    const responses = parseResponses(ex.data);
    bodies.push(...responses.map((r) => r.body));
    expect(responses.map((r) => r.status)).toEqual([408]);
  });
});

describe('what the edge tells clients', () => {
  it('no response body above carries a stack frame or a path of this machine', () => {
    expect(bodies.length).toBeGreaterThan(5);
    expect(bodies.filter(leaksInternals)).toEqual([]);
  });
});
