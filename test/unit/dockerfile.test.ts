import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const dockerfile = readFileSync(new URL('apps/Dockerfile', root), 'utf8');
const dockerignore = readFileSync(new URL('.dockerignore', root), 'utf8');

describe('the image build', () => {
  it('runs no install scripts: every npm ci has --ignore-scripts', () => {
    const installs = dockerfile.split('\n').filter((line) => /\bnpm ci\b/.test(line));
    expect(installs.length).toBeGreaterThan(0);
    expect(installs.filter((line) => !line.includes('--ignore-scripts'))).toEqual([]);
  });

  it('leaves a .npmrc out of the build context (npm settings come in as BuildKit secrets only)', () => {
    const lines = dockerignore.split('\n').map((l) => l.trim());
    expect(lines).toContain('*');
    expect(lines.filter((l) => l.startsWith('!') && l.includes('npmrc'))).toEqual([]);
  });
});
