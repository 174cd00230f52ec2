import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, CLX5 } from '../helpers.js';
import { archiveOf, startFakeDatabento, type FakeDatabento } from './service.js';

/** `booktape ingest` of a Databento request, as a user runs it, against the local service. */
const KEY = 'db-CliTestKeyThatMustStayHidden006';
let service: FakeDatabento;

beforeAll(async () => {
  service = await startFakeDatabento({ key: KEY, archive: archiveOf(CLX5) });
});
afterAll(async () => service?.close());

const run = (env: Record<string, string>, ...args: string[]) =>
  promisify(execFile)('node', [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('booktape ingest --databento', () => {
  it('ingests one day and prints the summary with its cost; over the limit it stops before downloading; the key shows nowhere', async () => {
    const env = {
      BOOKTAPE_DUCKDB_PATH: join(mkdtempSync(join(tmpdir(), 'booktape-cli-databento-')), 'store.duckdb'),
      DATABENTO_API_KEY: KEY, BOOKTAPE_DATABENTO_URL: service.url, LOG_LEVEL: 'trace', BOOKTAPE_PROGRESS_MS: '100',
    };
    const request = ['--databento', 'GLBX.MDP3', '--symbols', 'CLX5', '--start', '2025-09-24', '--end', '2025-09-25'];
    const ok = await run(env, 'ingest', ...request);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      source: 'databento:GLBX.MDP3/mbo?stype_in=raw_symbol&symbols=CLX5&start=2025-09-24T00:00:00Z&end=2025-09-25T00:00:00Z',
      records: 38_212, snapshots: 32_053, trades: 1_599, billable_bytes: 38_212 * 56, cost_usd: expect.any(Number),
    });
    const refused = await run({ ...env, BOOKTAPE_DATABENTO_MAX_COST_USD: '0.05' }, 'ingest', ...request);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/error \[DATABENTO_COST_LIMIT\]: GLBX\.MDP3 mbo CLX5 \(raw_symbol\) .* would cost \$0\.21 .*BOOKTAPE_DATABENTO_MAX_COST_USD=0\.05/);
    const usage = await run(env, 'ingest', 'x.dbn', '--databento', 'GLBX.MDP3');
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringContaining('give a source or --databento, not both')]);
    for (const r of [ok, refused, usage]) expect(r.stdout + r.stderr).not.toContain(KEY);
  }, 120_000);
});
