/**
 * The CLI commands that run booktape's services: ingest, enqueue, worker,
 * serve, demo. They need the stores, BullMQ and the API (about a second of
 * module loading), so cli.ts imports this module only when one of them runs,
 * and the file commands (meta, decode, book, mbp, synth) start at once.
 *
 * This is the composition root: the one module that wires processes
 * together, and so the one in src/ that may import jobs/ (the architecture
 * test allows it here and nowhere else).
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { loadConfig, type Config } from '../config.js';
import { createLogger } from '../log.js';
import { openStore, type StoreOptions } from '../store/index.js';
import type { SnapshotStore } from '../store/port.js';
import { ingest } from '../pipeline/ingest.js';
import { ingestMetrics } from '../pipeline/metrics.js';
import { enqueuePolicy, ingestOptions } from '../pipeline/options.js';
import { fileSha256, refuseUnfetchableSource } from '../pipeline/source.js';
import { ingestSummaryJson } from '../pipeline/summary-json.js';
import { startServer, type RunningServer } from '../api/server.js';
import { pacedSeconds } from '../stream/pacing.js';
import { createMetrics } from '../api/metrics.js';
import { serveProbes } from '../api/probe-server.js';
import { readinessChecks } from '../api/readiness.js';
import { probeJobCounts } from '../../jobs/queue.js';
import { RedisIngestJobs } from '../../jobs/ingest-jobs.js';
import { jobsUnavailable, redactedUrl, redisAnswers, waitForRedis, withinMs } from '../../jobs/redis.js';
import { startWorker, type RunningWorker } from '../../jobs/worker.js';
import { queueDays } from '../../jobs/databento-schedule.js';
import { utcDays } from '../databento-request.js';
import type { DatabentoFlags } from './databento-options.js';
import { requestBaseOf, sourceOf } from './databento-request-of.js';
import { UsageError } from './errors.js';
import { shutdownWithin, stopSignals } from './lifecycle.js';
import { ProgressLine } from './progress.js';

/** The bundled sample, from dist/src/cli/ or src/cli/. */
const DATA_DIR = fileURLToPath(new URL('../../../data/', import.meta.url));

/** The store's own options, from the configuration; `log` gets what the store rides out (outages, long waits). */
export function storeOptions(config: Config, log?: Logger): StoreOptions {
  return config.store === 'questdb'
    ? {
      kind: 'questdb', clientConf: config.questdbConf!, timeoutMs: config.storeTimeoutMs, readConnections: config.questdbReadConnections,
      requestBytes: config.questdbRequestBytes, walStallMs: config.questdbWalStallMs, pgAddr: config.questdbPgAddr, ttlDays: config.questdbTtlDays, log,
    }
    : { kind: 'duckdb', path: config.duckdbPath, memoryLimit: config.duckdbMemory, bookCacheBytes: config.duckdbBookCacheMb * 2 ** 20 };
}

export interface RunningServices extends RunningServer {
  /** The ingest worker `serve` runs itself with the embedded store, once Redis has answered; else null. */
  worker(): RunningWorker | null;
}

/**
 * What `serve` runs: the HTTP API and the TCP replay port, and the job
 * queue. Both ports are bound first: a port in use stops the start with
 * nothing served. Job routes answer 503 at once while Redis is away, and
 * work again when it is back. With the embedded DuckDB store the ingest
 * worker runs inside this process (DuckDB allows one process per file),
 * started once Redis answers; with QuestDB run `booktape worker` processes.
 * close() stops all of it, store aside.
 */
export async function startServices(config: Config, store: SnapshotStore, log: Logger): Promise<RunningServices> {
  const jobs = new RedisIngestJobs(config);
  const metrics = createMetrics(jobs, store);
  let server: RunningServer;
  try {
    server = await startServer({ config, store, jobs, metrics, log });
  } catch (err) {
    await jobs.close();
    throw err;
  }
  const stopping = new AbortController();
  let worker: RunningWorker | null = null;
  const workerStarted = store.kind !== 'duckdb'
    ? Promise.resolve()
    : waitForRedis(config.redisUrl, log, stopping.signal).then(async (up) => {
      if (!up) return;
      worker = await startWorker(config, store, log, metrics.ingest);
      log.info({ redis: redactedUrl(config.redisUrl) }, 'ingest worker running in this process');
    }).catch((err: unknown) => log.error({ err: (err as Error).message }, 'the in-process ingest worker did not start'));
  return {
    ...server,
    worker: () => worker,
    async close() {
      stopping.abort();
      await server.close();
      await workerStarted;
      await (worker as RunningWorker | null)?.close();
      await jobs.close();
    },
  };
}

export async function ingestCommand(given: string | undefined, flags: DatabentoFlags = {}): Promise<void> {
  const source = sourceOf(given, flags);
  const config = loadConfig();
  const store = openStore(storeOptions(config, createLogger(config.logLevel, 'booktape-ingest')));
  try {
    await store.init();
    const progress = new ProgressLine('ingest:');
    const summary = await ingest(source, {
      ...ingestOptions(config, store),
      onProgress: (p) => progress.report(p.records, p.percent === null ? null : p.percent / 100),
    });
    progress.end();
    process.stdout.write(JSON.stringify(ingestSummaryJson(summary), null, 1) + '\n');
  } finally {
    await store.close();
  }
}

/** How long `enqueue` waits for Redis, in all: it fails with JOBS_UNAVAILABLE past this. */
const ENQUEUE_TIMEOUT_MS = 5_000;

export async function enqueueCommand(given: string | undefined, opts: DatabentoFlags & { force?: boolean } = {}): Promise<void> {
  const source = sourceOf(given, opts);
  const config = loadConfig();
  await refuseUnfetchableSource(source, enqueuePolicy(config));
  await withJobs(config, async (jobs) => {
    const { id, existing, state } = await jobs.enqueue(source, { force: opts.force });
    process.stdout.write(JSON.stringify({ job_id: id, existing, state }) + '\n');
  });
}

/**
 * Queues a Databento ingest job per whole UTC day of [first, last], each
 * once (a day queued before returns its job; a worker does not buy a day
 * already ingested again). A JSON line per day.
 */
export async function backfillCommand(first: string, last: string, opts: DatabentoFlags & { force?: boolean } = {}): Promise<void> {
  const config = loadConfig();
  const base = requestBaseOf(opts, config.databento.request);
  let days: string[];
  try {
    days = utcDays(first, last);
  } catch {
    throw new UsageError('BAD_DAY', `backfill takes two UTC days, first and last (e.g. 2024-06-03 2024-06-07), not "${first}" "${last}"`);
  }
  if (days.length === 0) throw new UsageError('BAD_DAY', `the last day (${last}) is before the first (${first})`);
  await withJobs(config, async (jobs) => {
    const { jobs: queued } = await withinMs(queueDays(days, base, { store: null, queue: jobs.queue, backoffMs: config.jobBackoffMs, force: opts.force }), ENQUEUE_TIMEOUT_MS * 4, 'backfill');
    for (const j of queued) process.stdout.write(JSON.stringify({ day: j.day, job_id: j.id, existing: j.existing }) + '\n');
  });
}

/** Runs `work` on the job queue once Redis answers; JOBS_UNAVAILABLE when it does not. */
async function withJobs(config: Config, work: (jobs: RedisIngestJobs) => Promise<void>): Promise<void> {
  if (!(await redisAnswers(config.redisUrl, 2_000))) {
    throw jobsUnavailable(`no Redis answered at ${redactedUrl(config.redisUrl)} within 2 s: start Redis, or set REDIS_URL`);
  }
  const jobs = new RedisIngestJobs(config, ENQUEUE_TIMEOUT_MS);
  try {
    await withinMs(jobs.queue.waitUntilReady(), ENQUEUE_TIMEOUT_MS, 'enqueue');
    await work(jobs);
  } finally {
    await jobs.close();
  }
}

/**
 * A worker: ready (its "worker ready" line, its /readyz) only once Redis
 * answers and a store write lands; until Redis answers it waits with a
 * bounded backoff, logging once. After SIGTERM/SIGINT it hands its active
 * jobs back and exits within BOOKTAPE_SHUTDOWN_MS whatever Redis and the
 * store are doing.
 */
export async function workerCommand(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'booktape-worker');
  const stop = stopSignals(log);
  const store = openStore(storeOptions(config, log));
  await store.init();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'booktape_' });
  let running: RunningWorker | null = null;
  const probes = config.metricsPort === undefined
    ? null
    : await serveProbes(registry, config.metricsPort, async () => {
      const worker = running;
      if (worker === null) return { store: 'ok', redis: 'waiting for Redis to answer' };
      return readinessChecks(store, { probe: async () => { await probeJobCounts(worker.queue, ['waiting']); } }, { write: true });
    });
  const metricsAt = probes === null ? null : `http://localhost:${(probes.address() as AddressInfo).port}/metrics`;
  log.info({ store: store.kind, redis: redactedUrl(config.redisUrl), metrics: metricsAt }, 'worker starting');
  if (await waitForRedis(config.redisUrl, log, stop.signal)) {
    running = await startWorker(config, store, log, ingestMetrics(registry));
    log.info({
      store: store.kind, concurrency: config.workerConcurrency, scan: config.scanEveryMs ?? config.scanCron ?? null,
      databento_schedule: config.databento.cron ?? null, metrics: metricsAt,
    }, 'worker ready');
    await stop.stopped;
  }
  await shutdownWithin(config.shutdownMs, log, async () => {
    await (running as RunningWorker | null)?.close();
    probes?.close();
    await store.close();
  });
  log.info('worker stopped');
}

export async function serveCommand(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'booktape-api');
  const store = openStore(storeOptions(config, log));
  await store.init();
  await serveUntilStopped(config, store, log);
}

/**
 * The bundled sample, ingested once: a store that already holds a
 * successful run of its content (by sha256, as `ingest_runs` records it)
 * is served at once, so a second `npm run demo` starts in about a second.
 */
export async function demoCommand(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'booktape-demo');
  const store = openStore(storeOptions(config, log));
  await store.init();
  const sample = `${DATA_DIR}CLX5_mbo.dbn`;
  const where = store.kind === 'duckdb' ? config.duckdbPath : 'QuestDB';
  if (await store.hasSucceeded(await fileSha256(sample))) {
    process.stderr.write(`booktape: ${where} already holds CLX5 (data/CLX5_mbo.dbn, ingested before): serving it\n`);
  } else {
    const options = ingestOptions(config, store);
    const summary = await ingest(sample, {
      ...options,
      sourcePolicy: { ...options.sourcePolicy, dataRoots: [...config.dataRoots, DATA_DIR] },
    });
    process.stderr.write(`booktape: ingested ${summary.records} records of CLX5 into ${store.kind}: ${summary.snapshots} snapshots, ${summary.trades} trades\n`);
  }
  await serveUntilStopped(config, store, log);
}

/** Serves until SIGTERM/SIGINT, then closes everything within BOOKTAPE_SHUTDOWN_MS and resolves. */
async function serveUntilStopped(config: Config, store: SnapshotStore, log: Logger): Promise<void> {
  const stop = stopSignals(log);
  let server: RunningServices;
  try {
    server = await startServices(config, store, log);
  } catch (err) {
    await store.close();
    throw err;
  }
  const base = `http://localhost:${server.httpPort}`;
  log.info({ http: base, tcp: server.tcpPort, store: store.kind }, 'serving');
  // The examples name what the store holds: its busiest instrument, and what replaying all of it takes.
  const busiest = (await store.listInstruments().catch(() => [])).filter((i) => i.symbol !== null).sort((a, b) => b.snapshots - a.snapshots)[0];
  const symbol = busiest?.symbol ?? 'CLX5';
  const rate = 1000;
  const whole = busiest === undefined ? '' : `   (${busiest.snapshots} frames at ${rate}/s: ${Math.round(pacedSeconds(busiest.snapshots, 0n, { rate, speed: 0 }))} s)`;
  process.stderr.write(
    [
      `booktape: serving the ${store.kind} store`,
      `  page       ${base}/   (the book: ladder, time slider, replay, chart)`,
      `  books      ${base}/v1/instruments   ${base}/v1/books/${symbol}?depth=5`,
      `  replay     curl -N '${base}/v1/replay?symbols=${symbol}&rate=${rate}'${whole}`,
      `  replay     npx booktape replay --tcp ${server.tcpPort} --symbols ${symbol} --rate ${rate}   (the same over TCP)`,
      `  API docs   ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
      `  jobs       ${base}/admin/queues${config.writeToken ? '' : '  (set BOOKTAPE_WRITE_TOKEN to enable)'}`,
      `  metrics    ${base}/metrics`,
      '',
    ].join('\n'),
  );
  await stop.stopped;
  await shutdownWithin(config.shutdownMs, log, async () => {
    await server.close();
    await store.close();
  });
}
