import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendClient, BackendError, maxReconnects, type BackendClientOptions, type CallContext, type TryOutcome } from '../src/backend-client.js';
import { StubBackend, type Behaviour } from './stub-backend.js';

const ctx = { requestId: 'r-1', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };
const open: { client?: BackendClient; stub?: StubBackend }[] = [];
const unsubscribes: (() => void)[] = [];

/**
 * Counts the client's connection attempts to `port` (undici's diagnostics channels), failed
 * ones apart, and calls `onRefused` after each failed one.
 */
function watchConnections(port: number, onRefused: () => void = () => {}) {
  const counts = { attempts: 0, failed: 0 };
  const ours = (message: unknown) => String((message as { connectParams: { port: string } }).connectParams.port) === String(port);
  const attempt = (message: unknown) => {
    if (ours(message)) counts.attempts += 1;
  };
  const failed = (message: unknown) => {
    if (!ours(message)) return;
    counts.failed += 1;
    onRefused();
  };
  subscribe('undici:client:beforeConnect', attempt);
  subscribe('undici:client:connectError', failed);
  unsubscribes.push(() => {
    unsubscribe('undici:client:beforeConnect', attempt);
    unsubscribe('undici:client:connectError', failed);
  });
  return counts;
}

async function setup(script: Behaviour[], options: Partial<BackendClientOptions> = {}) {
  const stub = await StubBackend.start(script);
  const tries: TryOutcome[] = [];
  let retries = 0;
  const client = new BackendClient({
    url: stub.url,
    timeoutMs: 200,
    retries: 1,
    retryDelayMs: 1,
    connections: 4,
    breakerThreshold: 3,
    breakerResetMs: 150,
    onTry: (o) => tries.push(o),
    onRetry: () => retries++,
    ...options,
  });
  open.push({ client, stub });
  return { stub, client, tries, retries: () => retries };
}

async function failure(p: Promise<unknown>): Promise<BackendError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BackendError);
  return err as BackendError;
}

afterEach(async () => {
  for (const stop of unsubscribes.splice(0)) stop();
  for (const { client, stub } of open.splice(0)) {
    await client?.close();
    await stub?.stop();
  }
});

describe('BackendClient', () => {
  it('returns the backend body and instance, passing request id and traceparent on', async () => {
    const { client, stub } = await setup(['time']);
    expect(await client.get(ctx)).toEqual({ body: 'Monday, 02-Jan-06 15:04:05 UTC', instance: 'stub-1', tries: 1 });
    expect(stub.requests[0]).toMatchObject({ 'x-request-id': 'r-1', traceparent: ctx.traceparent });
  });

  it('reads an answer that arrives in pieces', async () => {
    const { client } = await setup(['timeInParts']);
    expect(await client.get(ctx)).toEqual({ body: 'Monday, 02-Jan-06 15:04:05 UTC', instance: 'stub-1', tries: 1 });
  });

  it('refuses an answer over 64 KiB as a bad answer, and retries it', async () => {
    const { client, tries } = await setup(['oversized', 'time']);
    expect((await client.get(ctx)).tries).toBe(2);
    expect(tries).toEqual(['error_body', 'ok']);
    const always = await setup(['oversized']);
    const err = await failure(always.client.get(ctx));
    expect(err.outcome).toBe('error_body');
    expect(err.message).toBe('backend answer larger than 65536 bytes');
  });

  it.each([
    ['a 500', 'error500', 'error_status'],
    ['a 200 ERROR', 'error200', 'error_body'],
    ['a connection lost after the response head', 'resetMidBody', 'network_error'],
    ['a timeout', 'hang', 'timeout'],
  ] as const)('retries once, after a backoff, after %s and succeeds', async (_name, first, outcome) => {
    const { client, stub, tries, retries } = await setup([first, 'time']);
    const answer = await client.get(ctx);
    expect(answer.tries).toBe(2);
    expect(tries).toEqual([outcome, 'ok']);
    expect(retries()).toBe(1);
    // One request per try: none of these is made again at once.
    expect(stub.requests).toHaveLength(2);
  });

  it.each([
    ['error500', 'error_status'],
    ['error200', 'error_body'],
    ['hang', 'timeout'],
  ] as const)('gives up after the retry when every try fails (%s)', async (behaviour, outcome) => {
    const { client, tries } = await setup([behaviour]);
    const err = await failure(client.get(ctx));
    expect(err.outcome).toBe(outcome);
    expect(tries).toHaveLength(2);
  });

  it('does not retry a 4xx, which would only repeat', async () => {
    const { client, tries } = await setup(['status404']);
    const err = await failure(client.get(ctx));
    expect(err.outcome).toBe('error_status');
    expect(err.status).toBe(404);
    expect(tries).toEqual(['error_status']);
  });

  it('reports a refused connection as a network error', async () => {
    const { client, stub } = await setup(['time']);
    await stub.stop();
    const err = await failure(client.get(ctx));
    expect(err.outcome).toBe('network_error');
    expect(err.message).toBe('backend unreachable (ECONNREFUSED)');
  });

  it('opens the breaker after consecutive failures, fails fast while open, then half-opens and closes on success', async () => {
    const { client, stub, tries } = await setup(['error500'], { retries: 0 });
    for (let i = 0; i < 3; i++) expect((await failure(client.get(ctx))).outcome).toBe('error_status');
    expect(client.breakerState).toBe(2);
    const before = tries.length;
    const started = performance.now();
    expect((await failure(client.get(ctx))).outcome).toBe('circuit_open');
    expect(performance.now() - started).toBeLessThan(50);
    expect(tries.length).toBe(before);
    stub.script(['time']);
    await expect.poll(async () => client.get(ctx).then((a) => a.body, (e: BackendError) => e.outcome), { timeout: 2000, interval: 50 }).toBe(
      'Monday, 02-Jan-06 15:04:05 UTC',
    );
    expect(client.breakerState).toBe(0);
  });

  it('counts only consecutive failures: a success in between keeps the breaker closed', async () => {
    const { client } = await setup(['error500', 'error500', 'time', 'error500', 'error500', 'time'], { retries: 0 });
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) outcomes.push(await client.get(ctx).then(() => 'ok', (e: BackendError) => e.outcome));
    expect(outcomes).toEqual(['error_status', 'error_status', 'ok', 'error_status', 'error_status', 'ok']);
    expect(client.breakerState).toBe(0);
  });

  it('makes each try once and reports how many tries the answer took', async () => {
    const { client, stub, tries, retries } = await setup(['error500', 'error500', 'time'], { retries: 2 });
    const answer = await client.get(ctx);
    expect(answer).toMatchObject({ body: 'Monday, 02-Jan-06 15:04:05 UTC', tries: 3 });
    expect(tries).toEqual(['error_status', 'error_status', 'ok']);
    expect(retries()).toBe(2);
    expect(stub.requests).toHaveLength(3);
  });

  it('does not retry while the breaker is open', async () => {
    const { client, retries } = await setup(['error500'], { retries: 1, breakerThreshold: 1, breakerResetMs: 10_000 });
    await failure(client.get(ctx));
    const afterOpen = retries();
    expect((await failure(client.get(ctx))).outcome).toBe('circuit_open');
    expect(retries()).toBe(afterOpen);
  });

  it('tells the crash hook about every ERROR body, with the call it belongs to', async () => {
    const calls: CallContext[] = [];
    const { client } = await setup(['error200', 'error500', 'time'], { onErrorBody: (context) => calls.push(context) });
    await failure(client.get(ctx));
    expect(calls).toEqual([ctx, ctx]);
  });
});

describe('BackendClient on a connection lost before any answer', () => {
  // A breaker that opens on one failed try, and a retry after it: a try the breaker saw
  // would open it, and the retry would then fail as circuit_open.
  const strict = { breakerThreshold: 1, retries: 1 };

  it.each([
    ['the backend resets a new connection as soon as it accepts it', (stub: StubBackend) => stub.resetNextConnections(1)],
    ['the backend closes the connection after reading the request', (stub: StubBackend) => stub.script(['reset', 'time'])],
  ])('makes the request again at once on another connection when %s: one try, no retry or backoff, no breaker failure', async (_name, fault) => {
    const { client, stub, tries, retries } = await setup(['time'], strict);
    const connections = watchConnections(stub.port);
    fault(stub);
    const answer = await client.get(ctx);
    expect(answer).toEqual({ body: 'Monday, 02-Jan-06 15:04:05 UTC', instance: 'stub-1', tries: 1 });
    expect(tries).toEqual(['ok']);
    expect(retries()).toBe(0);
    expect(client.breakerState).toBe(0);
    expect(connections.attempts).toBe(2);
  });

  it('makes the request again at once when the connection is refused, and the backend is back on the port for the next one', async () => {
    const { client, stub, tries, retries } = await setup(['time'], strict);
    await stub.stop();
    // The backend listens again as soon as the first connection has been refused.
    let back: Promise<void> | undefined;
    const connections = watchConnections(stub.port, () => {
      back ??= stub.restart();
    });
    const answer = await client.get(ctx);
    await back;
    expect(answer.body).toBe('Monday, 02-Jan-06 15:04:05 UTC');
    expect(answer.tries).toBe(1);
    expect(tries).toEqual(['ok']);
    expect(retries()).toBe(0);
    expect(client.breakerState).toBe(0);
    expect(connections.failed).toBeGreaterThanOrEqual(1);
    expect(connections.failed).toBeLessThanOrEqual(maxReconnects);
  });

  it('makes the request again on a new connection when the backend closed the reused keep-alive one', async () => {
    const { client, stub, tries, retries } = await setup(['time', 'reset', 'time'], strict);
    await client.get(ctx);
    // undici frees the connection for the pool just after the answer: let it, so the next call reuses it.
    await new Promise((resolve) => setImmediate(resolve));
    const answer = await client.get(ctx);
    expect(answer.tries).toBe(1);
    expect(tries).toEqual(['ok', 'ok']);
    expect(retries()).toBe(0);
    expect(client.breakerState).toBe(0);
    const [first, reused, fresh] = stub.connections;
    expect(reused).toBe(first);
    expect(fresh).not.toBe(first);
  });

  it.each([
    ['refused', async (stub: StubBackend) => stub.stop(), 'backend unreachable (ECONNREFUSED)'],
    ['reset as soon as accepted', (stub: StubBackend) => stub.resetNextConnections(Number.POSITIVE_INFINITY), undefined],
  ])('fails a try whose connections are all %s after its immediate reconnects, within the time limit, and counts it towards the breaker', async (_name, fault, message) => {
    const timeoutMs = 1000;
    const { client, stub, tries, retries } = await setup(['time'], { retries: 1, breakerThreshold: 2, timeoutMs });
    await fault(stub);
    const connections = watchConnections(stub.port);
    const started = performance.now();
    const err = await failure(client.get(ctx));
    expect(performance.now() - started).toBeLessThan(timeoutMs);
    expect(err.outcome).toBe('network_error');
    if (message !== undefined) expect(err.message).toBe(message);
    // Two tries (the first and its retry), each one connection and its immediate reconnects.
    expect(tries).toEqual(['network_error', 'network_error']);
    expect(retries()).toBe(1);
    expect(connections.attempts).toBe(2 * (1 + maxReconnects));
    // Both tries counted: the breaker (threshold 2) is open and the next call fails fast.
    expect(client.breakerState).toBe(2);
    expect((await failure(client.get(ctx))).outcome).toBe('circuit_open');
    expect(connections.attempts).toBe(2 * (1 + maxReconnects));
  });

  it("gives a reconnect only what is left of the try's time limit for the response head", async () => {
    // Lost at 1600 ms of a 2000 ms limit: the reconnect has 400 ms for an answer the stub
    // would end at 1600 ms, so the try ends as a timeout. undici's head timer ticks every
    // half second and fires up to about 600 ms late, which still puts the first try's 2000 ms
    // after the stub's 1600 ms and the reconnect's 400 ms before them.
    const { client, stub, tries } = await setup(['resetLate'], { retries: 0, timeoutMs: 2000 });
    const err = await failure(client.get(ctx));
    expect(err.outcome).toBe('timeout');
    expect(tries).toEqual(['timeout']);
    expect(stub.requests).toHaveLength(2);
  });
});
