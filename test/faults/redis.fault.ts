import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { rebuild } from '../../src/book/rebuild.js';
import { openDbnFile } from '../../src/dbn/index.js';
import { enqueueIngest, ingestQueue, INGEST_QUEUE } from '../../jobs/queue.js';
import { startWorker } from '../../jobs/worker.js';
import { CLI, CLX5 } from '../helpers.js';
import { OwnRedis, freePort, redisServerInstalled } from '../redis-server.js';

/**
 * Redis going away, hanging and coming back, with a redis-server of the
 * test's own (never the machine's): what the API answers, what a worker
 * logs and reports, how long SIGTERM takes, and what happens to a run
 * whose job lock lapsed.
 */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function ownRedis(port?: number): Promise<OwnRedis> {
  const r = await OwnRedis.start(port);
  cleanups.push(() => r.kill());
  return r;
}

/** A CLI child whose stderr is collected line by line. */
function child(args: string[], env: Record<string, string>) {
  const proc: ChildProcess = spawn('node', [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  proc.stderr!.on('data', (b: Buffer) => { text += b.toString(); });
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  cleanups.push(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  return {
    proc, exited,
    get stderr() { return text; },
    lines: () => text.split('\n').filter((l) => l.length > 0),
    count: (msg: string) => text.split('\n').filter((l) => l.includes(`"msg":"${msg}`)).length,
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await fn();
  return [v, performance.now() - t0];
}

function baseEnv(dir: string, redisUrl: string): Record<string, string> {
  return {
    BOOKTAPE_STORE: 'duckdb', // whatever QDB_CLIENT_CONF the shell has: the fault suite hides nothing from its children
    REDIS_URL: redisUrl,
    BOOKTAPE_QUEUE_PREFIX: `bt-outage-${randomBytes(6).toString('hex')}`,
    BOOKTAPE_DUCKDB_PATH: join(dir, 'store.duckdb'),
    BOOKTAPE_DATA_ROOTS: dir,
    BOOKTAPE_SHUTDOWN_MS: '3000',
    LOG_LEVEL: 'info',
  };
}

describe.skipIf(!redisServerInstalled())('Redis outages', () => {
  it('serve: job routes answer 503 JOBS_UNAVAILABLE within about a second while Redis hangs or is down, recover with it, and carry out no refused request; SIGTERM ends serve in bounded time while Redis hangs', async () => {
    const redis = await ownRedis();
    const dir = mkdtempSync(join(tmpdir(), 'booktape-outage-serve-'));
    const file = join(dir, 'clx5.dbn');
    copyFileSync(CLX5, file);
    const token = randomBytes(16).toString('hex');
    const env: Record<string, string> = { ...baseEnv(dir, redis.url), PORT: '0', BOOKTAPE_TCP_PORT: '0', BOOKTAPE_WRITE_TOKEN: token };
    const serve = child(['serve'], env);
    const base = await waitFor('serve to print its URL', () => /books\s+(http:\/\/localhost:\d+)\//.exec(serve.stderr)?.[1], 90_000);
    const auth = { authorization: `Bearer ${token}` };
    const post = () => fetch(`${base}/v1/ingest`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ source: file }) });
    const job = () => fetch(`${base}/v1/jobs/no-such-job`, { headers: auth });
    const board = () => fetch(`${base}/admin/queues/api/queues`, { headers: auth });
    const problem = async (res: Response) => [res.status, ((await res.json()) as { code: string }).code];
    await waitFor('the job routes to reach Redis', async () => (await job()).status === 404);

    redis.freeze(); // connections open, nothing answers
    for (const call of [post, job, board]) {
      const [res, ms] = await timed(call);
      expect(await problem(res)).toEqual([503, 'JOBS_UNAVAILABLE']);
      expect(ms).toBeLessThan(2_500);
    }
    redis.thaw();
    await sleep(500);
    const queue = new Queue(INGEST_QUEUE, { connection: { host: '127.0.0.1', port: redis.port }, prefix: env.BOOKTAPE_QUEUE_PREFIX });
    cleanups.push(() => queue.close());
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0); // the POST answered 503 was not carried out when Redis woke

    await redis.kill(); // down: connections refused
    await sleep(300);
    for (const call of [post, job]) {
      const [res, ms] = await timed(call);
      expect(await problem(res)).toEqual([503, 'JOBS_UNAVAILABLE']);
      expect(ms).toBeLessThan(1_500);
    }
    await redis.start();
    const accepted = await waitFor('POST /v1/ingest to work again', async () => { const r = await post(); return r.status === 202 ? r : null; }, 30_000);
    expect(await accepted.json()).toMatchObject({ existing: false });

    // Every log line is one JSON object; no stack trace anywhere.
    const banner = /^(booktape: serving|  \S)/;
    for (const line of serve.lines().filter((l) => !banner.test(l))) expect(() => JSON.parse(line), line).not.toThrow();
    expect(serve.stderr).not.toMatch(/^\s+at /m);

    redis.freeze();
    const t0 = performance.now();
    serve.proc.kill('SIGTERM');
    const code = await serve.exited;
    expect(performance.now() - t0).toBeLessThan(3_000 + 3_000); // BOOKTAPE_SHUTDOWN_MS, and a loaded machine's slack
    expect([0, 1]).toContain(code);
    redis.thaw();
  }, 180_000);

  it('worker: ready only once Redis answers, one JSON log line per change of Redis state, not per attempt; SIGTERM ends it in bounded time while Redis hangs', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'booktape-outage-worker-'));
    const worker = child(['worker'], { ...baseEnv(dir, `redis://127.0.0.1:${port}`), BOOKTAPE_METRICS_PORT: '0' });
    const metrics = await waitFor('the worker to log its probe URL', () => /"metrics":"(http:[^"]+)"/.exec(worker.stderr)?.[1], 90_000);
    const readyz = metrics.replace('/metrics', '/readyz');
    const notYet = await fetch(readyz);
    expect(notYet.status).toBe(503);
    expect(await notYet.json()).toMatchObject({ checks: { redis: 'waiting for Redis to answer' } });
    await sleep(3_000); // several attempts, at 250 ms, 500 ms, 1 s, 2 s
    expect(worker.count('redis does not answer')).toBe(1);
    expect(worker.count('worker ready')).toBe(0);

    const redis = await ownRedis(port);
    await waitFor('worker ready', () => worker.count('worker ready') === 1, 30_000);
    expect(worker.count('redis answers')).toBe(1);
    expect((await fetch(readyz)).status).toBe(200);

    await redis.kill();
    await sleep(3_000);
    expect(worker.count('redis connection lost')).toBe(1);
    await redis.start();
    await waitFor('the worker to see Redis back', () => worker.count('redis connection restored') === 1, 30_000);
    await waitFor('readiness again', async () => (await fetch(readyz)).status === 200, 30_000);
    expect(worker.count('redis connection lost')).toBe(1);
    for (const line of worker.lines()) expect(() => JSON.parse(line), line).not.toThrow();

    redis.freeze();
    const t0 = performance.now();
    worker.proc.kill('SIGTERM');
    const code = await worker.exited;
    expect(performance.now() - t0).toBeLessThan(3_000 + 3_000);
    expect([0, 1]).toContain(code);
    redis.thaw();
  }, 180_000);

  it('a run whose job lock lapsed (Redis hung longer than the lock) stops; the job then completes once, with the clean rows', async () => {
    const redis = await ownRedis();
    const dir = mkdtempSync(join(tmpdir(), 'booktape-outage-lock-'));
    const config = loadConfig({ ...baseEnv(dir, redis.url), BOOKTAPE_JOB_LOCK_MS: '2000', BOOKTAPE_JOB_BACKOFF_MS: '50', BOOKTAPE_WRITE_BATCH_ROWS: '4096' });
    const big = join(dir, 'big.dbn');
    const synth = spawn('node', [CLI, 'synth', big, '--records', '400000', '--seed', '5'], { stdio: 'ignore' });
    await new Promise((r) => synth.on('exit', r));
    let expected = 0;
    await rebuild(await openDbnFile(big), { policy: { depth: 10, intervalNs: 0 }, onCaptured: (s) => { expected += s.length; } });

    const logged: Array<{ msg: string; code?: string }> = [];
    const log = pino({ level: 'info' }, new Writable({ write(line, _e, done) { logged.push(JSON.parse(String(line))); done(); } }));
    const store = new DuckDbStore(config.duckdbPath);
    await store.init();
    const worker = await startWorker(config, store, log);
    cleanups.push(async () => { await store.close(); });
    cleanups.push(() => Promise.race([worker.close(), sleep(5_000)]).then(() => undefined));
    const queue = ingestQueue(config);
    cleanups.push(() => queue.close());
    const { job } = await enqueueIngest(queue, { source: big });
    await waitFor('the run to be under way', async () => (((await queue.getJob(job.id!))?.progress as { records?: number } | undefined)?.records ?? 0) > 20_000);

    redis.freeze();
    await sleep(3_500); // longer than the 2 s lock
    redis.thaw();
    await waitFor('the job to complete', async () => (await job.getState()) === 'completed', 200_000)
      .catch((err: Error) => { throw new Error(`${err.message}; the worker logged: ${logged.map((l) => l.msg).join(' | ')}`); });

    expect(logged.filter((l) => l.msg.startsWith('job lock lost')).length).toBeGreaterThanOrEqual(1);
    expect(logged.filter((l) => l.msg === 'ingest finished')).toHaveLength(1); // not two "succeeded" runs
    expect(await store.countSnapshots()).toBe(expected);
  }, 300_000);
});
