import { DEFAULT_PROMETHEUS_SERVICE, renderDeployer } from '@castle/k8s';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT_CODES } from '../src/errors.js';
import type { KubeObject } from '../src/kube/objects.js';
import { run } from '../src/program.js';
import { renderSource } from '../src/render-source.js';
import { DEFAULT_PROMETHEUS } from '../src/traffic/prometheus.js';
import { type Call, type FakeServer, startFakeServer } from './fake-rbac-server.js';
import { type Grant, accessesOf, describe as describeAccess, grantsOf, ruleAllows } from './rbac.js';

const NS = 'castle';
/** Retries as the CLI makes them, but quick. */
const QUICK = { tryTimeoutMs: 2000, retry: { attempts: 2, baseDelayMs: 1, maxDelayMs: 2 } };

/** What an admin's install of the deployer leaves: its namespaces, Prometheus' labelled; a node with the images. */
function installed(server: FakeServer, versions: readonly string[]): void {
  server.seed(
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'monitoring', labels: { 'castle.dev/monitoring': 'true' } } },
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, status: { images: versions.flatMap((v) => [{ names: [`docker.io/castle/www:${v}`] }, { names: [`docker.io/castle/backend:${v}`] }]) } },
  );
}

async function castle(server: FakeServer, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    const code = await run([...argv, '--kubeconfig', server.kubeconfig], { deps: { defaultSource: renderSource, http: QUICK } });
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const isWrite = (c: Call): boolean => !['get', 'list', 'watch'].includes(c.attributes.verb) && !('resource' in c.attributes && c.attributes.resource === 'selfsubjectaccessreviews');

describe("the deployer's rendered rules", () => {
  let server: FakeServer | undefined;
  afterEach(async () => server?.close());

  it('grant every call of deploy (verdict, a crash rolled back, a lost lock), status with traffic, history, diff, rollback, doctor and destroy, and no rule goes unused', { timeout: 60_000 }, async () => {
    const grants = grantsOf(renderDeployer({ env: 'local', namespace: NS }) as KubeObject[]);
    server = await startFakeServer({ grants, crashImages: /:1\.0\.2$/ });
    installed(server, ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4']);
    const s = server;
    const at = ['--env', 'local', '-n', NS];

    expect((await castle(s, 'deploy', ...at, '--version', '1.0.0')).code).toBe(EXIT_CODES.ok);
    const judged = await castle(s, 'deploy', ...at, '--version', '1.0.1', '--verdict-window', '1', '--verdict-inconclusive', 'continue');
    expect(judged.code, judged.stderr).toBe(EXIT_CODES.ok);
    expect(judged.stderr).toMatch(/✓ Verdict on Deployment\/www/);
    const crashed = await castle(s, 'deploy', ...at, '--version', '1.0.2');
    expect(crashed.code, crashed.stderr).toBe(EXIT_CODES.failed);
    expect(crashed.stderr).toMatch(/CrashLoopBackOff[\s\S]*event: BackOff[\s\S]*last log lines:\n[\s^]+Error: boom[\s\S]*rolling back to revision 2/);
    // The lease vanishes once revision 5 is recorded: the deploy marks its own record failed by compare-and-swap.
    s.options.onRequest = (call, fake) => {
      if (call.method === 'POST' && call.path.endsWith('/secrets') && call.allowed) {
        fake.objects.delete(fake.pathOf({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: NS, name: 'castle-release-castle' }));
        s.options.onRequest = undefined;
      }
    };
    const lost = await castle(s, 'deploy', ...at, '--version', '1.0.3');
    expect(lost.code, lost.stderr).toBe(EXIT_CODES.failed);
    expect(lost.stderr).toMatch(/lost the lock of release castle: the lease was deleted/);

    const status = await castle(s, 'status', '-n', NS, '--output', 'json');
    expect(status.code, status.stderr).toBe(EXIT_CODES.ok);
    expect(JSON.parse(status.stdout)).toMatchObject({ result: { traffic: { source: 'monitoring/prometheus:9090 (API server proxy)', tiers: expect.any(Array) } } });
    expect((await castle(s, 'history', '-n', NS)).code).toBe(EXIT_CODES.ok);
    expect((await castle(s, 'diff', ...at, '--version', '1.0.4')).code).toBe(EXIT_CODES.changes);
    expect((await castle(s, 'rollback', '-n', NS)).code).toBe(EXIT_CODES.ok);
    const doctor = await castle(s, 'doctor', ...at, '--version', '1.0.1', '--output', 'json');
    expect(doctor.code, doctor.stdout).toBe(EXIT_CODES.ok);
    expect((JSON.parse(doctor.stdout) as { result: { prerequisites: unknown[] } }).result.prerequisites).toContainEqual(expect.objectContaining({ check: 'permissions', status: 'ok' }));
    const destroyed = await castle(s, 'destroy', '-n', NS, '--yes');
    expect(destroyed.code, destroyed.stderr).toBe(EXIT_CODES.ok);
    // The Lease went with the Namespace, and so did the Role that let the deployer delete it.
    expect(destroyed.stderr).not.toMatch(/releasing the lock failed|forbidden/);
    expect(s.get({ apiVersion: 'v1', kind: 'Namespace', name: NS })).toBeUndefined();

    expect(s.calls.filter((c) => !c.allowed).map((c) => describeAccess(c.attributes))).toEqual([]);
    // Least privilege: every single access the rules give was needed by some call.
    const used = (g: Grant, access: Grant['rule']) => s.calls.some((c) => (g.namespace === undefined || ('namespace' in c.attributes && c.attributes.namespace === g.namespace)) && ruleAllows(access, c.attributes));
    const unused = grants.flatMap((g) => accessesOf(g).filter(({ access }) => !used(g, access)).map(({ access }) => `${g.namespace ?? 'cluster'}: ${JSON.stringify(access)}`));
    expect(unused).toEqual([]);
  });

  it('stop a deploy that lacks one of them before anything is written, naming the verb and resource (exit 8)', async () => {
    const all = grantsOf(renderDeployer({ env: 'local', namespace: NS }) as KubeObject[]);
    const grants = all.map((g) => (g.rule.resources?.includes('networkpolicies') ? { ...g, rule: { ...g.rule, verbs: g.rule.verbs.filter((v) => v !== 'patch') } } : g));
    server = await startFakeServer({ grants });
    installed(server, ['1.0.0']);

    const r = await castle(server, 'deploy', '--env', 'local', '-n', NS, '--version', '1.0.0', '--output', 'json');

    expect(r.code, r.stderr).toBe(EXIT_CODES.prerequisites);
    expect(r.stderr).toMatch(/permissions: permission patch networkpolicies\.networking\.k8s\.io in namespace castle: not granted/);
    expect(r.stderr).toMatch(/castle rbac --env local -n castle \| kubectl apply --server-side -f -/);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'CASTLE_ERR_PREREQUISITES', exitCode: 8 }, result: { prerequisites: expect.any(Array) } });
    expect(server.calls.filter(isWrite)).toEqual([]);
  });

  it('let a command without a preflight fail on the call it may not make, naming the verb and resource (exit 5)', async () => {
    const grants = grantsOf(renderDeployer({ env: 'local', namespace: NS }) as KubeObject[]).filter((g) => !g.rule.resources?.includes('secrets'));
    server = await startFakeServer({ grants });
    installed(server, []);
    const r = await castle(server, 'history', '-n', NS);
    expect(r.code).toBe(EXIT_CODES.unreachable);
    expect(r.stderr).toMatch(/User "system:serviceaccount:castle-deployer:castle-deployer" cannot list resource "secrets" in API group "" in the namespace "castle"/);
  });

  it("name the same Prometheus as castle status asks by default", () => {
    expect(DEFAULT_PROMETHEUS).toEqual({ kind: 'service', ...DEFAULT_PROMETHEUS_SERVICE });
  });
});
