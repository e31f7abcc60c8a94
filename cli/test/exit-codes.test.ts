import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CallMatch, type FaultProxy, type FaultRule, hang, reset, startFaultProxy, status } from '../../test/support/fault-proxy.js';
import { EXIT_CODES } from '../src/errors.js';
import { Kube } from '../src/kube/client.js';
import { run } from '../src/program.js';
import { ReleaseStore } from '../src/release/store.js';
import { fakeApi, kubeConfigFor, kubeConfigYaml } from './fake-api.js';
import { cm, record } from './fixtures.js';

/** The release's one object; revision 1 (succeeded) has `v: "1"`, the deploy under test brings `v: "2"`. */
const APP = /^\/api\/v1\/namespaces\/castle\/configmaps\/app$/;
const PATCH_APP: CallMatch = { method: 'PATCH', path: APP };
const VERSION: CallMatch = { method: 'GET', path: /^\/version$/ };
/** Retries as the CLI makes them, but quick: tries end after 100 ms without an answer, 2 tries per call. */
const QUICK = { tryTimeoutMs: 100, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } };

interface Row {
  /** Faults the proxy in front of the fake API injects. */
  readonly faults?: readonly FaultRule[];
  /** A signal "arrives" (the entry point's controller aborts) when the n-th call matching `at` does. */
  readonly signal?: { readonly name: 'SIGINT' | 'SIGTERM'; readonly at: CallMatch; readonly nth: number };
  /** Seed a live lease of another holder. */
  readonly locked?: boolean;
  readonly argv?: readonly string[];
  /** Point the kubeconfig at a closed port. */
  readonly unreachable?: boolean;
  readonly code: number;
  readonly stderr?: RegExp;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function capture(work: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    return { code: await work(), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('castle deploy exit codes, one per cause (the README table)', () => {
  let proxy: FaultProxy;
  let dir: string;

  beforeEach(async () => {
    const api = fakeApi();
    api.put('/api/v1/namespaces/castle', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'castle' } });
    proxy = await startFaultProxy(api.handler);
    // Revision 1 succeeded: the automatic rollback's target.
    const v1 = { ...record(1, 'succeeded', [{ ...cm('app'), namespace: 'castle' }]), namespace: 'castle' };
    const manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'castle', labels: { 'app.kubernetes.io/managed-by': 'castle', 'castle.dev/release': 'castle' } }, data: { v: '1' } };
    await new ReleaseStore(new Kube(kubeConfigFor(proxy.url)), 'castle', 'castle').create({ ...v1, manifests: [manifest] });
    api.put('/api/v1/namespaces/castle/configmaps/app', manifest);
    dir = await mkdtemp(join(tmpdir(), 'castle-exit-'));
    await writeFile(join(dir, 'app.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {v: "2"}\n');
    await writeFile(join(dir, 'kubeconfig'), kubeConfigYaml(proxy.url));
    await writeFile(join(dir, 'closed'), kubeConfigYaml(`http://127.0.0.1:${await closedPort()}`));
  });
  afterEach(() => proxy.close());

  const forbidden = (verb: string, resource: string): string => `${resource} is forbidden: User "me" cannot ${verb} resource "${resource}" in the namespace "castle"`;

  it.each<[string, Row]>([
    ['bad input: a version that is not semantic', { argv: ['--version', '1.0'], code: EXIT_CODES.usage, stderr: /version "1\.0" is not a semantic version/ }],
    ['the release is locked by another deploy', { locked: true, code: EXIT_CODES.locked, stderr: /locked by bob@ci pid 7/ }],
    ['the API server cannot be reached', { unreachable: true, code: EXIT_CODES.unreachable, stderr: /cannot reach the Kubernetes API server/ }],
    ['the API server does not answer in time, before anything changed', { faults: [{ match: VERSION, always: hang() }], code: EXIT_CODES.unreachable, stderr: /GET \/version: no answer .* within 0\.1 s/ }],
    ['the credentials are refused (401)', { faults: [{ match: VERSION, always: status(401) }], code: EXIT_CODES.unreachable, stderr: /refused the credentials of context "fake" \(HTTP 401: Unauthorized\)/ }],
    ['the user may not take the lock (403 from RBAC)', { faults: [{ match: { method: 'POST', path: /leases$/ }, always: status(403, forbidden('create', 'leases')) }], code: EXIT_CODES.unreachable, stderr: /User "me" cannot create resource "leases"/ }],
    ['a field-manager conflict, rolled back', { faults: [{ match: PATCH_APP, faults: [status(409, 'Apply failed with 1 conflict')] }], code: EXIT_CODES.conflict }],
    ['the deploy failed (the apply answered 500) and was rolled back', { faults: [{ match: PATCH_APP, faults: [status(500), status(500)] }], code: EXIT_CODES.failed, stderr: /rolling back to revision 1/ }],
    ['the deploy failed on an API timeout and was rolled back', { faults: [{ match: PATCH_APP, faults: [hang(), hang()] }], code: EXIT_CODES.failed, stderr: /PATCH \/api\/v1\/namespaces\/castle\/configmaps\/app: no answer [^\n]*\n[\s\S]*rolling back to revision 1/ }],
    ['the deploy failed on reset connections and was rolled back', { faults: [{ match: PATCH_APP, faults: [reset(), reset()] }], code: EXIT_CODES.failed }],
    ['the deploy failed on an API timeout, with --no-rollback-on-failure', { argv: ['--no-rollback-on-failure'], faults: [{ match: PATCH_APP, faults: [hang(), hang()] }], code: EXIT_CODES.failed }],
    ['the deploy failed on a 403 from admission, not the credentials, and was rolled back', { faults: [{ match: PATCH_APP, faults: [status(403, 'configmaps "app" is forbidden: exceeded quota: small')] }], code: EXIT_CODES.failed }],
    ['the deploy failed and so did its rollback', { faults: [{ match: PATCH_APP, always: status(500) }], code: EXIT_CODES.rollbackFailed, stderr: /rollback failed too/ }],
    ['SIGINT during the deploy', { signal: { name: 'SIGINT', at: PATCH_APP, nth: 1 }, code: EXIT_CODES.sigint, stderr: /SIGINT: stopping; the revision will be marked failed and the lock released/ }],
    ['SIGTERM during the deploy', { signal: { name: 'SIGTERM', at: PATCH_APP, nth: 1 }, code: EXIT_CODES.sigterm }],
    ['SIGINT during the automatic rollback', { faults: [{ match: PATCH_APP, faults: [status(500), status(500)] }], signal: { name: 'SIGINT', at: PATCH_APP, nth: 3 }, code: EXIT_CODES.sigint }],
    ['SIGTERM during the automatic rollback', { faults: [{ match: PATCH_APP, faults: [status(500), status(500)] }], signal: { name: 'SIGTERM', at: PATCH_APP, nth: 3 }, code: EXIT_CODES.sigterm }],
  ])('%s', async (_, row) => {
    for (const rule of row.faults ?? []) proxy.inject(rule);
    if (row.locked) {
      const now = new Date().toISOString().replace('Z', '000Z');
      await new Kube(kubeConfigFor(proxy.url)).create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'castle-release-castle', namespace: 'castle' }, spec: { holderIdentity: 'bob@ci pid 7', leaseDurationSeconds: 300, renewTime: now, acquireTime: now } });
    }
    const controller = new AbortController();
    if (row.signal) {
      const { name, at, nth } = row.signal;
      let seen = 0;
      proxy.events.on('call', (call) => {
        if ((!at.method || at.method === call.method) && (!at.path || at.path.test(call.path)) && ++seen === nth) controller.abort(name);
      });
    }
    const argv = ['deploy', '--version', '1.0.2', ...(row.argv ?? []), '--manifests', join(dir, 'app.yaml'), '--kubeconfig', join(dir, row.unreachable ? 'closed' : 'kubeconfig'), '--no-smoke'];
    const result = await capture(() => run(argv, { signal: controller.signal, deps: { http: QUICK } }));
    expect(result.code, result.stderr).toBe(row.code);
    if (row.stderr) expect(result.stderr).toMatch(row.stderr);
  });
});

describe('read-only commands on SIGINT', () => {
  let proxy: FaultProxy;
  let dir: string;

  beforeEach(async () => {
    proxy = await startFaultProxy(fakeApi().handler);
    dir = await mkdtemp(join(tmpdir(), 'castle-ro-'));
    await writeFile(join(dir, 'app.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n');
    await writeFile(join(dir, 'kubeconfig'), kubeConfigYaml(proxy.url));
  });
  afterEach(() => proxy.close());

  it.each<[string, string[]]>([
    ['status', []],
    ['history', []],
    ['diff', ['--version', '1.0.0', '--manifests', 'app.yaml']],
  ])('%s stops at once, exits 130 and promises nothing about revisions', async (command, flags) => {
    // The API server never answers: only the signal can end the command before the 60 s time limit of a try.
    proxy.inject({ always: hang() });
    const controller = new AbortController();
    proxy.events.once('call', () => controller.abort('SIGINT'));
    const argv = [command, ...flags.map((f) => (f.endsWith('.yaml') ? join(dir, f) : f)), '--kubeconfig', join(dir, 'kubeconfig')];
    const started = performance.now();
    const result = await capture(() => run(argv, { signal: controller.signal, deps: { http: { tryTimeoutMs: 60_000 } } }));
    expect(result.code, result.stderr).toBe(EXIT_CODES.sigint);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(result.stderr).toMatch(/interrupted by SIGINT/);
    expect(result.stderr).toMatch(/nothing was changed/);
    expect(result.stderr).not.toMatch(/revision|lock/);
  });

  it('destroy stops at once too, exits 143 on SIGTERM and says to run it again', async () => {
    proxy.inject({ always: hang() });
    const controller = new AbortController();
    proxy.events.once('call', () => controller.abort('SIGTERM'));
    const result = await capture(() => run(['destroy', '--yes', '--kubeconfig', join(dir, 'kubeconfig')], { signal: controller.signal, deps: { http: { tryTimeoutMs: 60_000 } } }));
    expect(result.code, result.stderr).toBe(EXIT_CODES.sigterm);
    expect(result.stderr).toMatch(/interrupted by SIGTERM\n.*run it again to finish/);
  });
});

describe('the README exit-code table', () => {
  it('lists every exit code of EXIT_CODES, and no other', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('\n## ', readme.indexOf('## Exit codes') + 1));
    const documented = [...table.matchAll(/^\| ([\d /]+) \|/gm)].flatMap((m) => (m[1] ?? '').split('/').map((n) => Number(n.trim())));
    expect(documented.sort((a, b) => a - b)).toEqual(Object.values(EXIT_CODES).sort((a, b) => a - b));
  });
});
