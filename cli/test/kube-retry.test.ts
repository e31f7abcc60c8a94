import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FaultProxy, hang, reset, startFaultProxy, status, tooManyRequests } from '../../test/support/fault-proxy.js';
import { EXIT_CODES } from '../src/errors.js';
import { Kube } from '../src/kube/client.js';
import { type RetryPolicy, parseRetryAfter } from '../src/kube/retry.js';
import { LeaseLostError, fencedKube } from '../src/release/fence.js';
import { type FakeApi, fakeApi, kubeConfigFor } from './fake-api.js';

const CM = /^\/api\/v1\/namespaces\/castle\/configmaps\/app$/;
const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'castle', name: 'app' };
const app = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'castle' }, data: { a: '1' } };

describe('Kube API calls through a fault-injecting proxy', () => {
  let api: FakeApi;
  let proxy: FaultProxy;
  let waits: number[];

  beforeEach(async () => {
    api = fakeApi();
    api.put('/api/v1/namespaces/castle/configmaps/app', app);
    proxy = await startFaultProxy(api.handler);
    waits = [];
  });
  afterEach(() => proxy.close());

  const recordWait = (ms: number): Promise<void> => {
    waits.push(ms);
    return Promise.resolve();
  };
  /** A client with a short time limit per try whose waits are recorded and skipped (unless `retry` says how to wait). */
  const kube = (retry: Partial<RetryPolicy> = {}): Kube => new Kube(kubeConfigFor(proxy.url), { tryTimeoutMs: 200, retry: { sleep: recordWait, ...retry } });

  it('retries a GET through 429 (waiting as Retry-After says), 503 and a reset connection, then succeeds', async () => {
    proxy.inject({ match: { method: 'GET', path: CM }, faults: [tooManyRequests(2), status(503), reset()] });
    await expect(kube().get(ref)).resolves.toMatchObject({ data: { a: '1' } });
    expect(proxy.count({ method: 'GET', path: CM })).toBe(4);
    expect(waits).toHaveLength(3);
    expect(waits[0]).toBe(2000);
  });

  it('retries a GET that gets no answer within the time limit of a try', async () => {
    proxy.inject({ match: { method: 'GET', path: CM }, faults: [hang()] });
    await expect(kube().get(ref)).resolves.toMatchObject({ data: { a: '1' } });
    expect(proxy.count({ method: 'GET', path: CM })).toBe(2);
  });

  it('retries a server-side apply (PATCH, idempotent) after a reset connection and a 504', async () => {
    proxy.inject({ match: { method: 'PATCH', path: CM }, faults: [reset(), status(504)] });
    await expect(kube().apply({ ...app, data: { a: '2' } })).resolves.toMatchObject({ data: { a: '2' } });
    expect(proxy.count({ method: 'PATCH', path: CM })).toBe(3);
  });

  it('gives up on a persistent 503 after the allowed attempts, naming the call, the last status and the attempts', async () => {
    proxy.inject({ match: { method: 'GET', path: CM }, always: status(503, 'the server is currently unable to handle the request') });
    const error = await kube({ attempts: 4 }).get(ref).catch((e: unknown) => e);
    expect(proxy.count({ method: 'GET', path: CM })).toBe(4);
    expect(error).toMatchObject({
      status: 503,
      exitCode: EXIT_CODES.failed,
      message: expect.stringMatching(/^GET \/api\/v1\/namespaces\/castle\/configmaps\/app: the server is currently unable to handle the request \(HTTP 503; gave up after 4 attempts in \d+(\.\d+)? s\)$/),
    });
  });

  it('gives up on a persistent 503 once its time budget is spent, however many attempts are left', async () => {
    proxy.inject({ match: { method: 'GET', path: CM }, always: status(503) });
    const started = performance.now();
    const error = await kube({ attempts: 1000, baseDelayMs: 20, maxDelayMs: 20, budgetMs: 300, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) }).get(ref).catch((e: unknown) => e);
    const ms = performance.now() - started;
    expect(error).toMatchObject({ status: 503, message: expect.stringMatching(/HTTP 503; gave up after \d+ attempts/) });
    expect(ms).toBeLessThan(2_000);
    expect(proxy.count({ method: 'GET', path: CM })).toBeGreaterThan(1);
    expect(proxy.count({ method: 'GET', path: CM })).toBeLessThan(50);
  });

  it('gives up at once when Retry-After asks for longer than the time budget', async () => {
    proxy.inject({ match: { method: 'GET', path: CM }, always: tooManyRequests(120) });
    const error = await kube({ budgetMs: 30_000 }).get(ref).catch((e: unknown) => e);
    expect(proxy.count({ method: 'GET', path: CM })).toBe(1);
    expect(error).toMatchObject({ status: 429, message: expect.stringMatching(/^GET \/api\/v1\/namespaces\/castle\/configmaps\/app: .*\(HTTP 429; the server asked to retry after 120 s, beyond the retry budget of 30 s\)$/) });
  });

  it('names the call and the time limit when a GET never gets an answer, as unreachable', async () => {
    proxy.inject({ match: { method: 'GET', path: CM }, always: hang() });
    const error = await kube({ attempts: 3 }).get(ref).catch((e: unknown) => e);
    expect(proxy.count({ method: 'GET', path: CM })).toBe(3);
    expect(error).toMatchObject({
      exitCode: EXIT_CODES.unreachable,
      message: expect.stringMatching(/^GET \/api\/v1\/namespaces\/castle\/configmaps\/app: no answer from the Kubernetes API server at http:\/\/127\.0\.0\.1:\d+ within 0\.2 s \(gave up after 3 attempts in /),
    });
  });

  it('retries a create (POST) after a 429, which the server refuses before doing anything', async () => {
    proxy.inject({ match: { method: 'POST' }, faults: [tooManyRequests(1)] });
    await expect(kube().create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new', namespace: 'castle' } })).resolves.toMatchObject({ metadata: { name: 'new' } });
    expect(proxy.count({ method: 'POST' })).toBe(2);
  });

  it.each([
    ['a 503', status(503)],
    ['a reset connection', reset()],
  ])('does not retry a create (POST) after %s, which may have created the object, and says so', async (_, fault) => {
    proxy.inject({ match: { method: 'POST' }, faults: [fault] });
    const error = await kube().create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'new', namespace: 'castle' } }).catch((e: unknown) => e);
    expect(proxy.count({ method: 'POST' })).toBe(1);
    expect(error).toMatchObject({ message: expect.stringMatching(/^POST \/api\/v1\/namespaces\/castle\/configmaps: .*not retried: a POST may have taken effect/) });
  });

  it('retries a compare-and-swap replace (PUT with a resourceVersion) after a 429 only, not after a 503 that may have been its own write', async () => {
    const live = await kube().get<typeof app & { metadata: { resourceVersion: string } }>(ref);
    proxy.inject({ match: { method: 'PUT', path: CM }, faults: [tooManyRequests(0), status(503)] });
    const error = await kube().replace({ ...app, metadata: { ...app.metadata, resourceVersion: live?.metadata.resourceVersion }, data: { a: '3' } }).catch((e: unknown) => e);
    expect(proxy.count({ method: 'PUT', path: CM })).toBe(2);
    expect(error).toMatchObject({ status: 503, message: expect.stringMatching(/not retried: a conditional PUT may have taken effect/) });
    proxy.clear();
    proxy.inject({ match: { method: 'PUT', path: CM }, faults: [status(503)] });
    await expect(kube().replace({ ...app, data: { a: '4' } })).resolves.toMatchObject({ data: { a: '4' } });
    expect(proxy.count({ method: 'PUT', path: CM })).toBe(4);
  });

  it('sends no retry of a fenced write once the fence refuses: the lock is checked before every try', async () => {
    proxy.inject({ match: { method: 'PATCH', path: CM }, always: status(503) });
    let checks = 0;
    // The lock is lost while the first try is under way (after the wrapper's and the first try's checks).
    const fenced = fencedKube(kube(), () => {
      checks += 1;
      if (checks > 2) throw new LeaseLostError('castle', 'no renewal confirmed');
    });
    await expect(fenced.apply({ ...app, data: { a: '5' } })).rejects.toBeInstanceOf(LeaseLostError);
    expect(proxy.count({ method: 'PATCH', path: CM })).toBe(1);
  });

  it.each([
    [401, 'Unauthorized', /the API server refused the credentials of context "fake" \(HTTP 401: Unauthorized\)/],
    [403, 'configmaps "app" is forbidden: User "me" cannot get resource "configmaps" in API group "" in the namespace "castle"', /User "me" cannot get resource "configmaps"/],
  ])('does not retry a %i from the credentials; it exits as unreachable', async (code, message, why) => {
    proxy.inject({ match: { path: CM }, always: status(code, message) });
    const error = await kube().get(ref).catch((e: unknown) => e);
    expect(proxy.count({ path: CM })).toBe(1);
    expect(error).toMatchObject({ code: 'CASTLE_ERR_CREDENTIALS', exitCode: EXIT_CODES.unreachable, message: expect.stringMatching(why), hint: expect.stringMatching(/--context/) });
  });

  it('keeps a 403 that is not about the credentials (admission, quota) an API error', async () => {
    proxy.inject({ match: { path: CM }, always: status(403, 'configmaps "app" is forbidden: exceeded quota: small, requested: count/configmaps=1') });
    await expect(kube().apply(app)).rejects.toMatchObject({ code: 'CASTLE_ERR_KUBE_API', status: 403, exitCode: EXIT_CODES.failed });
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each<[string | undefined, number | undefined]>([
    ['3', 3000],
    ['0', 0],
    ['Thu, 01 Jan 2026 00:00:05 GMT', 5000],
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['soon', undefined],
    ['-1', undefined],
    [undefined, undefined],
  ])('%j waits %j ms', (header, ms) => {
    expect(parseRetryAfter(header, now)).toBe(ms);
  });
});
