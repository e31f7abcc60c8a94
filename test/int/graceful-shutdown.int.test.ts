import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { closedLoop, hit, newClient, pollUntil, type Outcome } from '../support/http-load.js';
import { useServices, type ServiceName } from '../support/local-services.js';

const services = useServices();

const drainDelayMs = 1000;
const shutdownTimeoutMs = 5000;
const drainEnv = (prefix: string) => ({
  [`${prefix}_DRAIN_DELAY_MS`]: String(drainDelayMs),
  [`${prefix}_SHUTDOWN_TIMEOUT_MS`]: String(shutdownTimeoutMs),
});

describe('graceful shutdown under load', () => {
  it.each<{ target: ServiceName; burst: number }>([
    // www holds requests in its limiter (20 rps, waits up to 3 s): a burst sent just before the
    // listener closes is still in flight when it does.
    { target: 'www', burst: 30 },
    { target: 'backend', burst: 0 },
  ])('SIGTERM to $target: /readyz turns 503, every accepted request gets 200, and it exits 0 after draining', async ({ target, burst }) => {
    const backend = await services.start('backend', { BACKEND_ERROR_RATE: '0', ...drainEnv('BACKEND') });
    const www = await services.startWww(backend, { ...drainEnv('WWW'), WWW_CAPACITY_RPS: '20', WWW_MAX_WAIT_MS: '3000' });
    const victim = target === 'www' ? www : backend;
    const dispatcher = newClient(64);

    // Steady load through www, as a load balancer would route it, until the "LB" stops routing.
    let routing = true;
    let served = 0;
    let warmedUp!: () => void;
    const warm = new Promise<void>((resolve) => (warmedUp = resolve));
    const load = closedLoop(`${www.url}/`, {
      concurrency: 4,
      dispatcher,
      stop: () => !routing,
      onOutcome: () => (++served === 10 ? warmedUp() : undefined),
    });
    await warm;

    const sigtermAt = performance.now();
    const exit = victim.stop('SIGTERM', drainDelayMs + shutdownTimeoutMs + 5000);
    const readiness = pollUntil(`${victim.url}/readyz`, (o) => o.status !== 200, { deadlineMs: 10_000, intervalMs: 25 });
    // The drain delay is the load balancer's time to notice; this one stops routing halfway.
    await delay(drainDelayMs / 2);
    const finalBurst = Promise.all(Array.from({ length: burst }, () => hit(`${www.url}/`, { dispatcher })));
    routing = false;
    const accepted: Outcome[] = [...(await load), ...(await finalBurst)];
    const { code } = await exit;
    const exitedAfterMs = performance.now() - sigtermAt;
    // Connections made after the listener closed were never accepted: refused, counted apart.
    const refused = await hit(`${victim.url}/`, { dispatcher: newClient(1) });
    await dispatcher.close();

    expect((await readiness).at(-1)).toMatchObject({ status: 503, body: 'draining\n' });
    expect(accepted.filter((o) => o.status !== 200)).toEqual([]);
    const duringDrain = accepted.filter((o) => o.startedAt > sigtermAt);
    expect(duringDrain.length).toBeGreaterThan(0);
    expect(refused.error).toBe('ECONNREFUSED');

    expect(code).toBe(0);
    expect(exitedAfterMs).toBeGreaterThanOrEqual(drainDelayMs);
    expect(exitedAfterMs).toBeLessThan(drainDelayMs + shutdownTimeoutMs);
    const messages = victim.lines.map((l) => l.msg);
    expect(victim.lines.find((l) => l.msg === 'draining')).toMatchObject({ reason: 'SIGTERM', drain_delay_ms: drainDelayMs });
    const closing = messages.indexOf('closing listeners; waiting for in-flight requests');
    expect(closing).toBeGreaterThan(messages.indexOf('draining'));
    expect(messages.indexOf('stopped')).toBeGreaterThan(closing);

    if (target === 'www') {
      // Draining www tells keep-alive clients to reconnect elsewhere...
      expect(duringDrain.map((o) => o.headers?.connection)).toContain('close');
      // ...and requests still in flight when the listener closed were finished, not dropped.
      const finishedAfterClose = victim.lines.slice(closing).filter((l) => l.msg === 'request completed' && l.path === '/');
      expect(finishedAfterClose.length).toBeGreaterThan(0);
      expect(finishedAfterClose.filter((l) => l.status !== 200)).toEqual([]);
    } else {
      // www outlives its backend and says so with a 5xx, never a crash.
      const after = await hit(`${www.url}/`);
      expect([502, 503]).toContain(after.status);
      expect(www.running).toBe(true);
    }
  });
});
