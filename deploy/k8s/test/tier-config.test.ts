import { describe, expect, it } from 'vitest';
import { CONFIG_HASH_LENGTH, configMapName, sortedByKey } from '../src/tier-config.js';

// What Kubernetes accepts as a ConfigMap name (apimachinery's IsDNS1123Subdomain).
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

describe('configMapName', () => {
  it('is <tier>-config- and the first 10 hex digits of the SHA-256 of the data as JSON with sorted keys', () => {
    // printf '%s' '{"WWW_LOG_LEVEL":"info"}' | sha256sum | cut -c1-10
    expect(configMapName('www', { WWW_LOG_LEVEL: 'info' })).toBe('www-config-12e081ee85');
    expect(configMapName('www', { WWW_LOG_LEVEL: 'debug' })).toBe('www-config-516b1a9651');
    expect(CONFIG_HASH_LENGTH).toBe(10);
  });

  it('gives the same configuration the same name, whatever the order of its keys', () => {
    const a = configMapName('backend', { BACKEND_LOG_LEVEL: 'info', BACKEND_ERROR_RATE: '0' });
    const b = configMapName('backend', { BACKEND_ERROR_RATE: '0', BACKEND_LOG_LEVEL: 'info' });
    expect(a).toBe(b);
  });

  it.each<[string, Record<string, string>, Record<string, string>]>([
    ['a changed value', { WWW_LOG_LEVEL: 'info' }, { WWW_LOG_LEVEL: 'warn' }],
    ['an added key', { WWW_LOG_LEVEL: 'info' }, { WWW_LOG_LEVEL: 'info', WWW_MAX_WAIT_MS: '1000' }],
    ['a renamed key with the same value', { WWW_A: '1' }, { WWW_B: '1' }],
    ['a value moved across keys', { WWW_A: '1', WWW_B: '2' }, { WWW_A: '2', WWW_B: '1' }],
    ['an empty value against none', { WWW_A: '' }, {}],
  ])('gives two configurations that differ by %s two names', (_, one, other) => {
    expect(configMapName('www', one)).not.toBe(configMapName('www', other));
  });

  it.each(['a', 'www', 'backend', `t${'-x'.repeat(30)}9`, 'z'.repeat(63)])('is a DNS-1123 subdomain of at most 253 characters for the tier %s', (tier) => {
    const name = configMapName(tier, { K: 'v'.repeat(10_000) });
    expect(name).toMatch(dns1123Subdomain);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toBe(`${tier}-config-${name.slice(-CONFIG_HASH_LENGTH)}`);
    expect(name.slice(-CONFIG_HASH_LENGTH)).toMatch(/^[0-9a-f]{10}$/);
  });
});

describe('sortedByKey', () => {
  it('orders keys by code unit, not by the machine locale, so the rendered data and its hash are the same everywhere', () => {
    // localeCompare puts '_' before letters; code units put it after them.
    expect(Object.keys(sortedByKey({ WWW_A_B: '1', WWW_AB: '2', WWW_A: '3' }))).toEqual(['WWW_A', 'WWW_AB', 'WWW_A_B']);
  });
});
