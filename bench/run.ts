import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { crashed, type ScenarioResult } from './lib/checks.js';
import type { ScenarioContext } from './lib/context.js';
import { describeMachine, pinSelf, planCores } from './lib/machine.js';
import { failures, formatTable, writeResults, type RunResults } from './lib/report.js';
import { installCleanup, stopAll } from './lib/service.js';
import { readSettings, SettingsError } from './lib/settings.js';
import { backendVsFastifyPeer } from './scenarios/backend-vs-fastify-peer.js';
import { backendVsNodeHttp } from './scenarios/backend-vs-node-http.js';
import { wwwOverload } from './scenarios/www-overload.js';
import { wwwVsBareProxy } from './scenarios/www-vs-bare-proxy.js';

// One scenario per claim; the id and title name a scenario that crashed before it could.
const scenarios: readonly { id: string; title: string; run: (ctx: ScenarioContext) => Promise<ScenarioResult> }[] = [
  { id: '1 backend', title: 'backend vs node:http', run: backendVsNodeHttp },
  { id: '2 backend', title: 'backend vs the Fastify peer', run: backendVsFastifyPeer },
  { id: '3 www', title: 'www vs bare proxy', run: wwwVsBareProxy },
  { id: '4 overload', title: 'www under 3x overload', run: wwwOverload },
];

async function main(): Promise<number> {
  let settings;
  try {
    settings = readSettings();
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  installCleanup();
  const machine = describeMachine();
  const cores = planCores(settings.pin, machine);
  pinSelf(cores.loader);
  const startedAt = new Date();
  const progress = (message: string) => process.stderr.write(`${message}\n`);
  progress(`bench: ${machine.cpuModel} x${machine.cores}, Node ${machine.node}, load average ${machine.loadAverageAtStart.join(' ')}`);
  const ctx: ScenarioContext = { settings, cores, progress };

  const results: ScenarioResult[] = [];
  for (const scenario of scenarios) {
    try {
      results.push(await scenario.run(ctx));
    } catch (err) {
      progress(`  scenario ${scenario.id} failed: ${(err as Error).message}`);
      results.push(crashed(scenario.id, scenario.title, err));
      await stopAll();
    }
  }

  const checks = results.flatMap((r) => r.checks);
  const failed = failures(checks);
  const finishedAt = new Date();
  const run: RunResults = {
    schema: 2,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    elapsedS: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
    machine,
    loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    settings,
    cores,
    passed: failed.length === 0,
    failures: failed,
    checks,
    scenarios: results,
  };
  const written = writeResults(fileURLToPath(new URL('.', import.meta.url)).replace(/\/$/, ''), run);
  process.stdout.write(`\n${formatTable(checks)}\n\nwritten: ${written.join(', ')}\n`);
  if (failed.length > 0) {
    process.stdout.write(`\n${failed.length} target(s) missed:\n${failed.map((f) => `  - ${f}`).join('\n')}\n`);
    return 1;
  }
  process.stdout.write('\nall targets met\n');
  return 0;
}

main().then(
  (code) => stopAll().then(() => process.exit(code)),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    void stopAll().finally(() => process.exit(1));
  },
);
