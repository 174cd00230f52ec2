import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites share one Redis and one DuckDB directory per file.
    fileParallelism: true,
    reporters: ['default'],
  },
});
