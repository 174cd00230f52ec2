import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`, run by .ci/run after `npm test`):
 * workers killed mid-ingest, Redis stopped, hung and restarted (a
 * redis-server of the test's own), the store unwritable. Its files run one
 * at a time: each case times its faults against running processes.
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
