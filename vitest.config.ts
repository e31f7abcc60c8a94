import { defineConfig } from 'vitest/config';

/**
 * Test tiers (see the README): `unit` is hermetic (loopback only, in-process),
 * `int` runs the built services as real processes, `images` needs a Docker engine,
 * `cluster` needs a Kubernetes API (KUBECONFIG).
 */
const shared = {
  // Workspace packages resolve to their TypeScript sources, so unit tests need no build.
  // Tests run in Vite's server-side environment, which takes its own resolve conditions.
  resolve: { conditions: ['castle-source'] },
  ssr: { resolve: { conditions: ['castle-source'] } },
};

export default defineConfig({
  test: {
    expect: { requireAssertions: true },
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'cli/test/**/*.test.ts', 'test/unit/**/*.test.ts', 'test/docs/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          expect: { requireAssertions: true },
        },
      },
      {
        ...shared,
        test: {
          name: 'int',
          include: ['apps/*/test/**/*.int.test.ts', 'test/e2e/**/*.int.test.ts'],
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
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          expect: { requireAssertions: true },
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
