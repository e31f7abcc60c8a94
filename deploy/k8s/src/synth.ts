/**
 * `npm run synth`: writes deploy/k8s/rendered/<env>.yaml for every environment at the
 * repository's version (the root package.json), without a registry: what a GitOps tool or
 * `kubectl apply` reads. `-- --check` writes nothing and exits 1 when a file is stale.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { renderedFiles } from './rendered.js';

const root = new URL('../../../', import.meta.url);
const check = process.argv.includes('--check');
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
const outDir = new URL('deploy/k8s/rendered/', root);
let stale = 0;
if (!check) mkdirSync(outDir, { recursive: true });
for (const [name, text] of Object.entries(renderedFiles(version))) {
  const file = new URL(name, outDir);
  if (check) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // A missing file is stale too.
    }
    if (current !== text) {
      stale += 1;
      console.error(`✗ deploy/k8s/rendered/${name} is stale: run npm run synth`);
    }
  } else {
    writeFileSync(file, text);
    console.error(`✓ deploy/k8s/rendered/${name}`);
  }
}
if (stale > 0) process.exitCode = 1;
