/**
 * Run the `castle` CLI as a real process against the test cluster, with manifests written to
 * a YAML file, and read what it left in the namespace.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { HERMETIC_KUBECONFIG } from '../../support/cluster.js';
import { tierManifests } from '../../support/tier-manifests.js';

const root = resolve(import.meta.dirname, '../../..');
const main = join(root, 'cli/dist/main.js');

/** Compile the CLI once (incremental) so tests run what users run. */
export function buildCli(): void {
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['-b', 'cli'], { cwd: root, stdio: 'inherit' });
}

/** What a CLI run printed and how it exited. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function kubeconfigPath(): string {
  return process.env.KUBECONFIG ?? HERMETIC_KUBECONFIG;
}

/** Start `castle <args>` (stdin closed, so never a terminal), with the test cluster's kubeconfig unless `kubeconfig` names another. */
export function startCastle(args: readonly string[], { kubeconfig = kubeconfigPath() }: { kubeconfig?: string } = {}): { child: ChildProcess; done: Promise<CliRun>; stderr: () => string } {
  const started = Date.now();
  const child = spawn(process.execPath, [main, ...args, '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '' } });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((resolveRun) => child.on('close', (code) => resolveRun({ code, stdout, stderr, ms: Date.now() - started })));
  return { child, done, stderr: () => stderr };
}

/** Run `castle <args>` to the end. */
export function castle(args: readonly string[], options: { kubeconfig?: string } = {}): Promise<CliRun> {
  return startCastle(args, options).done;
}

/** Resolve once the process's stderr matches `pattern`, or fail after `ms` naming what it printed. */
export async function waitForStderr(run: ReturnType<typeof startCastle>, pattern: RegExp, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  await new Promise<void>((resolveWait, reject) => {
    const check = (): void => {
      if (pattern.test(run.stderr())) {
        run.child.stderr?.off('data', check);
        resolveWait();
      } else if (Date.now() > deadline) {
        reject(new Error(`stderr did not match ${pattern} within ${ms} ms:\n${run.stderr()}`));
      }
    };
    run.child.stderr?.on('data', check);
    run.child.on('close', () => (pattern.test(run.stderr()) ? resolveWait() : reject(new Error(`castle exited before printing ${pattern}:\n${run.stderr()}`))));
    check();
  });
}

/** Options of {@link manifests}. */
export interface ManifestOptions {
  readonly wwwImage?: string;
  readonly backendReadyPath?: string;
  readonly configMaps?: readonly string[];
  readonly extra?: readonly object[];
  readonly wwwReplicas?: number;
  readonly wwwEnv?: Record<string, string>;
}

/** Both tiers (one replica each) and some ConfigMaps, as a YAML file. */
export function manifests({ wwwImage, backendReadyPath, configMaps = [], extra = [], wwwReplicas = 1, wwwEnv = {} }: ManifestOptions = {}): string {
  const backend = tierManifests({ name: 'backend', replicas: 1, env: { BACKEND_ERROR_RATE: '0' } });
  const www = tierManifests({ name: 'www', replicas: wwwReplicas, env: { WWW_BACKEND_URL: 'http://backend', WWW_CAPACITY_RPS: '0', ...wwwEnv } });
  const wwwContainer = www.deployment.spec?.template.spec?.containers[0];
  if (wwwImage && wwwContainer) wwwContainer.image = wwwImage;
  const backendContainer = backend.deployment.spec?.template.spec?.containers[0];
  if (backendReadyPath && backendContainer?.readinessProbe?.httpGet) backendContainer.readinessProbe.httpGet.path = backendReadyPath;
  const objects = [
    ...configMaps.map((name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { name } })),
    backend.service,
    backend.deployment,
    www.service,
    www.deployment,
    ...extra,
  ];
  const dir = mkdtempSync(join(tmpdir(), 'castle-manifests-'));
  const file = join(dir, 'manifests.yaml');
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  return file;
}

/** The release flags for a namespace. */
export const at = (namespace: string): string[] => ['--namespace', namespace, '--release', 'web'];

/** Parse stdout as exactly one JSON document. */
export function oneJson(stdout: string): { schemaVersion: number; ok: boolean; result: Record<string, unknown>; error?: { code: string; message: string } } {
  return JSON.parse(stdout) as ReturnType<typeof oneJson>;
}

/** resourceVersion of every object of the kinds a release touches, by kind/name. */
export async function snapshot(kc: KubeConfig, namespace: string): Promise<Record<string, string>> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const out: Record<string, string> = {};
  for (const [apiVersion, kind] of [
    ['v1', 'ConfigMap'],
    ['v1', 'Service'],
    ['v1', 'Secret'],
    ['apps/v1', 'Deployment'],
    ['coordination.k8s.io/v1', 'Lease'],
  ] as const) {
    const list = await api.list(apiVersion, kind, namespace);
    for (const o of list.items) out[`${kind}/${o.metadata?.name}`] = `${o.metadata?.resourceVersion}/${o.metadata?.generation ?? ''}`;
  }
  return out;
}

/** Whether an object exists. */
export async function exists(kc: KubeConfig, apiVersion: string, kind: string, namespace: string, name: string): Promise<boolean> {
  try {
    await KubernetesObjectApi.makeApiClient(kc).read({ apiVersion, kind, metadata: { name, namespace } });
    return true;
  } catch {
    return false;
  }
}

/** Escape codes of any kind. */
export const ANSI = new RegExp(`${String.fromCharCode(27)}\\[`);
