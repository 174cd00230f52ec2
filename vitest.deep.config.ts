import { defineConfig } from 'vitest/config';

/**
 * The property and fuzz tests searched deeper (`npm run test:deep`, run by
 * .ci/run after the suite): every property's runs ×10 (test/property.ts),
 * 20,000 hostile API requests instead of 1,000. The files `npm test` runs at
 * everyday depth, all of each; a failure prints the seed that replays it.
 */
export default defineConfig({
  test: {
    include: [
      'test/dbn/fuzz.test.ts', 'test/dbn/framer.test.ts', 'test/dbn/text.test.ts', 'test/time.test.ts',
      'test/book/*.test.ts', 'test/api/fuzz.test.ts', 'test/api/frames.test.ts', 'test/store/duckdb.test.ts',
    ],
    env: { BOOKTAPE_TEST_RUNS_SCALE: '10', BOOKTAPE_FUZZ_REQUESTS: '20000' },
    setupFiles: ['test/setup-env.ts'],
    globalSetup: ['test/build.global.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
