import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rotate } from './lib/alternate.js';
import { closedLoop } from './lib/load.js';
import { backendSpec, helloSpec, proxySpec, wwwSpec } from './lib/context.js';
import { describeMachine, pinSelf, planCores } from './lib/machine.js';
import { freePort } from './lib/ready.js';
import { summariseProfile, type ProfileSummary } from './lib/profile.js';
import { installCleanup, startService, stopAll, type RunningProcess, type ServiceSpec } from './lib/service.js';
import { readSettings } from './lib/settings.js';
import { median, round } from './lib/stats.js';
import { measureThroughput, type ThroughputTarget } from './lib/throughput.js';

// Where the hot path's time goes, for the service owner: the same interleaved measurement
// as the bench with the per-response log line switched off, and CPU profiles under load.
// Run: `npm run build && node --import tsx bench/diagnose.ts` (BENCH_DURATION_S, BENCH_ROUNDS apply).

const settings = readSettings();
const machine = describeMachine();
const cores = planCores(settings.pin, machine);
const say = (m: string) => process.stderr.write(`${m}\n`);

interface VariantRow {
  readonly variant: string;
  readonly rps: number;
  readonly cpuUsPerResponse: number;
  readonly perCoreVsBaseline: number;
}

async function variants(title: string, targets: readonly ThroughputTarget[]): Promise<VariantRow[]> {
  say(title);
  const results = await rotate(
    settings.rounds,
    targets.map((t) => async () => {
      const r = await measureThroughput(t, settings);
      say(`  ${t.label}: ${round(r.rps, 0)} req/s, ${round(r.cpuUsPerRequest[t.path[0]?.name ?? ''] ?? 0, 1)} us CPU/response`);
      return r;
    }),
  );
  const rows = targets.map((t, i) => ({
    variant: t.label,
    rps: round(median((results[i] ?? []).map((r) => r.rps)), 0),
    cpuUsPerResponse: round(median((results[i] ?? []).map((r) => r.cpuUsPerRequest[t.path[0]?.name ?? ''] ?? Number.NaN)), 1),
  }));
  const base = rows[0]?.cpuUsPerResponse ?? Number.NaN;
  return rows.map((r) => ({ ...r, perCoreVsBaseline: round(base / r.cpuUsPerResponse, 3) }));
}

async function profileUnderLoad(spec: ServiceSpec, path: (p: RunningProcess) => string): Promise<ProfileSummary> {
  const dir = mkdtempSync(join(tmpdir(), 'castle-prof-'));
  const proc = await startService({ ...spec, name: `${spec.name}-profiled`, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  try {
    say(`profiling ${spec.name} under load for ${settings.durationS}s`);
    await closedLoop(settings.loadGenerator, path(proc), settings.connections, settings.warmupS + settings.durationS);
  } finally {
    await proc.stop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`${spec.name}: no CPU profile written to ${dir}`);
  return summariseProfile(join(dir, file));
}

async function main(): Promise<void> {
  installCleanup();
  pinSelf(cores.loader);
  const hello = await startService(helloSpec(cores.server));
  const backendInfo = await startService(backendSpec(cores.server));
  const silentBackendPort = await freePort();
  const backendSilent = await startService({
    ...backendSpec(cores.server, { BACKEND_LOG_LEVEL: 'silent', BACKEND_PORT: String(silentBackendPort) }),
    name: 'backend-silent',
    silentPort: silentBackendPort,
  });
  const backend = await variants('backend: log on vs log off', [
    { label: 'node:http hello world', url: hello.url, path: [hello] },
    { label: 'backend, log info', url: `${backendInfo.url}/`, path: [backendInfo] },
    { label: 'backend, log silent', url: `${backendSilent.url}/`, path: [backendSilent] },
  ]);
  await Promise.all([hello.stop(), backendSilent.stop()]);
  await backendInfo.stop();

  const upstream = await startService(backendSpec(cores.upstream));
  const proxy = await startService(proxySpec(cores.server, upstream.url));
  const unlimited = { WWW_CAPACITY_RPS: '0', WWW_MAX_CONCURRENCY: '0' };
  const wwwInfo = await startService(wwwSpec(cores.server, upstream.url, unlimited));
  const silentWwwPort = await freePort();
  const wwwSilent = await startService({
    ...wwwSpec(cores.server, upstream.url, { ...unlimited, WWW_LOG_LEVEL: 'silent', WWW_PORT: String(silentWwwPort) }),
    name: 'www-silent',
    silentPort: silentWwwPort,
  });
  const www = await variants('www: log on vs log off', [
    { label: 'bare undici proxy', url: `${proxy.url}/`, path: [proxy, upstream] },
    { label: 'www, log info', url: `${wwwInfo.url}/`, path: [wwwInfo, upstream] },
    { label: 'www, log silent', url: `${wwwSilent.url}/`, path: [wwwSilent, upstream] },
  ]);
  await Promise.all([proxy.stop(), wwwInfo.stop(), wwwSilent.stop()]);

  const profiles = {
    backend: await profileUnderLoad(backendSpec(cores.server), (p) => `${p.url}/`),
    www: await profileUnderLoad(wwwSpec(cores.server, upstream.url, unlimited), (p) => `${p.url}/`),
  };
  await upstream.stop();

  const report = { at: new Date().toISOString(), machine, settings, backend, www, profiles };
  const out = fileURLToPath(new URL('results/diagnosis.json', import.meta.url));
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.table(backend);
  console.table(www);
  for (const [name, p] of Object.entries(profiles)) {
    console.log(`\n${name}: busy self time by package (${p.samples} samples, idle ${p.idleShare})`);
    console.table(p.byPackage);
    console.table(p.topFunctions);
  }
  console.log(`written: ${out}`);
}

main().then(
  () => stopAll().then(() => process.exit(0)),
  (err: unknown) => {
    say(`diagnose: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    void stopAll().finally(() => process.exit(1));
  },
);
