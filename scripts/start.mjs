#!/usr/bin/env node
// Local run: builds, starts backend then www on loopback, prints the URL, and stops both on Ctrl-C.
// Ports and every other setting come from the same environment variables the services read.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (msg) => process.stderr.write(`castle: ${msg}\n`);

log('building (tsc -b)…');
const build = spawnSync('npx', ['tsc', '-b'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  log('build failed; fix the errors above and run npm start again');
  process.exit(build.status ?? 1);
}

const children = new Set();
let stopping = false;

/** Starts a service, prefixes its output, and resolves with its URL and metrics URL once it logs "ready". */
function start(name, env) {
  const child = spawn(process.execPath, [`apps/${name}/dist/server.js`], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: Ctrl-C reaches only this script, which drains the services in order.
    detached: true,
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        process.stdout.write(`${name.padEnd(7)}| ${line}\n`);
        if (line.includes('"msg":"ready"')) {
          const { url, metrics_url: metricsUrl } = JSON.parse(line);
          resolve({ url, metricsUrl });
        }
      });
    }
    child.on('exit', (code, signal) => {
      children.delete(child);
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready`));
      if (!stopping) {
        log(`${name} stopped unexpectedly (${signal ?? `exit ${code}`}); stopping the rest`);
        stop(1);
      }
    });
  });
}

function stop(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  const finish = () => (children.size === 0 ? process.exit(code) : setTimeout(finish, 50));
  finish();
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

try {
  const backend = await start('backend', {});
  const www = await start('www', { WWW_BACKEND_URL: process.env.WWW_BACKEND_URL ?? backend.url });
  log(`running: www ${www.url} → backend ${backend.url}`);
  log(`metrics: ${www.metricsUrl}/metrics and ${backend.metricsUrl}/metrics`);
  log(`try: curl ${www.url}/   (Ctrl-C stops both)`);
} catch (err) {
  log(err.message);
  stop(1);
}
