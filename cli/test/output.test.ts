import { describe, expect, it } from 'vitest';
import { jsonDocument } from '../src/output/json.js';
import { humanReporter } from '../src/output/reporter.js';

function capture(color: boolean): string {
  let out = '';
  const r = humanReporter({ write: (t) => (out += t), color });
  const s = r.step('Applying 3 objects');
  s.reason('Deployment/www: 1 of 2 pods ready');
  s.fail('Deployment/www pod www-1: ErrImagePull');
  r.step('Smoke check').ok('200');
  return out;
}

describe('human output', () => {
  it('prints kind-style steps with ✓/✗ and ^ reason lines', () => {
    expect(capture(false)).toBe(
      [' • Applying 3 objects ...', '   ^ Deployment/www: 1 of 2 pods ready', ' ✗ Applying 3 objects', '   ^ Deployment/www pod www-1: ErrImagePull', ' • Smoke check ...', ' ✓ Smoke check (200)', ''].join('\n'),
    );
  });

  it('has no ANSI escape codes without colour, and has them with', () => {
    expect(capture(false)).not.toContain('\u001b[');
    expect(capture(true)).toContain('\u001b[');
  });
});

describe('JSON output', () => {
  it('is one document with a schema version', () => {
    const doc = JSON.parse(jsonDocument('status', { a: 1 })) as Record<string, unknown>;
    expect(doc).toEqual({ schemaVersion: 1, command: 'status', ok: true, result: { a: 1 } });
  });
});
