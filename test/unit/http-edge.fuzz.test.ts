import { startService, type RunningService } from '@castle/runtime';
import { buildBackend } from '@castle/backend/app';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBackendConfig } from '@castle/backend/config';
import { leaksInternals, parseResponses, rawExchange } from '../support/raw-http.js';

const maxHeaderBytes = 4096;
const allowedStatuses = new Set([200, 400, 404, 405, 408, 413, 414, 431, 501, 505]);

let service: RunningService;

beforeAll(async () => {
  const config = loadBackendConfig({
    BACKEND_PORT: '0',
    BACKEND_METRICS_PORT: '0',
    BACKEND_ERROR_RATE: '0',
    BACKEND_LOG_LEVEL: 'silent',
    BACKEND_MAX_HEADER_BYTES: String(maxHeaderBytes),
    BACKEND_HEADERS_TIMEOUT_MS: '2000',
    BACKEND_REQUEST_TIMEOUT_MS: '3000',
  });
  service = await startService(buildBackend(config, { runtimeMetrics: false }));
});

afterAll(async () => {
  await service.shutdown('test done');
});

const ascii = fc.string({ unit: 'binary-ascii', maxLength: 40 });
const tokenChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&\'*+-.^_`|~');
const method = fc.oneof(
  fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'PRI', 'get', 'G ET', ''),
  fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 }),
  ascii,
);
const path = fc.oneof(
  fc.constantFrom('/', '/healthz', '/readyz', '/version', '/metrics', '/nope', '*', 'http://x/', '//..//', '/%zz', '/%00', '/?a=%', '/#frag'),
  ascii.map((s) => `/${s}`),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => `/${s}`),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `/${'a'.repeat(n)}`),
);
const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.x', 'http/1.1', 'HTTP/11', '');
const headerLine = fc.oneof(
  fc.constantFrom(
    'Host: x', 'Connection: close', 'Connection: keep-alive', 'Content-Length: 5', 'Content-Length: -1', 'Content-Length: abc',
    'Content-Length: 99999999999999999999', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Expect: 100-continue',
    'Upgrade: websocket', 'Connection: Upgrade', 'X-Request-Id: abc-123', 'traceparent: 00-zz', 'Accept: text/html',
    ' folded continuation', 'NoColonHere', ': empty-name', 'Bad Name: x', 'X-Nul: a\0b',
  ),
  fc.tuple(fc.string({ unit: tokenChar, minLength: 1, maxLength: 16 }), ascii).map(([k, v]) => `${k}: ${v}`),
  fc.integer({ min: maxHeaderBytes / 2, max: maxHeaderBytes * 4 }).map((n) => `X-Big: ${'b'.repeat(n)}`),
);
const rawHead = fc
  .record({
    method,
    path,
    version,
    headers: fc.array(headerLine, { maxLength: 8 }),
    eol: fc.constantFrom('\r\n', '\n', '\r'),
    body: fc.oneof(fc.constant(''), ascii, fc.constant('5\r\nhello\r\n0\r\n\r\n')),
  })
  .map(({ method: m, path: p, version: v, headers, eol, body }) => ({
    method: m,
    payload: `${m} ${p} ${v}${eol}${headers.join(eol)}${headers.length > 0 ? eol : ''}${eol}${body}`,
  }));

describe('the HTTP edge under malformed raw requests', () => {
  it('answers every head with a well-formed status line of an expected status, leaks nothing and stays up', async () => {
    await fc.assert(
      fc.asyncProperty(rawHead, async ({ method: m, payload }) => {
        // A request that itself holds a stack-like or path-like text may see it echoed in a 400.
        fc.pre(!leaksInternals(payload));
        const ex = await rawExchange(service.port, payload, { deadlineMs: 8000, end: true });

        expect({ closedByServer: ex.closedByServer }).toEqual({ closedByServer: true });
        const responses = parseResponses(ex.data, { headRequest: m === 'HEAD' });
        const finals = responses.filter((r) => r.status >= 200);
        for (const r of finals) expect(allowedStatuses).toContain(r.status);
        expect(responses.map((r) => r.body).filter((body) => leaksInternals(body))).toEqual([]);
      }),
      { numRuns: 300 },
    );
    const health = await rawExchange(service.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { deadlineMs: 5000 });
    expect(parseResponses(health.data).map((r) => [r.status, r.body])).toEqual([[200, 'ok\n']]);
  });

  it('answers a well-formed request even after a stream of garbage on other connections', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => rawExchange(service.port, `\0\xff${'x'.repeat(i * 500)}\r\n\r\n`, { deadlineMs: 5000, end: true })),
    );
    const ex = await rawExchange(service.port, 'GET / HTTP/1.0\r\n\r\n', { deadlineMs: 5000 });

    const [res] = parseResponses(ex.data);
    expect(res?.status).toBe(200);
    expect(res?.body).toMatch(/ UTC$/);
  });
});
