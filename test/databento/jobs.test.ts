import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { databentoSource, dayRequest } from '../../src/databento-request.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { enqueueIngest, ingestQueue, type IngestJob } from '../../jobs/queue.js';
import { startWorker } from '../../jobs/worker.js';
import { CLX5 } from '../helpers.js';
import { archiveOf, startFakeDatabento, type FakeDatabento } from './service.js';

/**
 * Databento requests as BullMQ jobs on a real Redis, processed by a real
 * worker, against the local service (docs/databento.md): retries and their
 * waits, failures for good, and where the API key must never be.
 */
const KEY = 'db-JobsTestKeyThatMustStayHidden04';
let service: FakeDatabento;
const day = (d: string, symbols = ['CLX5']) => databentoSource(dayRequest({ dataset: 'GLBX.MDP3', symbols, stype_in: 'raw_symbol' }, d));

beforeAll(async () => {
  service = await startFakeDatabento({ key: KEY, archive: archiveOf(CLX5, [0, 1, 2]) });
});
afterAll(async () => service?.close());

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Every log line the worker writes, at every level. */
function capturedLog() {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
  return { log: pino({ level: 'trace' }, sink), lines };
}

async function setup(extra: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'booktape-databento-jobs-'));
  const config: Config = loadConfig({
    REDIS_URL: 'redis://127.0.0.1:6379',
    BOOKTAPE_QUEUE_PREFIX: `bt-test-${randomBytes(6).toString('hex')}`,
    BOOKTAPE_DUCKDB_PATH: join(dir, 'store.duckdb'),
    BOOKTAPE_DATA_ROOTS: dir,
    BOOKTAPE_JOB_BACKOFF_MS: '50',
    BOOKTAPE_JOB_ATTEMPTS: '3',
    BOOKTAPE_JOB_LOCK_MS: '5000',
    BOOKTAPE_URL_TIMEOUT_MS: '3000',
    DATABENTO_API_KEY: KEY,
    BOOKTAPE_DATABENTO_URL: service.url,
    ...extra,
  });
  const queue = ingestQueue(config);
  const store = new DuckDbStore(config.duckdbPath);
  await store.init();
  const { log, lines } = capturedLog();
  const worker = await startWorker(config, store, log);
  cleanups.push(async () => {
    await worker.close();
    await store.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  });
  return { config, queue, store, lines };
}

/** The job once it completed or failed, read again (its result, its attempts, its failed reason). */
async function settled(queue: ReturnType<typeof ingestQueue>, job: IngestJob, ms = 90_000): Promise<IngestJob> {
  const until = Date.now() + ms;
  for (;;) {
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') return ((await queue.getJob(job.id!)) as IngestJob | undefined) ?? job;
    if (Date.now() > until) throw new Error(`job ${job.id} still ${state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every value stored under the queue's prefix in Redis, whatever its type, as text. */
async function redisDump(config: Config): Promise<string> {
  const redis = new Redis(config.redisUrl);
  try {
    const parts: string[] = [];
    const keys = await redis.keys(`${config.queuePrefix}:*`);
    expect(keys.length).toBeGreaterThan(5);
    for (const key of keys) {
      const type = await redis.type(key);
      const value = type === 'string' ? await redis.get(key)
        : type === 'hash' ? await redis.hgetall(key)
          : type === 'list' ? await redis.lrange(key, 0, -1)
            : type === 'set' ? await redis.smembers(key)
              : type === 'zset' ? await redis.zrange(key, '0', '-1')
                : type === 'stream' ? await redis.xrange(key, '-', '+') : null;
      parts.push(key, JSON.stringify(value));
    }
    return parts.join('\n');
  } finally {
    redis.disconnect();
  }
}

describe('Databento ingest jobs on a real Redis', () => {
  it('a download cut mid-stream is retried and lands the clean run\'s rows; refused keys fail for good; the key is never in logs, job data or Redis', async () => {
    const { config, queue, store, lines } = await setup();
    service.script('timeseries.get_range', { cutAfterBytes: 150_000 });
    const { job } = await enqueueIngest(queue, { source: day('2025-09-24') });
    const done = await settled(queue, job);
    expect(await done.getState()).toBe('completed');
    expect(done.attemptsMade).toBe(2); // the cut attempt, then the rerun that succeeded
    expect(done.returnvalue).toMatchObject({ source: day('2025-09-24'), snapshots: 32_053, billable_bytes: 38_212 * 56 });
    expect(await store.countSnapshots()).toBe(32_053);
    expect(lines.some((l) => /SOURCE_HTTP_ERROR/.test(l) && /will retry/.test(l))).toBe(true);

    // Refused credentials, in a body that names the key: the job fails at once, the service's message redacted.
    service.script('metadata.get_cost', { status: 401, body: { detail: `Invalid API key ${KEY}` } });
    const refused = await settled(queue, (await enqueueIngest(queue, { source: day('2025-09-25') })).job);
    expect(await refused.getState()).toBe('failed');
    expect(refused.attemptsMade).toBe(1);
    expect(refused.failedReason).toMatch(/^\[DATABENTO_AUTH_REFUSED\] Databento answered 401 .*Invalid API key \[redacted\]/);

    const everything = `${lines.join('')}\n${await redisDump(config)}`;
    expect(everything).toContain(day('2025-09-25')); // the dump holds the jobs...
    expect(everything).toContain('[redacted]');
    expect(everything).not.toContain(KEY); // ...and never the key
    expect(everything).not.toContain(Buffer.from(`${KEY}:`).toString('base64'));
  });

  it('429 then 503: retried, the first no sooner than its Retry-After; a request already ingested is not bought again, unless forced', async () => {
    const { queue, store } = await setup();
    service.script('metadata.get_billable_size', { status: 503, body: { detail: 'Data gateway is offline or overloaded' } });
    service.script('timeseries.get_range', { status: 429, body: { detail: 'Too many requests' }, headers: { 'retry-after': '2' } });
    const before = service.requests.length;
    const done = await settled(queue, (await enqueueIngest(queue, { source: day('2025-09-26') })).job);
    expect(await done.getState()).toBe('completed');
    expect(done.attemptsMade).toBe(3); // the 503, the 429, then the run that succeeded
    const sent = service.requests.slice(before);
    const limited = sent.findIndex((r) => r.path === 'timeseries.get_range');
    const next = sent.slice(limited + 1).find((r) => r.path.startsWith('metadata.'));
    expect(next!.at - sent[limited].at).toBeGreaterThanOrEqual(1900); // BOOKTAPE_JOB_BACKOFF_MS is 50
    expect(await store.countSnapshots()).toBe(32_053);

    // The same day again: a new job (the first one was removed), but nothing downloaded or written.
    await done.remove();
    const ranges = () => service.requests.filter((r) => r.path === 'timeseries.get_range').length;
    const fetched = ranges();
    const again = await settled(queue, (await enqueueIngest(queue, { source: day('2025-09-26') })).job);
    expect(again.returnvalue).toEqual({ source: day('2025-09-26'), already_ingested: true });
    expect(ranges()).toBe(fetched);
    const forced = await settled(queue, (await enqueueIngest(queue, { source: day('2025-09-26') }, { force: true })).job);
    expect(forced.returnvalue).toMatchObject({ snapshots: 32_053, snapshots_already_present: 32_053 });
    expect(ranges()).toBe(fetched + 1);
  });

  it('a symbol that does not resolve, a day without data, a request over the cost limit: each fails for good on its first attempt with its code', async () => {
    const { queue } = await setup({ BOOKTAPE_DATABENTO_MAX_COST_USD: '0.1' });
    const cases: Array<[string, RegExp]> = [
      [day('2025-09-24', ['NOPE5']), /^\[DATABENTO_BAD_REQUEST\] .*symbology_invalid_request: None of the symbols could be resolved/],
      [day('2025-09-20'), /^\[DATABENTO_NO_DATA\] /],
      [day('2025-09-24'), /^\[DATABENTO_COST_LIMIT\] .*would cost \$0\.21 .*BOOKTAPE_DATABENTO_MAX_COST_USD=0\.1/],
    ];
    for (const [source, reason] of cases) {
      const failed = await settled(queue, (await enqueueIngest(queue, { source })).job);
      expect(await failed.getState(), source).toBe('failed');
      expect(failed.attemptsMade, source).toBe(1);
      expect(failed.failedReason).toMatch(reason);
    }
  });
});
