import { describe, expect, it } from 'vitest';
import { closedLoop, errorBodyOf, metric, newClient, percentile, rfc850, scrape, tally } from '../support/http-load.js';
import { useServices } from '../support/local-services.js';

const services = useServices();

describe('backend error rate', () => {
  // 2% of 2000 is 40 ± 6.3 (binomial sd); 10..80 is a band of about ±5 sd around it.
  it.each([
    { rate: '0', total: 500, min: 0, max: 0 },
    { rate: '0.02', total: 2000, min: 0.005, max: 0.04 },
    { rate: '1', total: 300, min: 1, max: 1 },
  ])('the backend at BACKEND_ERROR_RATE=$rate fails that share of requests with 500 ERROR', async ({ rate, total, min, max }) => {
    const backend = await services.start('backend', { BACKEND_ERROR_RATE: rate });
    const dispatcher = newClient(16);
    const outcomes = await closedLoop(`${backend.url}/`, { concurrency: 16, total, dispatcher });
    await dispatcher.close();

    const errors = outcomes.filter((o) => o.status === 500);
    expect(errors.map((o) => o.body).filter((b) => b !== 'ERROR')).toEqual([]);
    expect(outcomes.filter((o) => o.status === 200 && !rfc850.test(o.body ?? '')).map((o) => o.body)).toEqual([]);
    expect(outcomes.filter((o) => o.status !== 200 && o.status !== 500)).toEqual([]);
    const share = errors.length / total;
    expect(share).toBeGreaterThanOrEqual(min);
    expect(share).toBeLessThanOrEqual(max);
    expect(metric(await scrape(backend), 'backend_injected_errors_total')).toBe(errors.length);
  });
});

describe('www in front of a failing backend', () => {
  it('at 0% every answer through www is the time', async () => {
    const backend = await services.start('backend', { BACKEND_ERROR_RATE: '0' });
    const www = await services.startWww(backend);
    const outcomes = await closedLoop(`${www.url}/`, { concurrency: 8, total: 300 });

    expect(tally(outcomes)).toEqual({ 200: 300 });
    expect(outcomes.map((o) => o.body).filter((b) => !rfc850.test(b ?? ''))).toEqual([]);
  });

  it('at 2% clients almost never see an error, because www retries the failed tries', async () => {
    const backend = await services.start('backend', { BACKEND_ERROR_RATE: '0.02' });
    const www = await services.startWww(backend);
    const dispatcher = newClient(16);
    const outcomes = await closedLoop(`${www.url}/`, { concurrency: 16, total: 1000, dispatcher });
    await dispatcher.close();

    // A client sees an error only when both tries fail: 0.02² = 0.04% expected, < 0.5% asserted.
    const failed = outcomes.filter((o) => o.status !== 200);
    expect(failed.length / outcomes.length).toBeLessThan(0.005);
    expect(outcomes.filter((o) => o.status === 200 && !rfc850.test(o.body ?? '')).map((o) => o.body)).toEqual([]);
    expect(outcomes.filter((o) => o.body === 'ERROR')).toEqual([]);
    const text = await scrape(www);
    expect(metric(text, 'www_backend_retries_total')).toBeGreaterThan(0);
    // Every request whose first try failed was retried once: injected failures minus the doubles.
    const injected = metric(await scrape(backend), 'backend_injected_errors_total') ?? Number.NaN;
    expect(metric(text, 'www_backend_retries_total')).toBe(injected - failed.length);
  });

  it('at 100% www answers 502 fast, then 503 once the breaker opens, always with a JSON error code', async () => {
    const backend = await services.start('backend', { BACKEND_ERROR_RATE: '1' });
    const www = await services.startWww(backend, { WWW_BACKEND_TIMEOUT_MS: '5000', WWW_BREAKER_THRESHOLD: '5', WWW_BREAKER_RESET_MS: '60000' });
    // One at a time, so the order of 502s and 503s is the breaker's, not the scheduler's.
    const outcomes = await closedLoop(`${www.url}/`, { concurrency: 1, total: 10 });

    const codes = outcomes.map((o) => `${o.status} ${errorBodyOf(o)?.code}`);
    const firstOpen = codes.indexOf('503 WWW_ERR_BACKEND_UNAVAILABLE');
    expect(codes[0]).toBe('502 WWW_ERR_BAD_GATEWAY');
    // Five consecutive failed tries open it, two tries per request: the third request at the latest.
    expect(firstOpen).toBeGreaterThan(0);
    expect(firstOpen).toBeLessThanOrEqual(2);
    expect(codes.slice(0, firstOpen).filter((c) => c !== '502 WWW_ERR_BAD_GATEWAY')).toEqual([]);
    expect(codes.slice(firstOpen).filter((c) => c !== '503 WWW_ERR_BACKEND_UNAVAILABLE')).toEqual([]);
    expect(outcomes.slice(firstOpen).map((o) => o.headers?.['retry-after']).filter((v) => v !== '60')).toEqual([]);
    // Far under the 5 s backend timeout: failures are answered, not waited out.
    expect(percentile(outcomes.map((o) => o.ms), 100)).toBeLessThan(1000);
    expect(outcomes.filter((o) => o.body === 'ERROR')).toEqual([]);
  });
});
