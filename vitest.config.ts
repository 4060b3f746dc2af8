import { defineConfig } from 'vitest/config';

// Three projects: `unit` runs everywhere in seconds; `e2e` drives the native stack
// (collector, Prometheus, Pushgateway) as processes and needs `otel-contracts stack provision` first;
// `package` packs the package and uses it from a fresh project on Node 24 and Node 22.15.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          globalSetup: ['preload/bundle.ts'],
          include: ['test/**/*.test.ts', 'otel-config/**/*.test.ts', 'preload/**/*.test.ts', 'semconv/**/*.test.ts', 'instrumentation/**/*.test.ts', 'collectors/**/*.test.ts', 'components/**/*.test.ts', 'bin/**/*.test.ts', 'bench/**/*.test.ts', 'examples/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          globalSetup: ['preload/bundle.ts', 'e2e/global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'package',
          include: ['packaging/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
