import { defineConfig } from 'vitest/config';
import { propertyTimeout } from './test/property.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests choose their store explicitly: the user's QDB_CLIENT_CONF is hidden from them.
    setupFiles: ['test/setup-env.ts'],
    // The tests run dist/ too (worker threads, the CLI): build it from these sources first.
    globalSetup: ['test/build.global.ts'],
    // Longer when BOOKTAPE_TEST_RUNS_SCALE deepens the property tests.
    testTimeout: propertyTimeout(60_000),
    hookTimeout: 60_000,
    // Integration suites share one Redis and one DuckDB directory per file.
    fileParallelism: true,
    reporters: ['default'],
  },
});
