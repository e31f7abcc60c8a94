import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withEnvironmentsTable } from '../src/environments-table.js';
import { helmChartFiles } from '../src/helm-chart.js';
import { renderedFiles } from '../src/rendered.js';

const rootVersion = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Every file under `dir`, as paths relative to it. */
function filesUnder(dir: URL): string[] {
  const base = fileURLToPath(dir);
  return readdirSync(base, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(base, join(d.parentPath, d.name)))
    .sort();
}

describe.each([
  { dir: 'deploy/k8s/rendered/', url: new URL('../rendered/', import.meta.url), files: renderedFiles(rootVersion) },
  { dir: 'deploy/helm/castle/', url: new URL('../../helm/castle/', import.meta.url), files: helmChartFiles(rootVersion) },
])('$dir', ({ url, files }) => {
  it('holds exactly the generated files (npm run synth)', () => {
    expect(filesUnder(url)).toEqual(Object.keys(files).sort());
  });

  it.each(Object.keys(files))('%s is what npm run synth generates at the repository version', (name) => {
    expect(readFileSync(new URL(name, url), 'utf8')).toBe(files[name]);
  });
});

describe('deploy/k8s/README.md', () => {
  it('carries the current environments table (npm run synth)', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(withEnvironmentsTable(readme)).toBe(readme);
  });
});
