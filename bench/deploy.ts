/**
 * `castle deploy` against what a user would otherwise run — `kubectl apply --server-side`
 * then `kubectl rollout status` — on the same manifests, on a real cluster: a first deploy
 * into an empty namespace, then an update that rolls every pod. Each round runs both tools
 * in alternating order, each in a fresh namespace; the figure is the median of the per-round
 * ratios (castle / kubectl) of wall time. castle's smoke check is included, its verdict off.
 *
 *   npm run bench:deploy      # needs KUBECONFIG (or the hermetic cluster) and the images of
 *                             # the package version in the cluster (npm run deploy:local once)
 *
 * Writes bench/results/deploy.json. Exits 1 when the median ratio of either row is above
 * the target.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, globSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render, toYaml } from '@castle/k8s';

const TARGET = 1.2;
const root = join(import.meta.dirname, '..');
const rounds = Number(process.env.BENCH_DEPLOY_ROUNDS ?? 3);
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const kubeconfig = process.env.KUBECONFIG ?? '/var/lib/castle-k8s/kubeconfig';
const kubectl = process.env.KUBECTL ?? globSync(`${process.env.CASTLE_CACHE_DIR ?? '/var/cache/castle'}/k8s-*/bin/kubectl`)[0] ?? 'kubectl';
const env = { ...process.env, KUBECONFIG: kubeconfig };
const work = mkdtempSync(join(tmpdir(), 'castle-bench-deploy-'));

/** Runs a command, returns its wall time in seconds; throws with its output when it fails. */
function timed(command: string, args: readonly string[]): number {
  const started = performance.now();
  const r = spawnSync(command, args, { env, encoding: 'utf8', cwd: root });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return (performance.now() - started) / 1000;
}

/** The `local` manifests of the package version into `namespace`; `revision` changes the pod template. */
function manifests(namespace: string, revision: string): string {
  const file = join(work, `${namespace}-${revision}.yaml`);
  writeFileSync(file, toYaml(render({ env: 'local', version, namespace, gitSha: revision })));
  return file;
}

type Tool = 'castle' | 'kubectl';
interface Times { readonly create: number; readonly update: number }

function deployWith(tool: Tool, namespace: string): Times {
  const [v1, v2] = [manifests(namespace, '1111111'), manifests(namespace, '2222222')];
  const castle = (file: string) => timed('node', ['cli/dist/main.js', 'deploy', '--manifests', file, '--version', version, '-n', namespace, '-q']);
  const kube = (file: string) =>
    timed(kubectl, ['apply', '--server-side', '--field-manager', 'bench', '-f', file]) +
    timed(kubectl, ['-n', namespace, 'rollout', 'status', 'deployment/backend', 'deployment/www', '--timeout', '180s']);
  const run = tool === 'castle' ? castle : kube;
  try {
    return { create: run(v1), update: run(v2) };
  } finally {
    if (tool === 'castle') timed('node', ['cli/dist/main.js', 'destroy', '--yes', '-n', namespace, '-q']);
    else timed(kubectl, ['delete', 'namespace', namespace, '--wait=true', '--timeout=120s']);
  }
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function main(): number {
  if (!existsSync(join(root, 'cli/dist/main.js'))) throw new Error('build first: npm run build');
  execFileSync(kubectl, ['version'], { env, stdio: 'ignore' });
  const perRound: { round: number; castle: Times; kubectl: Times }[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order: Tool[] = round % 2 ? ['castle', 'kubectl'] : ['kubectl', 'castle'];
    const times = {} as Record<Tool, Times>;
    for (const tool of order) {
      const ns = `bench-deploy-${tool}-${randomBytes(3).toString('hex')}`;
      times[tool] = deployWith(tool, ns);
      process.stderr.write(`round ${round} ${tool}: create ${times[tool].create.toFixed(1)} s, update ${times[tool].update.toFixed(1)} s\n`);
    }
    perRound.push({ round, castle: times.castle, kubectl: times.kubectl });
  }
  const ratio = (k: keyof Times) => median(perRound.map((r) => r.castle[k] / r.kubectl[k]));
  const rows = (['create', 'update'] as const).map((k) => ({
    row: k === 'create' ? 'first deploy into an empty namespace' : 'update rolling every pod',
    castleMedianS: median(perRound.map((r) => r.castle[k])),
    kubectlMedianS: median(perRound.map((r) => r.kubectl[k])),
    ratio: ratio(k),
    target: `≤ ${TARGET}x`,
    met: ratio(k) <= TARGET,
  }));
  const result = { schema: 1, finishedAt: new Date().toISOString(), rounds, kubectl, version, rows, perRound };
  writeFileSync(join(root, 'bench/results/deploy.json'), `${JSON.stringify(result, null, 2)}\n`);
  for (const r of rows) {
    process.stdout.write(`${r.row}: castle ${r.castleMedianS.toFixed(1)} s, kubectl ${r.kubectlMedianS.toFixed(1)} s → ${r.ratio.toFixed(2)}x (${r.target}: ${r.met ? 'met' : 'MISSED'})\n`);
  }
  return rows.every((r) => r.met) ? 0 : 1;
}

process.exitCode = main();
