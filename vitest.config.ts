import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs neither a cluster nor a database and runs in seconds;
// `integration` brings up (or reuses) the simulated cluster and uses PostgreSQL.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts', 'test/clients/**/*.test.ts'],
          environment: 'node',
          // Several files start embedded PGlite (WebAssembly) in beforeAll at once; on 2 busy cores
          // that alone can pass vitest's 10 s default. Tests themselves keep the 5 s default.
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          // One cluster, shared: files run one at a time so their objects and timings don't collide.
          fileParallelism: false,
          // Node 24's V8 lets the young generation grow far larger before collecting than Node 20's
          // (a streamed 64 MiB upload: RSS +110 MiB instead of +30 MiB, +75 MiB for a 16 MiB one),
          // whatever the code retains. The RSS assertions (api-datasets: an upload is streamed, not
          // buffered) measure retention, so the workers keep a 16 MiB semi-space, as on Node 20.
          execArgv: ['--max-semi-space-size=16'],
        },
      },
    ],
  },
});
