import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withReference } from '../../scripts/config-reference.js';

describe('the README', () => {
  it('carries the current configuration reference of both services (npm run config:reference -- --write)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(withReference(readme)).toBe(readme);
  });
});
