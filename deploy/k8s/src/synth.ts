/**
 * `npm run synth`: writes, at the repository's version (the root package.json),
 * deploy/k8s/rendered/<env>.yaml for every environment (no registry: what kubectl, Argo CD
 * or Flux read) with its <env>-deployer.yaml, the Helm chart deploy/helm/castle, the
 * environments table of deploy/k8s/README.md and the deployer's rules in cli/README.md.
 * `-- --check` writes nothing and exits 1 when a file is stale.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withDeployerRulesTable } from './deployer-table.js';
import { withEnvironmentsTable } from './environments-table.js';
import { helmChartFiles } from './helm-chart.js';
import { renderedFiles } from './rendered.js';

const root = new URL('../../../', import.meta.url);
const check = process.argv.includes('--check');
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
const outputs: Record<string, Record<string, string>> = {
  'deploy/k8s/rendered/': renderedFiles(version),
  'deploy/helm/castle/': helmChartFiles(version),
};
let stale = 0;
for (const [dir, files] of Object.entries(outputs)) {
  for (const [name, text] of Object.entries(files)) {
    const path = fileURLToPath(new URL(dir + name, root));
    if (check) {
      let current = '';
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        // A missing file is stale too.
      }
      if (current !== text) {
        stale += 1;
        console.error(`✗ ${dir}${name} is stale: run npm run synth`);
      }
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      console.error(`✓ ${dir}${name}`);
    }
  }
}
const readmes: [string, (text: string) => string, string][] = [
  ['deploy/k8s/README.md', withEnvironmentsTable, 'the environments table'],
  ['cli/README.md', withDeployerRulesTable, "the deployer's rules"],
];
for (const [file, update, what] of readmes) {
  const readmePath = fileURLToPath(new URL(file, root));
  const readme = readFileSync(readmePath, 'utf8');
  const updated = update(readme);
  if (check && updated !== readme) {
    stale += 1;
    console.error(`✗ ${file}: ${what} is stale: run npm run synth`);
  } else if (!check) {
    writeFileSync(readmePath, updated);
    console.error(`✓ ${file} (${what})`);
  }
}
if (stale > 0) process.exitCode = 1;
