import { availableParallelism, loadavg } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import { propertyTimeout } from './test/property.js';

/**
 * `npm test`: the suite every change runs. Its slow searches and faults have
 * scripts of their own, which CI (.ci/run) runs after it: `npm run
 * test:faults` (workers killed, Redis stopped or hung, the store unwritable)
 * and `npm run test:deep` (the property and fuzz tests, searched deeper).
 *
 * Files run several at a time: most of a file's time is spent waiting on
 * child processes, sockets, Redis and timers, not computing, so more files
 * than cores keep the machine busy. Each file has its own queue prefix,
 * store and ports, so files share nothing but the Redis on 6379. The few
 * that time the machine itself (the book page's frame budgets) or share one
 * external server (QuestDB) run afterwards, one at a time.
 */
const SERIAL = ['test/web/page.test.ts', 'test/store/questdb*.test.ts'];
/**
 * Files at once: BOOKTAPE_TEST_WORKERS, else one more than the cores (at
 * most 6) on a machine with cores to spare. On one already busier than its
 * cores (a 1-minute load above their number), one: more files there only
 * stretch the waits that tests bound in time, and the run fails, not speeds up.
 */
const cores = availableParallelism();
const WORKERS = Number(process.env.BOOKTAPE_TEST_WORKERS) || (loadavg()[0] > cores ? 1 : Math.min(6, cores + 1));

export default defineConfig({
  test: {
    // Tests choose their store explicitly: the user's QDB_CLIENT_CONF is hidden from them.
    setupFiles: ['test/setup-env.ts'],
    // The tests run dist/ too (worker threads, the CLI): build it from these sources first, if they changed.
    globalSetup: ['test/build.global.ts'],
    // Longer when BOOKTAPE_TEST_RUNS_SCALE deepens the property tests.
    testTimeout: propertyTimeout(60_000),
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'parallel', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...SERIAL], maxWorkers: WORKERS } },
      { extends: true, test: { name: 'serial', include: SERIAL, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
