import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HERMETIC_KUBECONFIG, kubeconfigPath } from '../src/kube/config.js';
import { UsageError } from '../src/errors.js';

const emptyHome = () => mkdtempSync(join(tmpdir(), 'castle-home-'));

describe('where the kubeconfig comes from', () => {
  it('takes the flag first, whatever the environment says', () => {
    expect(kubeconfigPath({ kubeconfig: '/x/flag' }, { KUBECONFIG: '/x/env' }, emptyHome())).toBe('/x/flag');
  });

  it("leaves KUBECONFIG, ~/.kube/config and a pod's service account to the client's own loading", () => {
    const home = emptyHome();
    expect(kubeconfigPath({}, { KUBECONFIG: '/x/env' }, home)).toBeUndefined();
    expect(kubeconfigPath({}, { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, home)).toBeUndefined();
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), '');
    expect(kubeconfigPath({}, {}, home)).toBeUndefined();
  });

  it("falls back to the hermetic cluster's kubeconfig, or says what to do when there is none", () => {
    let result: string | undefined | Error;
    try {
      result = kubeconfigPath({}, {}, emptyHome());
    } catch (error) {
      result = error as Error;
    }
    if (result instanceof Error) {
      expect(result).toBeInstanceOf(UsageError);
      expect(result.message).toMatch(/no kubeconfig/);
      expect((result as UsageError).hint).toContain(HERMETIC_KUBECONFIG);
    } else {
      expect(result).toBe(HERMETIC_KUBECONFIG);
    }
  });
});
