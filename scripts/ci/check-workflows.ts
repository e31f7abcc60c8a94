// Checks what actionlint and zizmor do not: every action pinned by a full commit SHA with its
// version in a comment, every job with least-privilege `permissions` and (unless it calls a
// reusable workflow) `timeout-minutes`, and every command a workflow runs is an npm script
// that .ci/run runs too, so a workflow cannot call something never exercised here.
//   node --import tsx scripts/ci/check-workflows.ts      (npm run lint:workflows runs it)
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** What a workflow is checked against. */
export interface WorkflowContext {
  /** The root package.json's script names. */
  readonly scripts: ReadonlySet<string>;
  /** The npm scripts .ci/run runs (`test` for `npm test`, `ci` for `npm ci`). */
  readonly ciRun: ReadonlySet<string>;
}

const SHA_PIN = /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/;
const USES_LINE = /^\s*(?:-\s+)?uses:\s*['"]?([^\s'"#]+)['"]?\s*(?:#\s*(.*))?$/;
const VERSION_COMMENT = /^v\d+(\.\d+){0,2}\b/;
/** Commands of the GitHub side that have no local counterpart: registries, clusters, the API. */
export const PLATFORM_COMMANDS = ['aws', 'cosign', 'docker', 'gh', 'jq', 'kind', 'kubectl'] as const;
/** Ways to run code of the repository other than through an npm script. */
const DIRECT_CALL = /(?:^|[\s;&|(])((?:node|npx|tsx|bash|sh|python3?|pnpm|yarn)\s+(?!-)\S+|\.?\/?(?:scripts|cluster|images|bench|test)\/\S+)/;
const NPM = /\bnpm\s+(ci|test|install|i|start|run(?:-script)?)\b((?:\s+(?:--silent|-s|--if-present|--workspace[= ]\S+|-w\s+\S+))*)\s*([\w:.-]*)/g;

/** The npm script names a shell text runs (`test` for `npm test`, `ci` for `npm ci`). */
export function npmScriptsIn(shell: string): string[] {
  const found: string[] = [];
  for (const m of shell.matchAll(NPM)) {
    const verb = m[1] ?? '';
    if (verb === 'run' || verb === 'run-script') found.push(m[3] ?? '');
    else if (verb === 'i' || verb === 'install') found.push('install');
    else found.push(verb);
  }
  return found;
}

interface Job {
  readonly uses?: string;
  readonly permissions?: unknown;
  readonly 'timeout-minutes'?: unknown;
  readonly steps?: readonly { run?: string; uses?: string }[];
}

/** Every problem of one workflow file, each naming the file, the job and what to do. */
export function checkWorkflow(file: string, text: string, ctx: WorkflowContext): string[] {
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    const m = USES_LINE.exec(line);
    if (m === null) return;
    const [, ref = '', comment] = m;
    if (ref.startsWith('./') || ref.startsWith('docker://')) return;
    if (!SHA_PIN.test(ref)) problems.push(`${file}:${i + 1}: ${ref} is not pinned by a full commit SHA (owner/repo@<40 hex digits> # vX.Y.Z)`);
    else if (comment === undefined || !VERSION_COMMENT.test(comment.trim())) problems.push(`${file}:${i + 1}: ${ref} needs its version in a comment (# vX.Y.Z)`);
  });

  const doc = parse(text) as { permissions?: unknown; jobs?: Record<string, Job> } | null;
  if (doc === null || typeof doc !== 'object') return [...problems, `${file}: not a workflow (empty or not a mapping)`];
  if (doc.permissions === undefined) problems.push(`${file}: no top-level permissions; set 'permissions: {}' and grant each job what it needs`);
  for (const [name, job] of Object.entries(doc.jobs ?? {})) {
    if (job.permissions === undefined) problems.push(`${file}: job ${name} has no permissions; grant it only what it needs (e.g. contents: read)`);
    else if (job.permissions === 'write-all' || job.permissions === 'read-all') problems.push(`${file}: job ${name} has permissions: ${String(job.permissions)}; list each permission it needs`);
    if (job.uses === undefined && job['timeout-minutes'] === undefined) problems.push(`${file}: job ${name} has no timeout-minutes`);
    for (const step of job.steps ?? []) {
      if (typeof step.run !== 'string') continue;
      for (const script of npmScriptsIn(step.run)) {
        if (script === 'install') problems.push(`${file}: job ${name} runs npm install; use npm ci (the lockfile, as .ci/run does)`);
        else if (script === '') problems.push(`${file}: job ${name} runs 'npm run' without a script name`);
        else if (!['ci', 'test', 'start'].includes(script) && !ctx.scripts.has(script)) problems.push(`${file}: job ${name} runs npm script '${script}', which package.json does not define`);
        else if (!ctx.ciRun.has(script)) problems.push(`${file}: job ${name} runs npm script '${script}', which .ci/run never runs; run it there too, or call one that it runs`);
      }
      const direct = DIRECT_CALL.exec(step.run);
      if (direct !== null) problems.push(`${file}: job ${name} runs '${direct[1] ?? ''}' directly; call it through an npm script that .ci/run also runs`);
    }
  }
  return problems;
}

/** Every problem of every workflow in `dir`, checked against package.json and .ci/run. */
export function checkRepository(root: string): string[] {
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { scripts?: Record<string, string> };
  const ctx: WorkflowContext = {
    scripts: new Set(Object.keys(pkg.scripts ?? {})),
    ciRun: new Set(npmScriptsIn(readFileSync(`${root}/.ci/run`, 'utf8'))),
  };
  const dir = `${root}/.github/workflows`;
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  if (files.length === 0) return [`${dir}: no workflows`];
  return [...new Set(files.flatMap((f) => checkWorkflow(`.github/workflows/${f}`, readFileSync(`${dir}/${f}`, 'utf8'), ctx)))];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
  const problems = checkRepository(root);
  if (problems.length > 0) {
    process.stderr.write(`check-workflows: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write('check-workflows: every action pinned by SHA, every job with permissions and a timeout, every npm script run by .ci/run\n');
  }
}
