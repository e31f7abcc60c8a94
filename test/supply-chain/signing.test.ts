import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, dockerOk } from '../support/docker.js';
import { runTool, runToolOk, tool } from '../support/tools.js';

/**
 * cosign signs the www image with a key pair made for this test and verifies it; a changed
 * image (one more layer, so another digest) under the same tag, and a signature checked
 * against another key, are refused. The image goes through an in-memory OCI registry that
 * this test runs on loopback (go-containerregistry's, from its Go module). No transparency
 * log is reachable here, so signing skips the upload and verification says so explicitly
 * (--insecure-ignore-tlog); the release workflow signs keylessly with Rekor and Fulcio.
 */
const tag = process.env.CASTLE_IMAGE_TAG ?? 'dev';
const source = `castle/www:${tag}`;

let registry: ChildProcess | undefined;
let host = '';
let work = '';
const password = randomBytes(18).toString('base64url');
/** cosign's settings: the key password, no prompts, and a HOME of its own (no ~/.sigstore state shared). */
const cosignEnv = (): NodeJS.ProcessEnv => ({ COSIGN_PASSWORD: password, COSIGN_YES: 'true', HOME: work });
const pushed: string[] = [];

/** Starts the registry on a free loopback port and resolves with host:port once it serves. */
function startRegistry(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool('registry'), ['-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    registry = child;
    let text = '';
    const timer = setTimeout(() => reject(new Error(`the registry did not say its port within 20 s: ${text}`)), 20_000);
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const m = /serving on port (\d+)/.exec(text);
      if (m !== null) {
        clearTimeout(timer);
        resolve(`127.0.0.1:${m[1]}`);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the registry exited ${code}: ${text}`));
    });
  });
}

/** Pushes `image` as `ref` and returns `ref`'s repository at the pushed digest. */
async function push(image: string, ref: string): Promise<string> {
  await dockerOk(['tag', image, ref]);
  pushed.push(ref);
  await dockerOk(['push', '--quiet', ref], 180_000);
  const digests = JSON.parse(await dockerOk(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])) as string[];
  const repo = ref.slice(0, ref.lastIndexOf(':'));
  const digest = digests.find((d) => d.startsWith(`${repo}@sha256:`));
  if (digest === undefined) throw new Error(`no digest of ${ref} after the push (RepoDigests ${JSON.stringify(digests)})`);
  return digest;
}

const cosign = (args: string[]): ReturnType<typeof runTool> => runTool(tool('cosign'), args, { cwd: work, env: cosignEnv() });

let signed = '';
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'castle-cosign-'));
  host = await startRegistry();
  await runToolOk(tool('cosign'), ['generate-key-pair'], { cwd: work, env: cosignEnv() });
  await runToolOk(tool('cosign'), ['generate-key-pair', '--output-key-prefix', 'other'], { cwd: work, env: cosignEnv() });
  signed = await push(source, `${host}/castle/www:signed`);
  await runToolOk(tool('cosign'), ['sign', '--key', 'cosign.key', '--tlog-upload=false', signed], { cwd: work, env: cosignEnv() });
});

afterAll(async () => {
  registry?.kill('SIGTERM');
  for (const ref of pushed) await docker(['rmi', ref]);
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the signed www image', () => {
  it('verifies with the public key, and the signature names the pushed digest', async () => {
    const r = await cosign(['verify', '--key', 'cosign.pub', '--insecure-ignore-tlog=true', signed]);
    expect(r.code, r.stderr).toBe(0);
    const payloads = JSON.parse(r.stdout) as { critical: { image: { 'docker-manifest-digest': string } } }[];
    expect(payloads.map((p) => p.critical.image['docker-manifest-digest'])).toEqual([signed.slice(signed.indexOf('@') + 1)]);
  });

  it('is refused against a key it was not signed with', async () => {
    const r = await cosign(['verify', '--key', 'other.pub', '--insecure-ignore-tlog=true', signed]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no matching signatures|invalid signature/i);
  });

  it('is refused once the tag points at a tampered image (one more layer, another digest)', async () => {
    const context = join(work, 'tampered');
    rmSync(context, { recursive: true, force: true });
    await dockerOk(['image', 'inspect', source]);
    writeFileSync(join(work, 'Dockerfile'), `FROM ${source}\nCOPY payload.js /app/apps/www/dist/payload.js\n`);
    writeFileSync(join(work, 'payload.js'), 'process.exit(0);\n');
    await dockerOk(['build', '--quiet', '-t', `${host}/castle/www:signed`, '-f', join(work, 'Dockerfile'), work], 180_000);
    const tampered = await push(`${host}/castle/www:signed`, `${host}/castle/www:signed`);
    expect(tampered).not.toBe(signed);

    const byTag = await cosign(['verify', '--key', 'cosign.pub', '--insecure-ignore-tlog=true', `${host}/castle/www:signed`]);
    const byDigest = await cosign(['verify', '--key', 'cosign.pub', '--insecure-ignore-tlog=true', tampered]);
    expect(byTag.code).not.toBe(0);
    expect(byDigest.code).not.toBe(0);
    expect(byDigest.stderr).toMatch(/no signatures found|no matching signatures/i);
    // The original digest still verifies: the signature is bound to content, not to the tag.
    expect((await cosign(['verify', '--key', 'cosign.pub', '--insecure-ignore-tlog=true', signed])).code).toBe(0);
  });
});
