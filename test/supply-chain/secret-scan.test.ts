import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { root } from '../support/docker.js';
import { runTool } from '../support/tools.js';

/**
 * npm run secrets:scan (gitleaks with .gitleaks.toml) on a CI log: it refuses the leaks the
 * 2017 original printed into its public build log, made fresh here, and never prints them;
 * it passes an ordinary log.
 */
const work = mkdtempSync(join(tmpdir(), 'castle-secrets-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const keyData = Buffer.from(pem).toString('base64');
const token = randomBytes(24).toString('base64url');
const encryptionKey = randomBytes(32).toString('base64');

const scan = (name: string, text: string): ReturnType<typeof runTool> => {
  const file = join(work, name);
  writeFileSync(file, text);
  return runTool('bash', ['scripts/secret-scan.sh', file], { cwd: root });
};

describe("the secret scan of CI's output", () => {
  it.each([
    ['a kubeconfig printed whole', `==> deploy\napiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-key-data: ${keyData}\n`, keyData],
    ['a kubeconfig bearer token', `users:\n- name: ci\n  user:\n    token: ${token}\n`, token],
    ['an encryption key echoed by a script', `+ export ENCRYPTION_KEY=${encryptionKey}\n`, encryptionKey],
    ['a private key in PEM', `${pem}\n`, pem.split('\n')[1] ?? ''],
  ])('refuses %s, without printing it', async (name, text, secret) => {
    const r = await scan(`${name.replace(/\W+/g, '-')}.log`, text);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/secrets found in/);
    expect(`${r.stdout}${r.stderr}`).not.toContain(secret);
  });

  it('passes an ordinary CI log', async () => {
    const r = await scan('clean.log', '==> npm ci\nadded 420 packages in 12s\n==> lint\n✓ 0 problems\ntests: 120 passed, 0 failed, 0 skipped\n');
    expect(r.stderr).toMatch(/no secret in/);
    expect(r.code).toBe(0);
  });
});
