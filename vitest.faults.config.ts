import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`, run by .ci/run after `npm test`):
 * workers killed, Redis stopped, the store unwritable, mid-ingest. Its files
 * run one at a time: each case times its faults against a running ingest.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.fault.ts'],
    globalSetup: ['test/build.global.ts'],
    testTimeout: 400_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: ['default'],
  },
});
