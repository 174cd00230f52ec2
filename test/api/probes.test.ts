import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { tcpExchange } from './tcp-client.js';
import { StreamSlots } from '../../src/stream/stream-slots.js';
import { ActiveReads } from '../../src/stream/active-reads.js';
import { createReplayServer } from '../../src/stream/tcp.js';
import { QUEUE_STATES, createMetrics } from '../../src/api/metrics.js';
import { DuckDbStore } from '../../src/store/duckdb/store.js';
import { enqueueIngest } from '../../jobs/queue.js';
import { RedisIngestJobs } from '../../jobs/ingest-jobs.js';
import { loadConfig } from '../../src/config.js';

/**
 * The API and the TCP replay when what they depend on is missing or
 * misbehaves: no Redis, no tokens, a client that never sends its request,
 * and a Redis that accepts the connection and then never answers (hung, or
 * a dead peer behind a live proxy). /readyz and /metrics read Redis on every
 * call; that last case must give a prompt 503 and a scrape without queue
 * figures, not a request that waits as long as the queue's connection retries.
 */
let store: DuckDbStore;
let silent: Server;
const sockets: Socket[] = [];

beforeAll(async () => {
  store = new DuckDbStore(':memory:');
  await store.init();
  silent = createServer((s) => sockets.push(s)); // accepts, reads nothing, answers nothing
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  silent.close();
  await store.close();
});

/** The app on the test's store, with `jobs` (null: none) and `tokens`, on a free port. */
async function serve(jobs: RedisIngestJobs | null, tokens: { readToken?: string } = {}): Promise<{ base: string; http: HttpServer }> {
  const app = createApp({ config: { ...loadConfig({}), writeToken: undefined, readToken: undefined, ...tokens }, store, jobs, metrics: createMetrics(jobs), log: pino({ level: 'silent' }), reads: new ActiveReads(), slots: new StreamSlots(8) });
  const http = await new Promise<HttpServer>((r) => { const s = app.listen(0, '127.0.0.1', () => r(s)); });
  return { base: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, http };
}

const config = (redisUrl: string) => loadConfig({ REDIS_URL: redisUrl, BOOKTAPE_QUEUE_PREFIX: `bt-probe-${randomBytes(6).toString('hex')}`, LOG_LEVEL: 'silent' });

describe('without Redis or tokens', () => {
  it('job routes and Bull Board answer 503 JOBS_UNAVAILABLE; writes are 403 WRITES_DISABLED; reads are open', async () => {
    const { base, http } = await serve(null);
    try {
      const code = async (res: Response) => ((await res.json()) as { code: string }).code;
      const post = await fetch(`${base}/v1/ingest`, { method: 'POST', body: '{"source":"/x.dbn"}', headers: { 'content-type': 'application/json', authorization: 'Bearer anything-at-all-here' } });
      expect([post.status, await code(post)]).toEqual([403, 'WRITES_DISABLED']);
      const job = await fetch(`${base}/v1/jobs/some-id`);
      expect([job.status, await code(job)]).toEqual([503, 'JOBS_UNAVAILABLE']);
      const board = await fetch(`${base}/admin/queues`);
      expect([board.status, await code(board)]).toEqual([503, 'JOBS_UNAVAILABLE']);
      expect((await fetch(`${base}/v1/instruments`)).status).toBe(200);
    } finally {
      http.closeAllConnections();
      http.close();
    }
  });

  it('a read token, when set, guards the read endpoints', async () => {
    const { base, http } = await serve(null, { readToken: 'reader' });
    try {
      expect((await fetch(`${base}/v1/instruments`)).status).toBe(401);
      expect((await fetch(`${base}/v1/instruments`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${base}/v1/instruments`, { headers: { authorization: 'Bearer reader' } })).status).toBe(200);
      expect((await fetch(`${base}/healthz`)).status).toBe(200); // probes stay open
    } finally {
      http.closeAllConnections();
      http.close();
    }
  });
});

describe('TCP replay requests', () => {
  it('a client that sends no request line within the timeout gets one REQUEST_TIMEOUT line and is closed', async () => {
    const tcp = createReplayServer(store, createMetrics(null), pino({ level: 'silent' }), new ActiveReads(), { requestTimeoutMs: 200 });
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    try {
      const text = await tcpExchange((tcp.address() as AddressInfo).port, '{"symbols":', { halfClose: false }); // and nothing more
      expect(JSON.parse(text)).toMatchObject({ type: 'error', code: 'REQUEST_TIMEOUT', detail: 'send one JSON request line within 0.2 s' });
    } finally {
      tcp.close();
    }
  });
});

describe('health and metrics probes of Redis', () => {
  it('a Redis that never answers: /readyz is a 503 within seconds, /metrics answers without queue figures', async () => {
    const jobs = new RedisIngestJobs(config(`redis://127.0.0.1:${(silent.address() as AddressInfo).port}`));
    const { base, http } = await serve(jobs);
    try {
      const t0 = performance.now();
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'not ready', checks: { store: 'ok', redis: expect.stringMatching(/did not answer|not connected/) } });
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toContain('booktape_http_request_duration_seconds_bucket');
      expect(text).not.toMatch(/^booktape_queue_jobs\{/m);
      expect(performance.now() - t0).toBeLessThan(10_000); // both together; each waits ~1 s
    } finally {
      http.closeAllConnections();
      http.close();
      await jobs.close();
    }
  });

  it('with Redis, /metrics reports the queue jobs in each state, as BullMQ counts them', async () => {
    const jobs = new RedisIngestJobs(config('redis://127.0.0.1:6379'));
    const queue = jobs.queue;
    await queue.waitUntilReady();
    const { base, http } = await serve(jobs);
    try {
      await enqueueIngest(queue, { source: '/a.dbn' });
      await enqueueIngest(queue, { source: '/b.dbn' });
      const text = await (await fetch(`${base}/metrics`)).text();
      const counts = await queue.getJobCounts(...QUEUE_STATES);
      expect(counts.waiting).toBe(2);
      for (const state of QUEUE_STATES) expect(text).toContain(`booktape_queue_jobs{state="${state}"} ${counts[state]}\n`);
    } finally {
      http.closeAllConnections();
      http.close();
      await queue.obliterate({ force: true });
      await jobs.close();
    }
  });
});
