import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { databentoSource, dayRequest, utcDayOf } from '../../src/databento-request.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { RedisIngestJobs } from '../../jobs/ingest-jobs.js';
import { SCAN_QUEUE, ingestJobId, ingestQueue, redisConnection } from '../../jobs/queue.js';
import { runDatabentoSchedule, scheduledDays } from '../../jobs/databento-schedule.js';
import { startWorker } from '../../jobs/worker.js';
import { scanInbox } from '../../jobs/scan.js';
import { CLI, CLX5 } from '../helpers.js';
import { archiveOf, startFakeDatabento, type FakeDatabento } from './service.js';

/**
 * The Databento schedule and backfill: which days they queue, and which they
 * leave (ingested, already queued, not yet available), on a real Redis
 * against the local service, whose archive holds 2025-09-24 to 2025-09-26.
 */
const KEY = 'db-ScheduleTestKeyNeverShown00005';
const BASE = { dataset: 'GLBX.MDP3', symbols: ['CLX5'], stype_in: 'raw_symbol' as const };
const day = (d: string) => databentoSource(dayRequest(BASE, d));
let service: FakeDatabento;

beforeAll(async () => {
  service = await startFakeDatabento({ key: KEY, archive: archiveOf(CLX5, [0, 1, 2]) });
});
afterAll(async () => service?.close());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function envFor(extra: Record<string, string> = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'booktape-schedule-'));
  return {
    REDIS_URL: 'redis://127.0.0.1:6379',
    BOOKTAPE_QUEUE_PREFIX: `bt-test-${randomBytes(6).toString('hex')}`,
    BOOKTAPE_DUCKDB_PATH: join(dir, 'store.duckdb'),
    BOOKTAPE_JOB_BACKOFF_MS: '50',
    DATABENTO_API_KEY: KEY,
    BOOKTAPE_DATABENTO_URL: service.url,
    BOOKTAPE_DATABENTO_DATASET: 'GLBX.MDP3',
    BOOKTAPE_DATABENTO_SYMBOLS: 'CLX5',
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

async function queueFor(config: Config) {
  const queue = ingestQueue(config);
  cleanups.push(async () => { await queue.obliterate({ force: true }).catch(() => undefined); await queue.close(); });
  return queue;
}

describe('the Databento schedule', () => {
  it('the date rule: the last N whole UTC days before today, oldest first', () => {
    expect(scheduledDays(1, new Date('2025-09-27T02:00:00Z'))).toEqual(['2025-09-26']);
    expect(scheduledDays(3, new Date('2025-09-27T00:00:00Z'))).toEqual(['2025-09-24', '2025-09-25', '2025-09-26']);
    expect(scheduledDays(2, new Date('2025-03-01T23:59:59Z'))).toEqual(['2025-02-27', '2025-02-28']);
  });

  it('queues the rule\'s days once each, skipping days ingested, days queued before and days the dataset does not hold yet', async () => {
    const config = loadConfig(envFor({ BOOKTAPE_DATABENTO_DAYS: '5' }));
    const queue = await queueFor(config);
    const store = new DuckDbStore(config.duckdbPath);
    await store.init();
    cleanups.push(() => store.close());
    // 2025-09-25 was ingested; 2025-09-27 is past the end of the dataset's available range.
    const now = new Date();
    await store.recordRun({
      runId: 'earlier', source: day('2025-09-25'), sha256: 'ab'.repeat(32), dataset: 'GLBX.MDP3', schema: 'mbo', symbols: ['CLX5'],
      records: 1, snapshots: 1, trades: 0, anomalies: {}, startedAt: now, finishedAt: now, status: 'succeeded', error: null,
    });
    const ranges = service.requests.filter((r) => r.path === 'metadata.get_dataset_range').length;
    const first = await runDatabentoSchedule(config, store, queue, new Date('2025-09-28T02:00:00Z'));
    expect(first).toEqual({ queued: ['2025-09-23', '2025-09-24', '2025-09-26'], skipped: ['2025-09-25'], notYetAvailable: ['2025-09-27'] });
    expect(service.requests.filter((r) => r.path === 'metadata.get_dataset_range').length).toBe(ranges + 1);
    const waiting = await queue.getJobs(['waiting']);
    expect(waiting.map((j) => j.data.source).sort()).toEqual([day('2025-09-23'), day('2025-09-24'), day('2025-09-26')]);
    expect(waiting.every((j) => !JSON.stringify(j.data).includes(KEY))).toBe(true);

    // The next run: nothing new (the days' jobs exist; BullMQ keeps finished ones for days, the store for good).
    const second = await runDatabentoSchedule(config, store, queue, new Date('2025-09-28T02:00:00Z'));
    expect(second).toEqual({ queued: [], skipped: ['2025-09-23', '2025-09-24', '2025-09-25', '2025-09-26'], notYetAvailable: ['2025-09-27'] });
  });

  it('the inbox scanner queues a databento: source of BOOKTAPE_SCAN_URLS once, under its text form', async () => {
    const given = 'databento:glbx.mdp3/mbo?symbols=CLX5&start=2025-09-24&end=2025-09-25';
    const config = loadConfig(envFor({ BOOKTAPE_SCAN_URLS: given, BOOKTAPE_INBOX: join(mkdtempSync(join(tmpdir(), 'booktape-inbox-')), 'inbox') }));
    const queue = await queueFor(config);
    const store = new DuckDbStore(config.duckdbPath);
    await store.init();
    cleanups.push(() => store.close());
    expect(await scanInbox(config, store, queue)).toEqual({ queued: [given], skipped: 0 });
    expect(await scanInbox(config, store, queue)).toEqual({ queued: [], skipped: 1 });
    expect((await queue.getJobs(['waiting'])).map((j) => j.data.source)).toEqual([day('2025-09-24')]);
  });

  it('runs on its cron in the worker as a BullMQ job scheduler: yesterday\'s job appears in the queue and reads through /v1/jobs; turned off, the scheduler goes', async () => {
    const env = envFor({ BOOKTAPE_DATABENTO_CRON: '* * * * * *' });
    const config = loadConfig(env);
    const queue = await queueFor(config);
    // The service holds up to the end of today, so yesterday is available (and has no data: its job fails for good).
    const today = BigInt(Date.now()) * 1_000_000n;
    service.availableEnd = today - (today % 86_400_000_000_000n) + 86_400_000_000_000n;
    cleanups.push(async () => { service.availableEnd = 1_758_931_200_000_000_000n; }); // back to the end of 2025-09-26
    const store = new DuckDbStore(config.duckdbPath);
    await store.init();
    const worker = await startWorker(config, store, pino({ level: 'silent' }));
    cleanups.push(async () => { await worker.close(); await store.close(); });
    const yesterday = day(utcDayOf(today - 86_400_000_000_000n));
    const id = ingestJobId({ source: yesterday });
    const jobs = new RedisIngestJobs(config);
    cleanups.push(() => jobs.close());
    let view = null;
    for (let i = 0; i < 100 && (view === null || view.state !== 'failed'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      view = await jobs.read(id).catch(() => null);
    }
    expect(view).toMatchObject({ id, source: yesterday, state: 'failed', error: expect.stringMatching(/^\[DATABENTO_NO_DATA\]/) });
    const scan = new Queue(SCAN_QUEUE, { connection: redisConnection(config), prefix: config.queuePrefix });
    cleanups.push(() => scan.close());
    expect((await scan.getJobSchedulers()).map((s) => [s.key, s.pattern, s.tz])).toEqual([['databento-schedule', '* * * * * *', 'UTC']]);
    await worker.close();
    const off = await startWorker(loadConfig({ ...env, BOOKTAPE_DATABENTO_CRON: '', BOOKTAPE_SCAN_EVERY: '60m' }), store, pino({ level: 'silent' }));
    cleanups.push(() => off.close());
    expect((await scan.getJobSchedulers()).map((s) => s.key)).toEqual(['inbox-scan']);
  });
});

describe('booktape backfill', () => {
  const run = (env: Record<string, string>, ...args: string[]) =>
    promisify(execFile)('node', [CLI, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('queues one job per UTC day of the range, once; checks the request before queueing anything', async () => {
    const env = envFor();
    const config = loadConfig(env);
    const queue = await queueFor(config);
    const first = await run(env, 'backfill', '2025-09-24', '2025-09-26');
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.trim().split('\n').map((l) => JSON.parse(l) as { day: string; job_id: string; existing: boolean });
    expect(lines.map((l) => [l.day, l.existing])).toEqual([['2025-09-24', false], ['2025-09-25', false], ['2025-09-26', false]]);
    expect((await queue.getJob(lines[0].job_id))!.data).toEqual({ source: day('2025-09-24') });
    const again = await run(env, 'backfill', '2025-09-24', '2025-09-25', '--databento', 'GLBX.MDP3', '--symbols', 'CLX5');
    expect(again.stdout.trim().split('\n').map((l) => JSON.parse(l).existing)).toEqual([true, true]);
    const forced = await run(env, 'backfill', '2025-09-24', '2025-09-24', '--force');
    expect(JSON.parse(forced.stdout)).toMatchObject({ existing: false });
    expect((await queue.getJob(JSON.parse(forced.stdout).job_id))!.data).toEqual({ source: day('2025-09-24'), force: true });

    const bad = await run(env, 'backfill', '2025-09-26', '2025-09-24');
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('[BAD_DAY]')]);
    const unnamed = await run({ ...env, BOOKTAPE_DATABENTO_DATASET: '', BOOKTAPE_DATABENTO_SYMBOLS: '' }, 'backfill', '2025-09-24', '2025-09-24');
    expect([unnamed.code, unnamed.stderr]).toEqual([2, expect.stringContaining('--databento DATASET --symbols')]);
    const stype = await run(env, 'backfill', '2025-09-24', '2025-09-24', '--stype-in', 'isin');
    expect([stype.code, stype.stderr]).toEqual([2, expect.stringContaining('[BAD_DATABENTO_REQUEST]: Databento request: stype_in')]);
    expect(await queue.count()).toBe(4);
  });
});
