import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../../test/support/log-capture.js';
import { buildWww } from '../src/app.js';
import { loadWwwConfig } from '../src/config.js';
import { StubBackend } from './stub-backend.js';

const info = { service: 'www', version: '2.0.0', gitSha: 'beef', buildTime: 'now', instance: 'www-0' };
const browserAccept = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

let stub: StubBackend;
let app: ReturnType<typeof buildWww>['app'];

beforeAll(async () => {
  stub = await StubBackend.start(['time']);
  const config = loadWwwConfig({ WWW_BACKEND_URL: stub.url, WWW_CAPACITY_RPS: '0' });
  ({ app } = buildWww(config, { info, logDestination: new LogCapture(), runtimeMetrics: false }));
});

afterAll(async () => {
  await app.close();
  await stub.stop();
});

const getPage = () => app.inject({ url: '/', headers: { accept: browserAccept } });

/** The policy's directives by name, e.g. `{ 'style-src': ["'sha256-…'"] }`. */
function directives(policy: string): Record<string, string[]> {
  return Object.fromEntries(
    policy.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
      const [name = '', ...values] = d.split(/\s+/);
      return [name, values];
    }),
  );
}

describe('the HTML page www serves to browsers', () => {
  it.each([
    ['referrer-policy', 'no-referrer'],
    ['x-content-type-options', 'nosniff'],
    ['content-type', 'text/html; charset=utf-8'],
  ])('carries %s: %s', async (name, value) => {
    const res = await getPage();
    expect(res.statusCode).toBe(200);
    expect(res.headers[name]).toBe(value);
  });

  it("carries a Content-Security-Policy that allows nothing by default and forbids framing, <base> and form targets", async () => {
    const res = await getPage();
    const policy = directives(String(res.headers['content-security-policy']));
    expect(policy).toMatchObject({
      'default-src': ["'none'"],
      'frame-ancestors': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
    });
    expect(policy).not.toHaveProperty('script-src');
  });

  it('allows exactly the inline stylesheet it sends, by the sha256 of its text', async () => {
    const res = await getPage();
    const styles = [...res.body.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? '');
    expect(styles).toHaveLength(1);
    const sent = createHash('sha256').update(styles[0] ?? '', 'utf8').digest('base64');
    const policy = directives(String(res.headers['content-security-policy']));
    expect(policy['style-src']).toEqual([`'sha256-${sent}'`]);
  });

  it('has nothing else inline that the policy would block: no script, no style attributes, no event handlers', async () => {
    const res = await getPage();
    expect(res.body).not.toMatch(/<script/i);
    expect(res.body).not.toMatch(/\sstyle\s*=/i);
    expect(res.body).not.toMatch(/\son[a-z]+\s*=/i);
  });
});
