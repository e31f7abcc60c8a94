import { createInterface } from 'node:readline/promises';
import { type AutoscalerKind, autoscalerKinds, environmentNames, toYaml } from '@castle/k8s';
import { valid as semverValid } from 'semver';
import { Command, Option } from 'commander';
import { deploy } from './commands/deploy.js';
import { destroy } from './commands/destroy.js';
import { diff } from './commands/diff.js';
import { doctor } from './commands/doctor.js';
import { history } from './commands/history.js';
import { rbac } from './commands/rbac.js';
import { rollback } from './commands/rollback.js';
import { status } from './commands/status.js';
import { version } from './commands/version.js';
import { DeployFailedError } from './engine/deploy.js';
import { CastleError, EXIT_CODES, UsageError, messageOf } from './errors.js';
import { exitCodeOf, interruptible } from './exit.js';
import type { KubeHttpOptions } from './kube/http.js';
import { buildLocalImages } from './local-images.js';
import { type ManifestSource, yamlFileSource } from './manifests.js';
import { formatDeploy, formatDestroy, formatDiff, formatHistory, formatRollback, formatStatus } from './output/format.js';
import { formatDoctor } from './output/doctor.js';
import { jsonDocument } from './output/json.js';
import { type Reporter, humanReporter, quietReporter } from './output/reporter.js';
import { DEFAULT_LEASE_SECONDS } from './release/lock.js';
import { DEFAULT_HISTORY_MAX } from './release/store.js';
import { DEFAULT_CRASH_RESTARTS } from './rollout/diagnose.js';
import { RolloutError } from './rollout/watch.js';
import type { SmokeTarget } from './rollout/smoke.js';
import type { VerdictOptions } from './rollout/canary.js';
import { VERDICT_SOURCES, type VerdictSourceFlag, counterSourceFor } from './rollout/verdict-source.js';
import { DEFAULT_VERDICT_POLICY } from './rollout/verdict.js';

/** What the entry point can be given: the manifest source used when `--manifests` is absent. */
export interface ProgramDeps {
  readonly defaultSource?: ManifestSource;
  /** How API calls are timed and retried (tests make them quick). */
  readonly http?: KubeHttpOptions;
}

interface GlobalFlags {
  kubeconfig?: string;
  context?: string;
  namespace: string;
  release: string;
  output: 'text' | 'json';
  quiet?: boolean;
}

const int = (name: string) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a non-negative integer, not "${value}"`);
  return n;
};

function releaseFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)'))
    .addOption(new Option('--context <name>', "kubeconfig context (default: the kubeconfig's current context)").env('CASTLE_CONTEXT'))
    .addOption(new Option('-n, --namespace <name>', 'namespace of the release').env('CASTLE_NAMESPACE').default('castle'))
    .addOption(new Option('-r, --release <name>', 'release name').env('CASTLE_RELEASE').default('castle'))
    .addOption(new Option('-o, --output <format>', 'result format: text, or json (one document on stdout)').choices(['text', 'json']).default('text'))
    .option('-q, --quiet', 'no progress on stderr');
}

function rolloutFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--history-max <n>', 'revisions kept').default(DEFAULT_HISTORY_MAX).argParser(int('--history-max')))
    .option('--force-conflicts', 'take fields owned by other field managers', false)
    .addOption(new Option('--progress-deadline <seconds>', 'give up on a rollout after this long').default(180).argParser(int('--progress-deadline')))
    .addOption(new Option('--crash-restarts <n>', 'restarts after which a crash loop fails the deploy').default(DEFAULT_CRASH_RESTARTS).argParser(int('--crash-restarts')))
    .addOption(new Option('--lease-seconds <n>', 'lock lease duration; a killed deploy blocks the release at most this long').default(DEFAULT_LEASE_SECONDS).argParser(int('--lease-seconds')))
    .option('--smoke-service <name>', 'Service the smoke check GETs through the API server proxy', 'www')
    .option('--smoke-port <port>', 'its port (number or name)', '80')
    .option('--smoke-path <path>', 'its path; 200 expected', '/')
    .option('--no-smoke', 'skip the smoke check');
}

function sourceFlags(cmd: Command): Command {
  return cmd
    .requiredOption('--version <semver>', 'version of the release (e.g. 1.4.2)')
    .addOption(new Option('--env <name>', `environment to render: ${environmentNames.join(', ')}`).env('CASTLE_ENV').default('local'))
    .option('--registry <host/path>', 'image registry to render into the manifests')
    .addOption(
      new Option('--autoscaler <kind>', "autoscale the tiers with keda (www on its request rate) or hpa (CPU), or none (fixed replicas), instead of the environment's choice")
        .choices(autoscalerKinds),
    )
    .addOption(new Option('--git-sha <sha>', 'commit being deployed (recorded)').env('CASTLE_GIT_SHA'))
    .option('--manifests <file>', 'deploy these objects (multi-document YAML) instead of rendering them');
}

/** `--autoscaler` changes what is rendered: with `--manifests` nothing is, so it is refused rather than ignored. */
function checkSourceFlags(f: { manifests?: string; autoscaler?: string }): void {
  if (f.manifests !== undefined && f.autoscaler !== undefined) {
    throw new UsageError('--autoscaler chooses how an environment is rendered; --manifests deploys objects as they are', 'drop one of --autoscaler and --manifests');
  }
}

interface Runtime {
  readonly deps: ProgramDeps;
  readonly signal: AbortSignal;
  exitCode: number;
  readonly stdout: (text: string) => void;
}

function reporterFor(flags: GlobalFlags): Reporter {
  return flags.quiet ? quietReporter : humanReporter();
}

function smokeOf(flags: { smoke?: boolean; smokeService: string; smokePort: string; smokePath: string }): SmokeTarget | undefined {
  if (flags.smoke === false) return undefined;
  return { service: flags.smokeService, port: /^\d+$/.test(flags.smokePort) ? Number(flags.smokePort) : flags.smokePort, path: flags.smokePath };
}

interface VerdictFlags {
  verdictWindow: number;
  verdictDeployment: string;
  verdictPort: string;
  verdictPath: string;
  verdictMinRequests: number;
  verdictTolerance: number;
  verdictInconclusive: 'continue' | 'fail';
  verdictSource: VerdictSourceFlag;
  prometheus?: string;
  env: string;
  manifests?: string;
}

function ratioArg(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new UsageError(`--verdict-tolerance must be a ratio between 0 and 1, not "${value}"`);
  return n;
}

function verdictOf(f: VerdictFlags): VerdictOptions | undefined {
  if (f.verdictWindow === 0) return undefined;
  return {
    deployment: f.verdictDeployment,
    windowSeconds: f.verdictWindow,
    port: /^\d+$/.test(f.verdictPort) ? Number(f.verdictPort) : f.verdictPort,
    path: f.verdictPath,
    source: counterSourceFor(f),
    policy: { minRequests: f.verdictMinRequests, tolerance: f.verdictTolerance },
    onInconclusive: f.verdictInconclusive,
  };
}

function sourceOf(rt: Runtime, manifests: string | undefined): ManifestSource {
  if (manifests) return yamlFileSource(manifests);
  if (rt.deps.defaultSource) return rt.deps.defaultSource;
  throw new UsageError('no manifests to deploy', 'pass --manifests <file>');
}

/** Run a command and print its result (text or JSON); errors are turned into exit codes here. */
async function emit<T>(rt: Runtime, command: string, flags: GlobalFlags, run: () => Promise<T>, text: (r: T) => string, exitCode?: (r: T) => number): Promise<void> {
  try {
    const result = await interruptible(command, rt.signal, run);
    rt.stdout(flags.output === 'json' ? jsonDocument(command, result) : text(result));
    rt.exitCode = exitCode?.(result) ?? EXIT_CODES.ok;
  } catch (error) {
    const code = exitCodeOf(error, rt.signal);
    const details = detailsOf(error);
    if (flags.output === 'json') {
      rt.stdout(jsonDocument(command, details, { code: error instanceof CastleError ? error.code : 'CASTLE_ERR_INTERNAL', message: messageOf(error), exitCode: code }));
    }
    printError(error);
    rt.exitCode = code;
  }
}

function detailsOf(error: unknown): unknown {
  if (error instanceof DeployFailedError) {
    const blockers = error.cause instanceof RolloutError ? error.cause.blockers : undefined;
    return { revision: error.record.revision, status: error.record.status, reason: error.record.reason, rollback: error.rollback, blockers };
  }
  return (error as { report?: unknown }).report ?? null;
}

function printError(error: unknown): void {
  const hint = error instanceof CastleError ? error.hint : undefined;
  process.stderr.write(`ERROR: ${messageOf(error)}\n`);
  if (hint) process.stderr.write(`  ${hint}\n`);
  if (!(error instanceof CastleError) && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** The `castle` program. `deps.defaultSource` renders manifests when `--manifests` is absent. */
export function createProgram(rt: Runtime): Command {
  const program = new Command('castle')
    .description('Deploy Castle to Kubernetes: server-side apply, prune, rollout watch, smoke check, release history, rollback.')
    .showHelpAfterError()
    .exitOverride();

  const deployCmd = rolloutFlags(sourceFlags(releaseFlags(program.command('deploy').description('deploy a new revision of the release'))))
    .option('--build', 'with --env local: build the version\'s images and load them into the hermetic cluster first', false)
    .option('--no-rollback-on-failure', 'leave a failed revision in place instead of rolling back to the newest healthy one')
    .option('--no-preflight', 'skip the prerequisites check (castle doctor) before the first write')
    .addOption(new Option('--verdict-window <seconds>', 'hold the rollout after the first new pod is ready and compare its 5xx ratio with the old pods over this window (0: off)').default(0).argParser(int('--verdict-window')))
    .option('--verdict-deployment <name>', 'the Deployment judged', 'www')
    .option('--verdict-port <port>', "the pods' metrics port (number or name), when read through the API server's pod proxy", '9090')
    .option('--verdict-path <path>', 'the metrics path', '/metrics')
    .addOption(new Option('--verdict-min-requests <n>', 'fewer requests in either group: inconclusive').default(DEFAULT_VERDICT_POLICY.minRequests).argParser(int('--verdict-min-requests')))
    .addOption(new Option('--verdict-tolerance <ratio>', 'how much higher the new 5xx ratio may be (absolute)').default(DEFAULT_VERDICT_POLICY.tolerance).argParser(ratioArg))
    .addOption(new Option('--verdict-inconclusive <action>', 'what an inconclusive verdict does').choices(['continue', 'fail']).default('fail'))
    .addOption(
      new Option('--verdict-source <source>', "where the verdict reads the pods' request counters: prometheus, pod-proxy, or auto (the pod proxy where the environment admits the control plane to the metrics port, else Prometheus, falling back to the pod proxy when it cannot be asked or scrapes none of the old pods)")
        .choices(VERDICT_SOURCES)
        .default('auto'),
    )
    .addOption(new Option('--prometheus <url>', "Prometheus the verdict asks (default: the rendered environment's, else monitoring/prometheus:9090, through the API server's service proxy)").env('CASTLE_PROMETHEUS_URL'));
  deployCmd.action(async (flags: GlobalFlags & Record<string, never> & { [k: string]: unknown }) => {
    const f = flags as unknown as GlobalFlags & { version: string; env: string; registry?: string; autoscaler?: AutoscalerKind; gitSha?: string; manifests?: string; historyMax: number; forceConflicts: boolean; rollbackOnFailure: boolean; progressDeadline: number; crashRestarts: number; leaseSeconds: number; smoke?: boolean; smokeService: string; smokePort: string; smokePath: string; build: boolean; preflight: boolean } & VerdictFlags;
    await emit(rt, 'deploy', f, async () => {
      checkSourceFlags(f);
      if (f.build) await buildLocalImages(f.env, semverValid(f.version) ?? f.version, reporterFor(f));
      return deploy({
        ...f,
        http: rt.deps.http,
        reporter: reporterFor(f),
        signal: rt.signal,
        source: sourceOf(rt, f.manifests),
        progressDeadlineSeconds: f.progressDeadline,
        smoke: smokeOf(f),
        verdict: verdictOf(f),
      });
    }, formatDeploy);
  });

  rolloutFlags(releaseFlags(program.command('rollback').description('roll back to an earlier healthy revision (default: the newest one other than the current, skipping failed ones)')))
    .addOption(new Option('--to <revision>', 'revision to roll back to').argParser(int('--to')))
    .action(async (flags: unknown) => {
      const f = flags as GlobalFlags & { to?: number; historyMax: number; forceConflicts: boolean; progressDeadline: number; crashRestarts: number; leaseSeconds: number; smoke?: boolean; smokeService: string; smokePort: string; smokePath: string };
      await emit(rt, 'rollback', f, () => rollback({ ...f, http: rt.deps.http, reporter: reporterFor(f), signal: rt.signal, progressDeadlineSeconds: f.progressDeadline, smoke: smokeOf(f) }), formatRollback);
    });

  releaseFlags(program.command('status').description("the release's current revision, its Deployments and their live traffic (from Prometheus)"))
    .addOption(new Option('--prometheus <url>', "Prometheus' URL (default: monitoring/prometheus:9090 through the API server's service proxy)").env('CASTLE_PROMETHEUS_URL'))
    .action(async (flags: GlobalFlags & { prometheus?: string }) => {
      await emit(rt, 'status', flags, () => status({ ...flags, http: rt.deps.http, reporter: reporterFor(flags) }), formatStatus);
    });

  releaseFlags(program.command('history').description("the release's revisions, newest first")).action(async (flags: GlobalFlags) => {
    await emit(rt, 'history', flags, () => history({ ...flags, http: rt.deps.http, reporter: reporterFor(flags) }), formatHistory);
  });

  sourceFlags(releaseFlags(program.command('diff').description('what a deploy would change (server-side dry run) and prune; writes nothing. Exit 0: no changes, 3: changes')))
    .option('--force-conflicts', 'compare as if taking fields owned by other managers', false)
    .action(async (flags: unknown) => {
      const f = flags as GlobalFlags & { version: string; env: string; registry?: string; autoscaler?: AutoscalerKind; gitSha?: string; manifests?: string; forceConflicts: boolean };
      await emit(rt, 'diff', f, () => (checkSourceFlags(f), diff({ ...f, http: rt.deps.http, reporter: reporterFor(f), source: sourceOf(rt, f.manifests) })), formatDiff, (r) => (r.changes.length > 0 ? EXIT_CODES.changes : EXIT_CODES.ok));
    });

  releaseFlags(program.command('destroy').description("delete the release's objects, records and lock (asks on a terminal; --yes elsewhere)"))
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--ignore-lock', "destroy even while a deploy holds the release's lock (otherwise exit 4): take the lock from it; that deploy stops before its next write")
    .action(async (flags: GlobalFlags & { yes?: boolean; ignoreLock?: boolean }) => {
      let confirmed = flags.yes === true;
      if (!confirmed && process.stdin.isTTY && process.stderr.isTTY) {
        confirmed = await confirm(`Delete release ${flags.release} in namespace ${flags.namespace}? [y/N] `);
      }
      await emit(rt, 'destroy', flags, () => destroy({ ...flags, confirmed, http: rt.deps.http, reporter: reporterFor(flags) }), formatDestroy);
    });

  releaseFlags(program.command('doctor').description('what --env needs on the cluster, whether each is there, and what provides what is missing (exit 8); changes nothing'))
    .option('--version <semver>', "the release's version, whose images are checked (default: this CLI's)")
    .addOption(new Option('--env <name>', `environment to render: ${environmentNames.join(', ')}`).env('CASTLE_ENV').default('local'))
    .option('--registry <host/path>', 'image registry to render into the manifests')
    .option('--manifests <file>', 'check these objects (multi-document YAML) instead of rendering them')
    .action(async (flags: GlobalFlags & { version?: string; env: string; registry?: string; manifests?: string }) => {
      const run = () => doctor({ ...flags, env: flags.manifests ? undefined : flags.env, http: rt.deps.http, reporter: reporterFor(flags), source: sourceOf(rt, flags.manifests) });
      await emit(rt, 'doctor', flags, run, formatDoctor, (r) => (r.missing > 0 ? EXIT_CODES.prerequisites : EXIT_CODES.ok));
    });

  program
    .command('rbac')
    .description("the deployer's identity and least-privilege rules for --env's release, as YAML for a cluster admin to apply once (kubectl apply --server-side -f -)")
    .addOption(new Option('--env <name>', `environment: ${environmentNames.join(', ')}`).env('CASTLE_ENV').default('local'))
    .addOption(new Option('-n, --namespace <name>', "the release's namespace (default: the environment's)").env('CASTLE_NAMESPACE'))
    .option('--service-account <namespace/name>', 'the ServiceAccount to bind (default: castle-deployer/castle-deployer)')
    .addOption(new Option('-o, --output <format>', 'text (YAML) or json').choices(['text', 'json']).default('text'))
    .action(async (flags: GlobalFlags & { env: string; serviceAccount?: string }) => {
      await emit(rt, 'rbac', flags, () => Promise.resolve(rbac(flags)), (r) => toYaml(r.objects));
    });

  program
    .command('version')
    .description("the CLI's version: CASTLE_VERSION, else from the git release tag (vX.Y.Z) of its work tree, else package.json")
    .addOption(new Option('-o, --output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action(async (flags: GlobalFlags) => {
      await emit(rt, 'version', flags, () => Promise.resolve(version()), (v) => `castle ${v.version} (${v.tag === undefined ? v.source : `${v.source} ${v.tag}`}, node ${v.node})\n`);
    });
  return program;
}

/**
 * Run the CLI with `argv` and return the exit code. `signal` (aborted by SIGINT/SIGTERM in
 * main.ts, with the signal name as reason) stops a running deploy or rollback, which marks
 * its revision failed and releases the lock; any other command stops at once.
 */
export async function run(argv: readonly string[], { deps = {}, signal = new AbortController().signal }: { deps?: ProgramDeps; signal?: AbortSignal } = {}): Promise<number> {
  const rt: Runtime = { deps, signal, exitCode: EXIT_CODES.ok, stdout: (t) => void process.stdout.write(t) };
  try {
    await createProgram(rt).parseAsync(argv, { from: 'user' });
    return rt.exitCode;
  } catch (error) {
    const e = error as { code?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_CODES.ok;
    if (e.code?.startsWith('commander.')) return EXIT_CODES.usage;
    printError(error);
    return error instanceof CastleError ? error.exitCode : EXIT_CODES.failed;
  }
}
