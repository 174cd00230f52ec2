/**
 * The CLI commands that run booktape's services: ingest, enqueue, worker,
 * serve, demo. They need the stores, BullMQ and the API (about a second of
 * module loading), so cli.ts imports this module only when one of them runs,
 * and the file commands (meta, decode, book, mbp, synth) start at once.
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { loadConfig, type Config } from '../config.js';
import { createLogger } from '../log.js';
import { openStore } from '../store/index.js';
import type { SnapshotStore } from '../store/port.js';
import { ingest } from '../pipeline/ingest.js';
import { refuseDisallowedUrl } from '../pipeline/source.js';
import { startServer } from '../api/server.js';
import { probeJobCounts, readinessChecks } from '../../jobs/queue.js';
import { IngestJobs } from '../../jobs/producer.js';
import { JobsUnavailableError, redactedUrl, redisAnswers, waitForRedis } from '../../jobs/redis.js';
import { ingestOptions, startWorker, type RunningWorker } from '../../jobs/worker.js';
import { ingestMetrics, serveProbes } from '../../jobs/metrics.js';
import { ingestSummaryJson } from '../pipeline/summary-json.js';
import { shutdownWithin, stopSignals } from './lifecycle.js';

/** The bundled sample, from dist/src/cli/ or src/cli/. */
const DATA_DIR = fileURLToPath(new URL('../../../data/', import.meta.url));

export async function ingestCommand(source: string): Promise<void> {
  const config = loadConfig();
  const store = openStore(config);
  try {
    await store.init();
    const summary = await ingest(source, {
      ...ingestOptions(config, store),
      onProgress: (p) => {
        if (process.stderr.isTTY) process.stderr.write(`\rbooktape: ${p.records} records${p.percent === null ? '' : ` (${p.percent}%)`}   `);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    process.stdout.write(JSON.stringify(ingestSummaryJson(summary), null, 1) + '\n');
  } finally {
    await store.close();
  }
}

/** How long `enqueue` waits for Redis, in all: it fails with JOBS_UNAVAILABLE past this. */
const ENQUEUE_TIMEOUT_MS = 5_000;

export async function enqueueCommand(source: string, opts: { force?: boolean } = {}): Promise<void> {
  const config = loadConfig();
  refuseDisallowedUrl(source, config.url);
  if (!(await redisAnswers(config.redisUrl, 2_000))) {
    throw new JobsUnavailableError(`no Redis answered at ${redactedUrl(config.redisUrl)} within 2 s: start Redis, or set REDIS_URL`);
  }
  const jobs = new IngestJobs(config, ENQUEUE_TIMEOUT_MS);
  try {
    const { job, existing, state } = await jobs.enqueue({ source }, { force: opts.force });
    process.stdout.write(JSON.stringify({ job_id: job.id, existing, state }) + '\n');
  } finally {
    await jobs.close();
  }
}

/**
 * A worker: ready (its "worker ready" line, its /readyz) only once Redis
 * answers; until then it waits with a bounded backoff, logging once. After
 * SIGTERM/SIGINT it hands its active jobs back and exits within
 * BOOKTAPE_SHUTDOWN_MS whatever Redis and the store are doing.
 */
export async function workerCommand(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'booktape-worker');
  const stop = stopSignals(log);
  const store = openStore(config);
  await store.init();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'booktape_' });
  const metrics = ingestMetrics(registry);
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
    running = await startWorker(config, store, log, metrics);
    log.info({ store: store.kind, concurrency: config.workerConcurrency, scan: config.scanEveryMs ?? config.scanCron ?? null, metrics: metricsAt }, 'worker ready');
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
  const store = openStore(config);
  await store.init();
  await serveUntilStopped(config, store, createLogger(config.logLevel, 'booktape-api'));
}

export async function demoCommand(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'booktape-demo');
  const store = openStore(config);
  await store.init();
  const options = ingestOptions(config, store);
  const summary = await ingest(`${DATA_DIR}CLX5_mbo.dbn`, {
    ...options,
    sourcePolicy: { ...options.sourcePolicy, dataRoots: [...config.dataRoots, DATA_DIR] },
  });
  process.stderr.write(`booktape: ingested ${summary.records} records of CLX5 into ${store.kind}: ${summary.snapshots} snapshots, ${summary.trades} trades\n`);
  await serveUntilStopped(config, store, log);
}

/** Serves until SIGTERM/SIGINT, then closes everything and resolves. */
async function serveUntilStopped(config: Config, store: SnapshotStore, log: Logger): Promise<void> {
  const stop = stopSignals(log);
  let server;
  try {
    server = await startServer(config, store, log);
  } catch (err) {
    await store.close();
    throw err;
  }
  const base = `http://localhost:${server.httpPort}`;
  log.info({ http: base, tcp: server.tcpPort, store: store.kind }, 'serving');
  process.stderr.write(
    [
      `booktape: serving the ${store.kind} store`,
      `  books      ${base}/v1/instruments   ${base}/v1/books/CLX5?depth=5`,
      `  replay     curl -N '${base}/v1/replay?symbols=CLX5&rate=1000'`,
      `  replay     echo '{"symbols":"CLX5","rate":1000}' | nc localhost ${server.tcpPort}`,
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
