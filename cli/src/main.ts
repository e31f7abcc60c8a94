#!/usr/bin/env node
/**
 * The `castle` executable: runs the program and owns the process — exit codes and signals.
 * The first SIGINT/SIGTERM asks the running command to stop (exit.ts says how: a deploy or
 * rollback marks its revision failed, releases the lock and exits 130/143; other commands stop
 * at once with the same codes); a second one exits at once.
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
  if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? EXIT_CODES.sigint : EXIT_CODES.sigterm);
  controller.abort(signal);
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

process.exit(await run(process.argv.slice(2), { signal: controller.signal, deps: { defaultSource: renderSource } }));
