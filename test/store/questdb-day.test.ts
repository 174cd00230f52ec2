/**
 * A trading day on a real QuestDB, as an operator meets it: a second file
 * into a day that already holds rows (QuestDB merges it in, and the ingest
 * must wait for that however long it takes while it makes progress), a WAL
 * that stops, and an outage the writes ride out, seen in a worker's log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ingest } from '../../src/pipeline/ingest.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import type { StoreLog } from '../../src/store/port.js';
import { enqueueIngest, ingestQueue } from '../../jobs/queue.js';
import { RedisIngestJobs } from '../../jobs/ingest-jobs.js';
import { CLI } from '../helpers.js';
import { NO_QDB, qdbConf } from '../questdb.js';
import { freshQuestDb, proxyTo } from './questdb-server.js';
import { questdbRuns } from './runs.js';

const dir = mkdtempSync(join(tmpdir(), 'booktape-qdb-day-'));
const policy = { dataRoots: [dir], allowHosts: [], maxBytes: Infinity, timeoutMs: 10_000, maxRedirects: 0 };
const snapshotPolicy = { depth: 10, intervalNs: 0 };

/** A synthetic day file; every seed starts at the same instant, so a second file lands among the first one's rows. */
async function synth(name: string, records: number, seed: number): Promise<string> {
  const path = join(dir, name);
  const p = spawn('node', [CLI, 'synth', path, '--records', String(records), '--seed', String(seed), '--instruments', '8'], { stdio: 'ignore' });
  await new Promise((r) => p.on('exit', r));
  return path;
}

/** Rows of a clean run of the files, one after the other, into a fresh embedded store. */
async function serialCount(files: string[]): Promise<number> {
  const store = new DuckDbStore(join(mkdtempSync(join(tmpdir(), 'booktape-serial-')), 'serial.duckdb'));
  await store.init();
  for (const f of files) await ingest(f, { store, sourcePolicy: policy, snapshotPolicy });
  const n = await store.countSnapshots();
  await store.close();
  return n;
}

/**
 * Whether the server lets a test suspend a table's WAL (ALTER TABLE ...
 * SUSPEND WAL needs QuestDB's dev mode, `dev.mode.enabled=true`): the
 * tests that stop QuestDB's applying skip, saying so, where it does not.
 */
async function suspendable(): Promise<boolean> {
  const store = await freshQuestDb();
  try {
    await store.exec('ALTER TABLE ingest_runs SUSPEND WAL');
    await store.exec('ALTER TABLE ingest_runs RESUME WAL');
    return true;
  } catch {
    return false;
  } finally {
    await store.close();
  }
}
const CAN_SUSPEND = qdbConf ? await suspendable() : false;
const NO_SUSPEND = !qdbConf ? NO_QDB : CAN_SUSPEND ? '' : ' (skipped: this QuestDB refuses ALTER TABLE ... SUSPEND WAL; it needs dev.mode.enabled=true)';

/** A day's file and a late file of the same day (made when first asked for), and the rows a clean run of both stores. */
let dayFiles: Promise<{ day: string; late: string; expected: number }> | undefined;
function sameDay() {
  dayFiles ??= (async () => {
    const day = await synth('day.dbn', 400_000, 31);
    const late = await synth('late.dbn', 300_000, 32);
    return { day, late, expected: await serialCount([day, late]) };
  })();
  return dayFiles;
}

function captured() {
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown>; at: number }> = [];
  const log: StoreLog = {
    info: (fields, msg) => lines.push({ level: 'info', msg, fields, at: Date.now() }),
    warn: (fields, msg) => lines.push({ level: 'warn', msg, fields, at: Date.now() }),
  };
  return { lines, log };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  for (const end = Date.now() + ms; !(await check());) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!qdbConf)(`A trading day on QuestDB: files into a day that holds rows, the wait for its WAL${NO_QDB}`, () => {

  it('a second file into a day partition that already holds rows succeeds, and every row of both files is there', async () => {
    const { day, late, expected } = await sameDay();
    // The settings an operator runs with, but reads that time out after 1 s: the wait for the WAL
    // this replaced (3 of those) gave up while QuestDB was still merging such a file.
    const { lines, log } = captured();
    const store = await freshQuestDb({ timeoutMs: 1000 }, log);
    await ingest(day, { store, sourcePolicy: policy, snapshotPolicy });
    const summary = await ingest(late, { store, sourcePolicy: policy, snapshotPolicy });
    expect(summary.snapshots).toBeGreaterThan(0);
    expect(await store.countSnapshots()).toBe(expected);
    expect((await questdbRuns(store)).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(lines.filter((l) => l.level === 'warn')).toEqual([]);
    await store.close();
  }, 400_000);

});

describe.skipIf(!CAN_SUSPEND)(`QuestDB's WAL stopped and started again under an ingest${NO_SUSPEND}`, () => {

  it('a WAL backlog QuestDB takes seconds to apply is waited for while it moves, past the fixed clock the wait had before', async () => {
    const { day, late, expected } = await sameDay();
    const { lines, log } = captured();
    // The wait this replaced gave QuestDB 3 query deadlines to apply everything: 0.6 s here. (An idle
    // machine applies the backlog below in about 0.8 s: deadlines of 0.5 s were longer than that.)
    const timeoutMs = 200;
    const store = await freshQuestDb({ timeoutMs, walStallMs: 30_000, requestBytes: 32 << 10 }, log);
    await ingest(day, { store, sourcePolicy: policy, snapshotPolicy });
    // The late file's rows, in many small transactions, pile up in the WAL while QuestDB applies
    // nothing (as behind a long merge); then QuestDB merges them all into the day.
    await store.exec('ALTER TABLE book_snapshots SUSPEND WAL');
    const run = ingest(late, { store, sourcePolicy: policy, snapshotPolicy });
    await until('the ingest to wait on the suspended WAL', () => lines.some((l) => l.msg.includes('waiting for ALTER TABLE book_snapshots RESUME WAL')));
    const resumed = Date.now();
    await store.exec('ALTER TABLE book_snapshots RESUME WAL');
    const summary = await run;
    const waited = Date.now() - resumed;
    expect(summary.snapshots).toBeGreaterThan(0);
    expect(waited).toBeGreaterThan(3 * timeoutMs);
    expect(await store.countSnapshots()).toBe(expected);
    expect((await questdbRuns(store)).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    await store.close();
  }, 400_000);

  it('a WAL that stops fails the ingest STORE_WAL_STALLED after the stall time, saying why and what to do; its run is recorded with every row it wrote', async () => {
    const { late } = await sameDay();
    const { lines, log } = captured();
    const store = await freshQuestDb({ walStallMs: 3000 }, log);
    // Applied first: a suspension that meets QuestDB applying (the TRUNCATE here) is lifted by the progress it makes.
    await store.flush();
    await store.exec('ALTER TABLE book_snapshots SUSPEND WAL');
    try {
      const t0 = Date.now();
      const err = await ingest(late, { store, sourcePolicy: policy, snapshotPolicy }).then(() => null, (e: unknown) => e);
      const waited = Date.now() - (lines.find((l) => l.msg.includes('RESUME WAL'))?.at ?? t0);
      expect(err).toMatchObject({
        code: 'STORE_WAL_STALLED', kind: 'unavailable',
        message: expect.stringMatching(/applied nothing of table book_snapshots's WAL for 3000 ms \(BOOKTAPE_QDB_WAL_STALL_MS\).*ALTER TABLE book_snapshots RESUME WAL/),
      });
      expect(waited).toBeGreaterThanOrEqual(3000);
      expect(waited).toBeLessThan(15_000);
    } finally {
      await store.exec('ALTER TABLE book_snapshots RESUME WAL');
    }
    await store.flush();
    const [run] = await questdbRuns(store);
    const rows = await store.countSnapshots();
    expect(run).toMatchObject({ status: 'failed', snapshots: rows, error: expect.stringMatching(/^\[STORE_WAL_STALLED\]/) });
    expect(run.records).toBe(300_000);
    expect(JSON.parse(run.symbols)).toHaveLength(8);
    await store.close();
  }, 400_000);
});

describe.skipIf(!qdbConf)(`QuestDB outages as a worker meets them${NO_QDB}`, () => {
  const children: ChildProcess[] = [];
  afterAll(() => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });

  /** A `booktape worker` writing to QuestDB through `conf`, its JSON log lines collected. */
  function worker(conf: string, extra: Record<string, string> = {}) {
    const env = {
      BOOKTAPE_STORE: 'questdb', QDB_CLIENT_CONF: conf, REDIS_URL: 'redis://127.0.0.1:6379',
      BOOKTAPE_QUEUE_PREFIX: `bt-qdb-day-${randomBytes(6).toString('hex')}`, BOOKTAPE_DATA_ROOTS: dir, LOG_LEVEL: 'info', ...extra,
    };
    const child = spawn('node', [CLI, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let out = '';
    child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
    const queue = ingestQueue(loadConfig(env));
    return {
      queue,
      config: loadConfig(env),
      lines: () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
      async stop() {
        child.kill('SIGTERM');
        await new Promise((r) => child.on('exit', r));
        await queue.obliterate({ force: true }).catch(() => undefined);
        await queue.close();
      },
    };
  }

  it('an outage longer than retry_timeout fails the attempt saying the server refused connections (down, not slow); the retry completes, and the job and ingest_runs tell both', async () => {
    const store = await freshQuestDb();
    const file = await synth('retried.dbn', 400_000, 34);
    const proxy = await proxyTo();
    const w = worker(`${proxy.conf}retry_timeout=1000;request_timeout=1000;`, { BOOKTAPE_JOB_BACKOFF_MS: '3000' });
    const jobs = new RedisIngestJobs(w.config);
    await jobs.queue.waitUntilReady();
    try {
      const { job } = await enqueueIngest(w.queue, { source: file });
      await until('the run under way', async () => ((await w.queue.getJob(job.id!))?.progress as { snapshots?: number } | undefined)?.snapshots! > 20_000);
      // QuestDB gone (killed: connections refused) for longer than retry_timeout, then back.
      await proxy.refuse();
      await until('the attempt to fail', async () => w.lines().some((l) => l.msg === 'ingest failed; will retry'));
      await proxy.restore();
      await until('the job to complete', async () => (await job.getState()) === 'completed', 240_000);
      const failed = w.lines().find((l) => l.msg === 'ingest failed; will retry')!;
      expect(failed).toMatchObject({ level: 40, code: 'STORE_UNAVAILABLE', err: expect.stringMatching(/refused the connection \(ECONNREFUSED\): the server is down/) });
      expect(String(failed.err)).not.toMatch(/HTTP request timeout/);
      const view = await jobs.read(job.id!);
      expect(view).toMatchObject({ state: 'completed', attemptsMade: 2, attemptsStalled: 0, error: null, lastAttemptError: expect.stringMatching(/^\[STORE_UNAVAILABLE\] .*refused the connection/) });
      await store.flush();
      const runs = await questdbRuns(store);
      expect(runs.map((r) => r.status)).toEqual(['failed', 'succeeded']);
      // The failed attempt says how far it got; the retry wrote every row.
      expect(runs[0].snapshots).toBeGreaterThan(0);
      expect(runs[0].records).toBeGreaterThan(0);
      expect(runs[0].snapshots).toBeLessThan(runs[1].snapshots);
      expect(await store.countSnapshots()).toBe(runs[1].snapshots);
    } finally {
      await jobs.close();
      await w.stop();
      await proxy.close();
      await store.close();
    }
  }, 400_000);

  it('an outage shorter than retry_timeout is logged at warn by the worker when it starts and when it ends; the job completes', async () => {
    await (await freshQuestDb()).close();
    const file = await synth('outage.dbn', 400_000, 33);
    const proxy = await proxyTo();
    const w = worker(`${proxy.conf}retry_timeout=30000;request_timeout=2000;`);
    try {
      const { job } = await enqueueIngest(w.queue, { source: file });
      await until('the run under way', async () => ((await w.queue.getJob(job.id!))?.progress as { snapshots?: number } | undefined)?.snapshots! > 20_000);
      // QuestDB restarting: connections dropped and refused for 3 s.
      await proxy.refuse();
      await new Promise((r) => setTimeout(r, 3000));
      await proxy.restore();
      await until('the job to complete', async () => (await job.getState()) === 'completed', 240_000);
      const down = w.lines().filter((l) => l.msg === 'QuestDB does not take writes; retrying');
      const up = w.lines().find((l) => l.msg === 'QuestDB takes writes again');
      expect(down).toEqual([expect.objectContaining({ level: 40, cause: expect.stringMatching(/refused|dropped/), retry_timeout_ms: 30_000 })]);
      expect(up).toMatchObject({ level: 40, down_ms: expect.any(Number) });
      expect(up!.down_ms as number).toBeGreaterThanOrEqual(2000);
      expect(w.lines().filter((l) => (l.level as number) >= 50)).toEqual([]);
    } finally {
      await w.stop();
      await proxy.close();
    }
  }, 400_000);
});
