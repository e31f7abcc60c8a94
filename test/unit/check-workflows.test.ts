import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkRepository, checkWorkflow, npmScriptsIn, type WorkflowContext } from '../../scripts/ci/check-workflows.js';

const ctx: WorkflowContext = { scripts: new Set(['lint', 'build', 'never-here']), ciRun: new Set(['ci', 'test', 'lint', 'build']) };
const pin = 'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1';

/** A workflow with one job whose body is `job` (indented under the job). */
const workflow = (job: string, top = 'permissions: {}\n'): string => `name: t\non: push\n${top}jobs:\n  j:\n${job.replace(/^/gm, '    ')}\n`;
const good = `runs-on: ubuntu-24.04\ntimeout-minutes: 5\npermissions:\n  contents: read\nsteps:\n  - uses: ${pin} # v7.0.1\n  - run: npm ci && npm run --silent lint\n  - run: npm test`;

describe('the workflow check', () => {
  it('passes a job that is pinned, least-privileged, bounded and runs only npm scripts .ci/run runs', () => {
    expect(checkWorkflow('w.yml', workflow(good), ctx)).toEqual([]);
  });

  it.each([
    ['an action pinned by tag', good.replace(`${pin} # v7.0.1`, 'actions/checkout@v7'), 'actions/checkout@v7 is not pinned by a full commit SHA'],
    ['a short SHA', good.replace(pin, 'actions/checkout@3d3c42e'), 'is not pinned by a full commit SHA'],
    ['a SHA without its version comment', good.replace(' # v7.0.1', ''), `${pin} needs its version in a comment (# vX.Y.Z)`],
    ['a job without permissions', good.replace('permissions:\n  contents: read\n', ''), 'job j has no permissions'],
    ['a job with write-all', good.replace('permissions:\n  contents: read\n', 'permissions: write-all\n'), 'job j has permissions: write-all'],
    ['a job without timeout-minutes', good.replace('timeout-minutes: 5\n', ''), 'job j has no timeout-minutes'],
    ['an npm script package.json lacks', good.replace('npm test', 'npm run nope'), "npm script 'nope', which package.json does not define"],
    ['an npm script .ci/run never runs', good.replace('npm test', 'npm run never-here'), "npm script 'never-here', which .ci/run never runs"],
    ['npm install', good.replace('npm test', 'npm install'), 'runs npm install; use npm ci'],
    ['a repository script called directly', good.replace('npm test', 'bash scripts/deploy.sh'), "runs 'bash scripts/deploy.sh' directly"],
    ['node called directly', good.replace('npm test', 'node cli/dist/main.js deploy'), "runs 'node cli/dist/main.js' directly"],
  ])('finds %s', (_name, job, problem) => {
    expect(checkWorkflow('w.yml', workflow(job), ctx).join('\n')).toContain(problem);
  });

  it('wants top-level permissions, and no timeout on a job that calls a reusable workflow', () => {
    const reusable = 'uses: ./.github/workflows/deploy.yml\npermissions:\n  contents: read';
    expect(checkWorkflow('w.yml', workflow(reusable, ''), ctx)).toEqual(["w.yml: no top-level permissions; set 'permissions: {}' and grant each job what it needs"]);
  });

  it('reads the npm scripts of a shell text as .ci/run and workflows write them', () => {
    expect(npmScriptsIn('npm ci --no-audit\nnpm run --silent test:images -- $(x)\nnpm test -- --reporter=json\nnpm run -s release:notes -- 1.2.3')).toEqual([
      'ci',
      'test:images',
      'test',
      'release:notes',
    ]);
  });

  it("finds nothing wrong with this repository's workflows", () => {
    expect(checkRepository(fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, ''))).toEqual([]);
  });
});
