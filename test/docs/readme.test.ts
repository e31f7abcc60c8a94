import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configTable, services } from '../../scripts/config-reference.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the README', () => {
  it.each(Object.entries(services))('carries the current configuration reference of %s', (_name, spec) => {
    // Regenerate with: npm run config:reference
    expect(readme).toContain(configTable(spec));
  });
});
