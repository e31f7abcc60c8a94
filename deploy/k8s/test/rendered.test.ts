import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderedFiles } from '../src/rendered.js';

const rootVersion = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const dir = new URL('../rendered/', import.meta.url);

describe('deploy/k8s/rendered', () => {
  const expected = renderedFiles(rootVersion);

  it('holds exactly one file per environment', () => {
    expect(readdirSync(dir).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(Object.keys(expected))('%s is what render() makes at the repository version (npm run synth)', (name) => {
    expect(readFileSync(new URL(name, dir), 'utf8')).toBe(expected[name]);
  });
});
