import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CastleError, UsageError } from './errors.js';
import type { Reporter } from './output/reporter.js';

/** The checkout this CLI runs from: the image build and the hermetic cluster's scripts live there. */
const checkout = fileURLToPath(new URL('../../', import.meta.url));

/** The images `--env local` renders for a version (no registry). */
export function localImages(version: string): string[] {
  return ['backend', 'www'].map((tier) => `castle/${tier}:${version}`);
}

function runScript(args: readonly string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // The scripts' own progress goes to stderr, like the CLI's.
    const child = spawn('bash', args, { cwd: checkout, stdio: ['ignore', process.stderr, process.stderr] });
    child.on('error', (error) => reject(new CastleError('CASTLE_ERR_IMAGES', `${what}: ${error.message}`)));
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new CastleError('CASTLE_ERR_IMAGES', `${what} failed (${signal ?? `exit ${code}`}); its output is above`)),
    );
  });
}

/**
 * `castle deploy --env local --build`: build the version's images with Docker and load them
 * into the hermetic cluster's containerd, which has no registry to pull from.
 */
export async function buildLocalImages(env: string, version: string, reporter: Reporter): Promise<void> {
  if (env !== 'local') {
    throw new UsageError(`--build is for --env local (the hermetic cluster), not "${env}"`, 'push the images to the registry of that environment and pass --registry');
  }
  await stepped(reporter, `Building images ${localImages(version).join(', ')}`, () =>
    runScript(['scripts/build-images.sh', '--version', version, '--tag', version], 'building the images'),
  );
  await stepped(reporter, 'Loading them into the hermetic cluster', () =>
    runScript(['cluster/load-images.sh', ...localImages(version)], 'loading the images into the cluster'),
  );
}

async function stepped(reporter: Reporter, title: string, work: () => Promise<void>): Promise<void> {
  const step = reporter.step(title);
  try {
    await work();
    step.ok();
  } catch (error) {
    step.fail();
    throw error;
  }
}
