#!/usr/bin/env node
/**
 * The `castle` executable: runs the program and owns the process — exit codes and signals.
 * The first SIGINT/SIGTERM stops a running deploy cleanly (revision marked failed, lock
 * released, exit 130/143); a second one exits at once.
 */
import { enableCompileCache } from 'node:module';

// The Kubernetes client and the renderer take most of the CLI's start-up to compile; Node
// caches their compiled code on disk (in the temp folder), so later runs start faster.
enableCompileCache();
const { EXIT_CODES } = await import('./errors.js');
const { run } = await import('./program.js');
const { renderSource } = await import('./render-source.js');

const controller = new AbortController();
const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
  const code = signal === 'SIGINT' ? EXIT_CODES.sigint : EXIT_CODES.sigterm;
  if (controller.signal.aborted) process.exit(code);
  process.stderr.write(`\n${signal}: stopping; the revision will be marked failed and the lock released (send it again to quit at once)\n`);
  controller.abort(signal);
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

process.exit(await run(process.argv.slice(2), { signal: controller.signal, deps: { defaultSource: renderSource } }));
