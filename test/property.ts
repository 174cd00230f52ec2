/**
 * fast-check parameters for a property test: the runs and seed it uses in
 * every test run (fixed, so CI is reproducible), scaled for a deeper search
 * on demand:
 *
 *   BOOKTAPE_TEST_RUNS_SCALE=20 BOOKTAPE_TEST_SEED=701 npx vitest run test/store
 *
 * multiplies every property's runs by 20 and replaces its seed (each property
 * still gets its own: the seed given plus its everyday one). A failure prints
 * the seed and path that replay it. Timeouts of property tests scale too.
 */
const scale = positive('BOOKTAPE_TEST_RUNS_SCALE') ?? 1;
const seedBase = positive('BOOKTAPE_TEST_SEED', true);

export function propertyRuns(numRuns: number, seed: number): { numRuns: number; seed: number } {
  return { numRuns: Math.ceil(numRuns * scale), seed: seedBase === undefined ? seed : seedBase + seed };
}

/** A property test's timeout, in ms, grown with its runs. */
export function propertyTimeout(ms: number): number {
  return Math.ceil(ms * scale);
}

function positive(name: string, integer = false): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!(n > 0) || (integer ? !Number.isSafeInteger(n) || n > 2 ** 31 : !Number.isFinite(n))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer below 2^31' : 'number'}, not ${JSON.stringify(text)}`);
  }
  return n;
}
