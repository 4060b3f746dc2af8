import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs everywhere in seconds; `e2e` drives the native stack
// (collector, Prometheus, Pushgateway) as processes and needs `otel-contracts stack provision` first.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          globalSetup: ['instrumentation/register/bundle.ts'],
          include: ['semconv/**/*.test.ts', 'instrumentation/**/*.test.ts', 'collectors/**/*.test.ts', 'components/**/*.test.ts', 'bin/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          globalSetup: ['instrumentation/register/bundle.ts', 'e2e/global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
