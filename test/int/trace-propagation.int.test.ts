import { beforeAll, describe, expect, it } from 'vitest';
import { hit } from '../support/http-load.js';
import { useServices, type LogLine, type RunningService } from '../support/local-services.js';

const services = useServices();
let backend: RunningService;
let www: RunningService;

beforeAll(async () => {
  backend = await services.start('backend', { BACKEND_ERROR_RATE: '0' });
  www = await services.startWww(backend);
});

const completion = (service: RunningService, reqId: string) =>
  service.waitForLine((l: LogLine) => l.msg === 'request completed' && l.path === '/' && l.req_id === reqId, `completion line of ${reqId}`);

describe('request id and trace context across the tiers', () => {
  it('www and the backend log the same x-request-id and trace id as the caller sent, and www continues the trace with a span of its own', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const answer = await hit(`${www.url}/`, {
      headers: { 'x-request-id': 'abc-123', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });

    expect(answer.status).toBe(200);
    expect(answer.headers?.['x-request-id']).toBe('abc-123');
    const [front, back] = await Promise.all([completion(www, 'abc-123'), completion(backend, 'abc-123')]);
    expect(front).toMatchObject({ trace_id: traceId, status: 200, upstream: 'ok', method: 'GET', service: 'www', pod: 'www-e2e' });
    expect(back).toMatchObject({ trace_id: traceId, status: 200, method: 'GET', service: 'backend', pod: 'backend-e2e' });
    expect(front.version).toEqual(expect.any(String));
    expect(back.version).toEqual(expect.any(String));
  });

  it('without incoming ids www makes fresh ones and still hands the same ones to the backend', async () => {
    const answer = await hit(`${www.url}/`, { headers: { traceparent: 'not-a-traceparent' } });

    const reqId = answer.headers?.['x-request-id'];
    expect(typeof reqId).toBe('string');
    const [front, back] = await Promise.all([completion(www, reqId as string), completion(backend, reqId as string)]);
    expect(front.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(front.trace_id).not.toBe('0'.repeat(32));
    expect(back.trace_id).toBe(front.trace_id);
  });

  it('a malformed x-request-id is replaced, not logged or echoed', async () => {
    const answer = await hit(`${www.url}/`, { headers: { 'x-request-id': 'bad id with spaces' } });

    const reqId = answer.headers?.['x-request-id'] as string;
    expect(reqId).toMatch(/^[0-9a-f]{32}$/);
    const back = await completion(backend, reqId);
    expect(back.req_id).toBe(reqId);
    expect(www.stdout).not.toContain('bad id with spaces');
  });
});
