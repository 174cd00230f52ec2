import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { enqueueIngest, ingestQueue } from '../../jobs/queue.js';
import { CLI, CLX5, waitFor } from '../helpers.js';

/**
 * A worker's store that stops taking writes (immutable files, then a
 * deleted directory). `chattr +i` needs root and a filesystem with inode
 * flags (ext4, xfs): where it is refused, the test says so and is skipped.
 */
function immutableFlagsWork(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'booktape-chattr-'));
  const f = join(dir, 'probe');
  writeFileSync(f, 'x');
  try {
    execFileSync('chattr', ['+i', f], { stdio: 'ignore' });
    execFileSync('chattr', ['-i', f], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const chattr = immutableFlagsWork();
if (!chattr) console.warn('skipped: chattr +i is not permitted here (needs root and ext4/xfs); the worker store-write test did not run');

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
describe.skipIf(!chattr)('a worker whose store does not take writes', () => {
  it('is not ready and takes no job (none fails) while its store files are immutable; takes it once they are writable; a deleted store is not ready', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'booktape-store-writes-'));
    const storeDir = join(dir, 'store');
    mkdirSync(storeDir);
    const file = join(dir, 'clx5.dbn');
    copyFileSync(CLX5, file);
    const env = {
      REDIS_URL: 'redis://127.0.0.1:6379', BOOKTAPE_QUEUE_PREFIX: `bt-store-${randomBytes(6).toString('hex')}`,
      BOOKTAPE_DUCKDB_PATH: join(storeDir, 'store.duckdb'), BOOKTAPE_DATA_ROOTS: dir, BOOKTAPE_METRICS_PORT: '0', LOG_LEVEL: 'info',
      BOOKTAPE_JOB_ATTEMPTS: '1', BOOKTAPE_SHUTDOWN_MS: '5000',
    };
    const queue = ingestQueue(loadConfig(env));
    cleanups.push(async () => { await queue.obliterate({ force: true }).catch(() => undefined); await queue.close(); });
    const worker = spawn('node', [CLI, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    worker.stderr.on('data', (b: Buffer) => { log += b.toString(); });
    cleanups.push(() => { if (worker.exitCode === null) worker.kill('SIGKILL'); });
    const readyz = (await waitFor('the worker to be ready', () => /"metrics":"(http:[^"]+)".*"msg":"worker ready"/.exec(log)?.[1], 90_000)).replace('/metrics', '/readyz');
    expect((await fetch(readyz)).status).toBe(200);

    const immutable = (on: boolean) => execFileSync('sh', ['-c', `chattr ${on ? '+' : '-'}i "${storeDir}" "${storeDir}"/*`], { stdio: 'ignore' });
    immutable(true);
    cleanups.push(() => { try { immutable(false); } catch { /* already */ } });
    const notReady = await fetch(readyz);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { checks: { store: string } }).checks.store).toMatch(/not permitted|STORE|DuckDB/i);

    const { job } = await enqueueIngest(queue, { source: file });
    await waitFor('the worker to refuse the job to itself', () => log.includes('store does not take writes'), 30_000);
    await sleep(2_000);
    expect(['waiting', 'delayed', 'prioritized']).toContain(await job.getState()); // not failed, not lost

    immutable(false);
    await waitFor('the job to complete', async () => (await job.getState()) === 'completed', 90_000);
    expect(log).toContain('store takes writes again');
    expect((await fetch(readyz)).status).toBe(200);

    rmSync(storeDir, { recursive: true, force: true });
    const gone = await fetch(readyz);
    expect(gone.status).toBe(503);
    expect(((await gone.json()) as { checks: { store: string } }).checks.store).toContain('is gone');
  }, 240_000);
});
