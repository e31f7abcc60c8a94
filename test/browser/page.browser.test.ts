import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useServices, type RunningService } from '../support/local-services.js';

/**
 * www's HTML page in a real browser: Debian's Chromium, headless, driven by playwright-core,
 * against real www and backend processes on loopback. Needs `npm run build` and
 * /usr/bin/chromium (`apt-get install chromium`).
 */
const executablePath = '/usr/bin/chromium';
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const waitMs = 10_000;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64');

// Runs in the page before any of its own parsing (Playwright's init scripts are not subject to
// the page's policy), and records every violation the browser reports to the document.
const recordViolations = `
  window.cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    const marker = e.target instanceof Element ? e.target.getAttribute('data-marker') : null;
    window.cspViolations.push({ directive: e.effectiveDirective, blocked: e.blockedURI, marker });
  });
`;

interface Violation {
  readonly directive: string;
  readonly blocked: string;
  readonly marker: string | null;
}

/** What only the page's inline stylesheet sets: with no stylesheet these are transparent and 0px. */
const styleProbe = `({
  background: getComputedStyle(document.body).backgroundColor,
  radius: getComputedStyle(document.querySelector('main')).borderTopLeftRadius,
})`;
const styled = { background: 'rgb(246, 247, 249)', radius: '12px' };
const unstyled = { background: 'rgba(0, 0, 0, 0)', radius: '0px' };

const services = useServices();
let www: RunningService;
let profile: string;
let context: BrowserContext;

beforeAll(async () => {
  if (!existsSync(executablePath)) {
    throw new Error(`no browser at ${executablePath}: install Debian's Chromium (apt-get install chromium) and run again`);
  }
  const backend = await services.start('backend', { BACKEND_ERROR_RATE: '0' });
  www = await services.startWww(backend);
  profile = await mkdtemp(join(tmpdir(), 'castle-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath, args, timeout: 30_000 });
});

afterAll(async () => {
  await context?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

afterEach(async () => {
  for (const p of context?.pages() ?? []) await p.close();
});

/** A fresh tab that records CSP violations (as events in the page) and CSP console messages. */
async function openPage(): Promise<{ page: Page; cspConsole: string[]; violations: () => Promise<Violation[]> }> {
  const page = await context.newPage();
  const cspConsole: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    if (m.text().includes('Content Security Policy')) cspConsole.push(m.text());
  });
  await page.addInitScript(recordViolations);
  return { page, cspConsole, violations: () => page.evaluate<Violation[]>('window.cspViolations') };
}

describe("www's HTML page in Chromium", () => {
  it('applies its inline stylesheet under its own Content-Security-Policy and reports no violation', async () => {
    const { page, cspConsole, violations } = await openPage();
    const response = await page.goto(`${www.url}/`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/style-src 'sha256-/);
    expect(await page.textContent('#time')).toMatch(/^[A-Z][a-z]+day, \d\d-[A-Z][a-z]{2}-\d\d \d\d:\d\d:\d\d UTC$/);
    expect(await page.evaluate(styleProbe)).toEqual(styled);

    // A style the policy does not allow, added now: once its violation has arrived, any the
    // page caused while loading would have arrived before it, so "none but this one" holds.
    const sentinel = 'main{color:red}';
    const sentinelLogged = page.waitForEvent('console', { predicate: (m) => m.text().includes(sha256(sentinel)), timeout: waitMs });
    await page.evaluate(`(() => {
      const s = document.createElement('style');
      s.setAttribute('data-marker', 'sentinel');
      s.textContent = ${JSON.stringify(sentinel)};
      document.head.append(s);
    })()`);
    await page.waitForFunction("window.cspViolations.some((v) => v.marker === 'sentinel')", undefined, { timeout: waitMs });
    await sentinelLogged;

    expect(await violations()).toEqual([{ directive: 'style-src-elem', blocked: 'inline', marker: 'sentinel' }]);
    expect(cspConsole.filter((text) => !text.includes(sha256(sentinel)))).toEqual([]);
  });

  it('blocks the stylesheet and reports the violation when the policy carries a wrong hash', async () => {
    const { page, violations } = await openPage();
    let sentHash = '';
    await page.route(`${www.url}/`, async (route) => {
      const response = await route.fetch();
      const policy = response.headers()['content-security-policy'] ?? '';
      sentHash = /'sha256-([^']+)'/.exec(policy)?.[1] ?? '';
      const headers = { ...response.headers(), 'content-security-policy': policy.replace(sentHash, sha256('not the page style')) };
      await route.fulfill({ response, headers });
    });
    const logged = page.waitForEvent('console', { predicate: (m) => m.text().includes('Content Security Policy'), timeout: waitMs });
    await page.goto(`${www.url}/`, { waitUntil: 'load' });
    await page.waitForFunction('window.cspViolations.length > 0', undefined, { timeout: waitMs });

    expect(sentHash).not.toBe('');
    expect(await violations()).toEqual([{ directive: 'style-src-elem', blocked: 'inline', marker: null }]);
    expect(await page.evaluate(styleProbe)).toEqual(unstyled);
    // Chromium names the hash it would have accepted: the one www sends.
    expect((await logged).text()).toContain(`'sha256-${sentHash}'`);
  });
});
