import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative as relativePath } from 'node:path';
import { randomBytes } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import type { SnapshotStore } from '../../src/store/port.js';
import { rebuild } from '../../src/book/rebuild.js';
import { openDbnFile } from '../../src/dbn/index.js';
import { StoreError } from '../../src/store/port.js';
import { enqueueIngest, ingestQueue, INGEST_QUEUE, readIngestJob, redisConnection } from '../../jobs/queue.js';
import { stallCheckMs, startWorker, type RunningWorker } from '../../jobs/worker.js';
import { RedisIngestJobs } from '../../jobs/ingest-jobs.js';
import type { IngestSummaryJson } from '../../src/pipeline/summary-json.js';
import { CLI, CLX5, waitFor } from '../helpers.js';
import { duckdbRuns, failingWrites } from '../store/runs.js';
import { startServer } from '../../src/api/server.js';
import { createMetrics } from '../../src/api/metrics.js';

const silent = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function setup(extra: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'booktape-jobs-'));
  const env = {
    BOOKTAPE_STORE: 'duckdb',
    REDIS_URL: 'redis://127.0.0.1:6379',
    BOOKTAPE_QUEUE_PREFIX: `bt-test-${randomBytes(6).toString('hex')}`,
    BOOKTAPE_DUCKDB_PATH: join(dir, 'store.duckdb'),
    BOOKTAPE_DATA_ROOTS: dir,
    BOOKTAPE_INBOX: join(dir, 'inbox'),
    BOOKTAPE_JOB_BACKOFF_MS: '50',
    BOOKTAPE_JOB_LOCK_MS: '2000',
    LOG_LEVEL: 'silent',
    ...extra,
  };
  const config = loadConfig(env);
  const file = join(dir, 'clx5.dbn');
  copyFileSync(CLX5, file);
  const queue = ingestQueue(config);
  cleanups.push(async () => { await queue.obliterate({ force: true }).catch(() => undefined); await queue.close(); });
  return { dir, env, config, file, queue };
}

async function inProcessWorker(config: Config, store: SnapshotStore): Promise<RunningWorker> {
  await store.init();
  const w = await startWorker(config, store, silent);
  cleanups.push(async () => { await w.close(); await store.close(); });
  return w;
}

/** GET /v1/jobs/{id} as a client sees it, from an API server on the test's queue (the store only lists instruments). */
async function jobsApi(config: Config, store: SnapshotStore) {
  const jobs = new RedisIngestJobs(config);
  await jobs.queue.waitUntilReady(); // until Redis is connected, job routes answer 503
  const server = await startServer({ config: { ...config, port: 0, tcpPort: 0 }, store, jobs, metrics: createMetrics(jobs, store), log: silent });
  cleanups.push(async () => { await server.close(); await jobs.close(); });
  return async (id: string) => (await fetch(`http://127.0.0.1:${server.httpPort}/v1/jobs/${id}`)).json() as Promise<Record<string, unknown>>;
}

describe('ingest jobs on a real Redis (BullMQ)', () => {
  it('enqueue -> worker -> every snapshot in the store; enqueueing again returns the same job', async () => {
    const { config, file, queue } = setup();
    const store = new DuckDbStore(config.duckdbPath);
    await inProcessWorker(config, store);
    const events = new QueueEvents(INGEST_QUEUE, { connection: redisConnection(config), prefix: config.queuePrefix });
    cleanups.push(() => events.close());
    const { job, existing } = await enqueueIngest(queue, { source: file });
    expect(existing).toBe(false);
    const summary = await job.waitUntilFinished(events, 60_000) as IngestSummaryJson;
    expect(summary.snapshots).toBe(32_053);
    expect(await store.countSnapshots()).toBe(32_053);
    const book = await store.bookAt('CLX5');
    expect(book?.bids.slice(0, 3)).toEqual([65_400_000_000, 1, 1]);
    const again = await enqueueIngest(queue, { source: file });
    expect(again.existing).toBe(true);
    expect(again.job.id).toBe(job.id);
    expect(await queue.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 0, active: 0, delayed: 0 });
  });

  it('a job is one source\'s content: a rewritten file is a new job, the same file by another path is not, and force queues a rerun', async () => {
    const { dir, file, queue } = setup();
    const first = await enqueueIngest(queue, { source: file });
    expect(first.job.data.source).toBe(file);
    expect((await enqueueIngest(queue, { source: join(dir, '..', basename(dir), '.', 'clx5.dbn') })).job.id).toBe(first.job.id);
    const relative = await enqueueIngest(queue, { source: relativePath(process.cwd(), file) });
    expect(relative.job.id).toBe(first.job.id);
    expect(relative.existing).toBe(true);

    writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.alloc(0)]).subarray(0, 100_000)); // rewritten in place
    const rewritten = await enqueueIngest(queue, { source: file });
    expect(rewritten.existing).toBe(false);
    expect(rewritten.job.id).not.toBe(first.job.id);
    expect(rewritten.job.data.source).toBe(file);

    const forced = await enqueueIngest(queue, { source: file }, { force: true });
    expect(forced.existing).toBe(false);
    expect(forced.job.id).not.toBe(rewritten.job.id);
    expect((await enqueueIngest(queue, { source: file })).job.id).toBe(rewritten.job.id);
  });

  it('rejects bad job data', async () => {
    const { queue } = setup();
    await expect(enqueueIngest(queue, { source: '' })).rejects.toThrow();
    await expect(enqueueIngest(queue, { source: 'x', sha256: 'nothex' })).rejects.toThrow();
  });

  it('a job that fails twice part-way, then succeeds, ends with the same rows as a clean run', async () => {
    // Small write batches, so that CLX5 takes several and the third can fail.
    const { config, file, queue } = setup({ BOOKTAPE_JOB_ATTEMPTS: '3', BOOKTAPE_WRITE_BATCH_ROWS: '4096' });
    const real = new DuckDbStore(config.duckdbPath);
    let attempt = 0;
    let batchesThisAttempt = 0;
    // Failure injection around the real store: the third batch of attempts 1 and 2 fails.
    const flaky = failingWrites(real, () => ++batchesThisAttempt === 3 && attempt <= 2);
    const w = await inProcessWorker(config, flaky);
    w.ingest.on('active', () => { attempt++; batchesThisAttempt = 0; });
    const events = new QueueEvents(INGEST_QUEUE, { connection: redisConnection(config), prefix: config.queuePrefix });
    cleanups.push(() => events.close());
    const { job } = await enqueueIngest(queue, { source: file });
    await job.waitUntilFinished(events, 60_000);
    const done = await queue.getJob(job.id!);
    expect(done?.attemptsMade).toBe(3);
    expect(attempt).toBe(3);
    expect(await real.countSnapshots()).toBe(32_053);
    // Completed: no error, but the failed attempts' error is there, labelled as such.
    expect(await (await jobsApi(config, real))(job.id!)).toMatchObject({
      state: 'completed', attempts_made: 3, attempts_stalled: 0, error: null, last_attempt_error: '[STORE_WRITE_FAILED] injected failure',
    });
  });

  it('a bad file fails at once with its code, without retries', async () => {
    const { config, dir, queue } = setup({ BOOKTAPE_JOB_ATTEMPTS: '3' });
    const store = new DuckDbStore(config.duckdbPath);
    await inProcessWorker(config, store);
    const trades = join(dir, 'trades.dbn');
    copyFileSync(new URL('../fixtures/test_data.trades.dbn', import.meta.url), trades);
    const { job } = await enqueueIngest(queue, { source: trades });
    const failed = await waitFor('the job to fail', async () => ((await job.getState()) === 'failed' ? queue.getJob(job.id!) : null));
    expect(failed?.failedReason).toContain('[NOT_MBO]');
    expect(failed?.attemptsMade).toBe(1);
  });

  it('a job\'s progress reads as an object before its run starts, and after a run that failed before decoding', async () => {
    const { config, file, queue } = setup();
    const jobs = new RedisIngestJobs(config);
    cleanups.push(() => jobs.close());
    await jobs.queue.waitUntilReady();
    const { job } = await enqueueIngest(queue, { source: file }); // no worker: it waits
    expect(await job.getState()).toBe('waiting');
    expect(job.progress).toBe(0); // what BullMQ stores until a run reports
    const none = { records: 0, bytes: 0, totalBytes: null, percent: 0 };
    expect(await jobs.read(job.id!)).toMatchObject({ state: 'waiting', progress: none });
    // The file goes before a worker takes the job: its run fails before decoding anything.
    rmSync(file);
    await inProcessWorker(config, new DuckDbStore(config.duckdbPath));
    await waitFor('the job to fail', async () => (await job.getState()) === 'failed');
    expect(await jobs.read(job.id!)).toMatchObject({ state: 'failed', error: expect.stringContaining('[SOURCE_NOT_FOUND]'), progress: none });
  });

  it('a job read while it moves (retried between its fields and its state) reads as one consistent job', async () => {
    const { config, dir, queue } = setup();
    await inProcessWorker(config, new DuckDbStore(config.duckdbPath));
    const trades = join(dir, 'trades.dbn');
    copyFileSync(new URL('../fixtures/test_data.trades.dbn', import.meta.url), trades);
    const { job } = await enqueueIngest(queue, { source: trades });
    await waitFor('the job to fail', async () => (await job.getState()) === 'failed');
    expect((await readIngestJob(queue, job.id!))).toMatchObject({ state: 'failed', job: { failedReason: expect.stringContaining('[NOT_MBO]') } });
    await queue.pause(); // the retried job then stays put
    // Forced interleave: the job is retried right after its fields were read.
    let retried = false;
    const racing = new Proxy(queue, {
      get(target, key) {
        if (key === 'getJob' && !retried) {
          return async (id: string) => {
            const fields = await target.getJob(id);
            retried = true;
            await (await target.getJob(id))!.retry();
            return fields;
          };
        }
        const v = Reflect.get(target, key, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const reading = await readIngestJob(racing, job.id!);
    expect(retried).toBe(true);
    expect(reading?.state).not.toBe('failed');
    expect(reading?.job.failedReason ?? null).toBeNull(); // not the stale error of the failed attempt
    expect(await readIngestJob(queue, 'no-such-job')).toBeNull();
  });

  it('a worker killed (SIGKILL) mid-file leaves a job another worker finishes, with no duplicate rows; SIGTERM stops a worker cleanly', async () => {
    const { config, env, dir, queue } = setup();
    const big = join(dir, 'big.dbn');
    const synth = spawn('node', [CLI, 'synth', big, '--records', '600000', '--seed', '9'], { stdio: 'ignore' });
    await new Promise((r) => synth.on('exit', r));
    let expected = 0;
    await rebuild(await openDbnFile(big), { policy: { depth: 10, intervalNs: 0 }, onCaptured: (s) => { expected += s.length; } });

    /** A worker process, and when it logged that it is ready (it takes jobs from then on). */
    const startChild = (): ChildProcess & { ready: Promise<number> } => {
      const child = spawn('node', [CLI, 'worker'], { env: { ...process.env, ...env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
      cleanups.push(async () => { if (child.exitCode === null) child.kill('SIGKILL'); });
      const ready = new Promise<number>((resolve) => {
        child.stderr!.on('data', (b: Buffer) => { if (b.toString().includes('"msg":"worker ready"')) resolve(Date.now()); });
      });
      return Object.assign(child, { ready });
    };
    const first = startChild();
    const { job } = await enqueueIngest(queue, { source: big });
    const killed = await waitFor('progress from the first worker', async () => {
      const p = (await queue.getJob(job.id!))?.progress as { records?: number; snapshots?: number; runId?: string } | undefined;
      return (p?.snapshots ?? 0) > 20_000 ? p : null;
    });
    first.kill('SIGKILL');
    await new Promise((r) => first.on('exit', r));
    const killedAt = Date.now();
    expect(await job.getState()).toBe('active'); // its lock will lapse

    const second = startChild();
    await waitFor('the second worker to take the job over', async () => {
      const p = (await queue.getJob(job.id!))?.progress as { runId?: string } | undefined;
      return p?.runId !== undefined && p.runId !== killed.runId;
    });
    // Taken over within the lock and one stall check of the kill (docs/operations.md), or of the
    // second worker's start when that came later (DuckDB's file takes one process at a time).
    expect(Date.now() - Math.max(killedAt, await second.ready)).toBeLessThan(config.jobLockMs + stallCheckMs(config.jobLockMs) + 1000);
    await waitFor('the job to complete on the second worker', async () => (await job.getState()) === 'completed', 120_000);
    second.kill('SIGTERM');
    const code = await new Promise((r) => second.on('exit', r));
    expect(code).toBe(0);

    // Two runs: the killed one, the one that completed; and the killed one is recorded.
    const runs = await duckdbRuns(config.duckdbPath);
    expect(runs).toHaveLength(2);
    const [abandoned, succeeded] = runs;
    expect(abandoned).toMatchObject({ run_id: killed.runId, status: 'abandoned', source: big, error: expect.stringMatching(/^\[WORKER_LOST\] /) });
    // What its last progress report said: at least what the test saw before the kill.
    expect(abandoned.records).toBeGreaterThanOrEqual(killed.records!);
    expect(abandoned.snapshots).toBeGreaterThanOrEqual(killed.snapshots!);
    expect(abandoned.snapshots).toBeLessThan(expected);
    expect(succeeded).toMatchObject({ status: 'succeeded', snapshots: expected, error: null });

    const store = new DuckDbStore(config.duckdbPath);
    await store.init();
    cleanups.push(() => store.close());
    expect(await store.countSnapshots()).toBe(expected);
    expect(await (await jobsApi(config, store))(job.id!)).toMatchObject({ state: 'completed', attempts_made: 2, attempts_stalled: 1, error: null });
  }, 180_000);

  it('booktape worker serves its ingest metrics and readiness on BOOKTAPE_METRICS_PORT: jobs by outcome, records, rows, durations', async () => {
    // The default lock: the suite's 2 s one can lapse on a loaded machine, and a job run twice counts twice.
    const { env, dir, file, queue } = setup({ BOOKTAPE_METRICS_PORT: '0', LOG_LEVEL: 'info', BOOKTAPE_JOB_LOCK_MS: '30000' });
    const child = spawn('node', [CLI, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    cleanups.push(async () => { if (child.exitCode === null) child.kill('SIGKILL'); });
    // The port (0 = any free one) is in the 'worker ready' log line.
    let out = '';
    child.stderr!.on('data', (b: Buffer) => { out += b.toString(); }); // pino logs to stderr
    const url = await waitFor('the worker to log its metrics URL', async () => /"metrics":"(http:[^"]+)"/.exec(out)?.[1]);
    const metric = async (line: string) => {
      const text = await (await fetch(url)).text();
      const m = new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
      return m === null ? undefined : Number(m[1]);
    };

    const { job } = await enqueueIngest(queue, { source: file });
    await waitFor('the job to complete', async () => (await job.getState()) === 'completed');
    const summary = (await queue.getJob(job.id!))!.returnvalue as IngestSummaryJson;
    expect(await metric('booktape_ingest_jobs_total{outcome="completed"}')).toBe(1);
    expect(await metric('booktape_ingest_records_total')).toBe(summary.records);
    expect(await metric('booktape_ingest_snapshots_total')).toBe(32_053);
    expect(await metric('booktape_ingest_trades_total')).toBe(summary.trades);
    expect(await metric('booktape_ingest_job_duration_seconds_count{outcome="completed"}')).toBe(1);
    expect(await metric('booktape_process_resident_memory_bytes')).toBeGreaterThan(0);

    const bad = join(dir, 'bad.dbn');
    writeFileSync(bad, 'not a DBN file');
    const failing = (await enqueueIngest(queue, { source: bad })).job;
    await waitFor('the bad file to fail', async () => (await failing.getState()) === 'failed');
    expect(await metric('booktape_ingest_jobs_total{outcome="failed"}')).toBe(1);
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);
    const ready = await fetch(url.replace('/metrics', '/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { store: 'ok', redis: 'ok' } });

    child.kill('SIGTERM');
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
  });

  it('the scheduler picks up a new inbox file exactly once', async () => {
    const { config, file, queue } = setup({ BOOKTAPE_SCAN_EVERY: '200ms' });
    mkdirSync(config.inbox, { recursive: true });
    const store = new DuckDbStore(config.duckdbPath);
    await inProcessWorker(config, store);
    copyFileSync(file, join(config.inbox, 'CLX5_mbo.dbn'));
    await waitFor('one completed ingest', async () => (await queue.getJobCounts('completed')).completed === 1);
    await new Promise((r) => setTimeout(r, 1500)); // several more scans
    const counts = await queue.getJobCounts('completed', 'waiting', 'active', 'delayed', 'failed');
    expect(counts).toEqual({ completed: 1, waiting: 0, active: 0, delayed: 0, failed: 0 });
    expect(await store.countSnapshots()).toBe(32_053);
  });
});
