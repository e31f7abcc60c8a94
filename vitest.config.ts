import { defineConfig } from 'vitest/config';

/**
 * Test tiers (see the README), one folder under test/ each: `unit` (test/unit, and
 * `*.test.ts` beside the packages) is hermetic, in-process with loopback sockets only;
 * `int` (test/int, and `*.int.test.ts` beside the apps) runs the built services as real
 * processes; `browser` (test/browser) loads www's page in Chromium (/usr/bin/chromium);
 * `images` (test/images) needs a Docker engine; `cluster` and `cluster-load` (test/cluster) need a
 * Kubernetes API (KUBECONFIG); `supply-chain` (test/supply-chain) checks the built images'
 * SBOM, signature and version with the CI tools (npm run tools:ensure). Helpers the tiers
 * share live in test/support.
 */
const shared = {
  // Workspace packages resolve to their TypeScript sources, so unit tests need no build.
  // Tests run in Vite's server-side environment, which takes its own resolve conditions.
  resolve: { conditions: ['castle-source'] },
  ssr: { resolve: { conditions: ['castle-source'] } },
};

/**
 * Cluster tests run alone on the machine, one at a time, after every add-on is installed
 * (`test:cluster-load`): the scenarios measured under load, and those that need the KEDA or
 * logs add-ons (.ci/run builds those while the `cluster` project runs).
 */
const clusterUnderLoad = [
  // timing under load
  'test/cluster/deploy-under-load.test.ts',
  'test/cluster/autoscaling.test.ts',
  'test/cluster/alerts.test.ts',
  'test/cluster/monitoring.test.ts',
  'test/cluster/cli/verdict.test.ts',
  'test/cluster/cli/autoscaler-handover.test.ts',
  'test/cluster/cli/verdict-prometheus.test.ts',
  'test/cluster/cli/config-per-revision.test.ts',
  // KEDA (ScaledObjects, its CRDs in the server-side dry runs) or the logs add-on
  'test/cluster/cli/autoscaler-switch.test.ts',
  'test/cluster/manifests.test.ts',
  'test/cluster/logs.test.ts',
  'test/cluster/logs-config.test.ts',
];

export default defineConfig({
  test: {
    expect: { requireAssertions: true },
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'deploy/k8s/test/**/*.test.ts', 'cli/test/**/*.test.ts', 'test/unit/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          expect: { requireAssertions: true },
        },
      },
      {
        ...shared,
        test: {
          name: 'int',
          include: ['apps/*/test/**/*.int.test.ts', 'test/int/**/*.int.test.ts'],
          expect: { requireAssertions: true },
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'browser',
          include: ['test/browser/**/*.browser.test.ts'],
          expect: { requireAssertions: true },
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        ...shared,
        test: {
          name: 'images',
          include: ['test/images/**/*.test.ts'],
          expect: { requireAssertions: true },
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        ...shared,
        test: {
          name: 'supply-chain',
          include: ['test/supply-chain/**/*.test.ts'],
          expect: { requireAssertions: true },
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        ...shared,
        test: {
          // Cluster tests that do not depend on timing under load and need no add-on but
          // monitoring (namespaces of their own, nothing shared but the API server): two files
          // at a time, as they mostly wait on rollouts and the API server.
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          exclude: [...clusterUnderLoad, '**/node_modules/**'],
          expect: { requireAssertions: true },
          testTimeout: 600_000,
          hookTimeout: 600_000,
          maxWorkers: 2,
        },
      },
      {
        ...shared,
        test: {
          // Scenarios whose figures are timing under load (50 rps without a failed request,
          // autoscaling steps, alert windows): one at a time, alone on the machine.
          name: 'cluster-load',
          include: clusterUnderLoad,
          expect: { requireAssertions: true },
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
