import { describe, expect, it } from 'vitest';
import { errorBodyOf, metric, newClient, openLoop, percentile, rfc850, scrape } from '../support/http-load.js';
import { useServices } from '../support/local-services.js';

const services = useServices();

const capacityRps = 10; // www's default
const maxWaitMs = 250; // www's default
const offeredRps = 3 * capacityRps;
const durationMs = 6000;

describe('overload', () => {
  it('at 3x capacity www serves its capacity and sheds the rest fast with 503, Retry-After and WWW_ERR_OVERLOADED', async () => {
    const backend = await services.start('backend', { BACKEND_ERROR_RATE: '0' });
    // Defaults for capacity and wait: only the rate limit is under test.
    const www = await services.startWww(backend, { WWW_CAPACITY_RPS: String(capacityRps) });
    const dispatcher = newClient(128);

    const started = performance.now();
    const outcomes = await openLoop(`${www.url}/`, { rps: offeredRps, durationMs, dispatcher });
    const elapsedS = (performance.now() - started) / 1000;
    await dispatcher.close();

    const served = outcomes.filter((o) => o.status === 200);
    const shed = outcomes.filter((o) => o.status === 503);
    expect(served.length + shed.length).toBe(outcomes.length);

    // Served rate within ±20% of capacity (the benchmark holds ±10% on a quiet machine).
    const servedRps = served.length / elapsedS;
    expect(servedRps).toBeGreaterThan(capacityRps * 0.8);
    expect(servedRps).toBeLessThan(capacityRps * 1.2);
    expect(served.map((o) => o.body).filter((b) => !rfc850.test(b ?? ''))).toEqual([]);
    // A served request waited at most WWW_MAX_WAIT_MS, plus slack for a busy machine.
    expect(percentile(served.map((o) => o.ms), 95)).toBeLessThan(maxWaitMs + 750);

    for (const o of shed) {
      expect(errorBodyOf(o)?.code).toBe('WWW_ERR_OVERLOADED');
      expect(Number(o.headers?.['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect(percentile(shed.map((o) => o.ms), 95)).toBeLessThan(50);

    const text = await scrape(www);
    expect(metric(text, 'www_shed_total', { reason: 'rate' })).toBe(shed.length);
    expect(metric(text, 'http_requests_total', { route: '/', status_code: '503' })).toBe(shed.length);
  });

  it('before anything is shed, www already exposes a zero www_shed_total series for each reason, so rate() and alerts see them', async () => {
    const backend = await services.start('backend', { BACKEND_ERROR_RATE: '0' });
    const www = await services.startWww(backend);

    const text = await scrape(www);

    expect(metric(text, 'www_shed_total', { reason: 'rate' })).toBe(0);
    expect(metric(text, 'www_shed_total', { reason: 'concurrency' })).toBe(0);
  });
});
