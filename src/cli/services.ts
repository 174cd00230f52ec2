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
import { ingestOptions } from '../pipeline/options.js';
import { refuseDisallowedUrl } from '../url-policy.js';
import { startServer, type RunningServer } from '../api/server.js';
import { createMetrics } from '../api/metrics.js';
import { serveProbes } from '../api/probe-server.js';
import { readinessChecks } from '../api/readiness.js';
import { enqueueIngest, ingestQueue, redisAnswers } from '../../jobs/queue.js';
import { bullIngestJobs } from '../../jobs/ingest-jobs.js';
import { startWorker, type RunningWorker } from '../../jobs/worker.js';

/** The bundled sample, from dist/src/cli/ or src/cli/. */
const DATA_DIR = fileURLToPath(new URL('../../../data/', import.meta.url));

/** The store's own options, from the configuration. */
export function storeOptions(config: Config): StoreOptions {
  return config.store === 'questdb'
    ? { kind: 'questdb', clientConf: config.questdbConf!, timeoutMs: config.storeTimeoutMs, readConnections: config.questdbReadConnections }
    : { kind: 'duckdb', path: config.duckdbPath, memoryLimit: config.duckdbMemory, bookCacheBytes: config.duckdbBookCacheMb * 2 ** 20 };
}

export interface RunningServices extends RunningServer {
  /** The ingest worker `serve` runs itself with the embedded store, else null. */
  worker: RunningWorker | null;
}

/**
 * What `serve` runs: the HTTP API and the TCP replay port, and the job queue
 * when Redis answers. Without Redis the read side still works and job routes
 * answer 503. With the embedded DuckDB store the ingest worker runs inside
 * this process (DuckDB allows one process per file); with QuestDB run
 * `booktape worker` processes instead. close() stops all of it, store aside.
 */
export async function startServices(config: Config, store: SnapshotStore, log: Logger): Promise<RunningServices> {
  const hasRedis = await redisAnswers(config.redisUrl);
  if (!hasRedis) log.warn({ redis: config.redisUrl }, 'no Redis: serving reads only; ingest jobs and Bull Board are unavailable');
  const queue = hasRedis ? ingestQueue(config) : null;
  const jobs = queue === null ? null : bullIngestJobs(queue);
  const metrics = createMetrics(jobs, store);
  const worker = hasRedis && store.kind === 'duckdb' ? await startWorker(config, store, log, metrics.ingest) : null;
  const server = await startServer({ config, store, jobs, metrics, log });
  return {
    ...server,
    worker,
    async close() {
      await server.close();
      await worker?.close();
      await queue?.close();
    },
  };
}

export async function ingestCommand(source: string): Promise<void> {
  const config = loadConfig();
  const store = openStore(storeOptions(config));
  try {
    await store.init();
    const summary = await ingest(source, {
      ...ingestOptions(config, store),
      onProgress: (p) => {
        if (process.stderr.isTTY) process.stderr.write(`\rbooktape: ${p.records} records${p.percent === null ? '' : ` (${p.percent}%)`}   `);
      },
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    process.stdout.write(JSON.stringify(summary, null, 1) + '\n');
  } finally {
    await store.close();
  }
}

export async function enqueueCommand(source: string): Promise<void> {
  const config = loadConfig();
  refuseDisallowedUrl(source, config.url);
  const queue = ingestQueue(config);
  try {
    const { job, existing } = await enqueueIngest(queue, { source });
    process.stdout.write(JSON.stringify({ jobId: job.id, existing, state: await job.getState() }) + '\n');
  } finally {
    await queue.close();
  }
}

export async function workerCommand(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'booktape-worker');
  const store = openStore(storeOptions(config));
  await store.init();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'booktape_' });
  const running = await startWorker(config, store, log, ingestMetrics(registry));
  const jobs = bullIngestJobs(running.queue);
  const metrics = config.metricsPort === undefined
    ? null
    : await serveProbes(registry, config.metricsPort, () => readinessChecks(store, jobs)); // ready as the API's /readyz
  const metricsAt = metrics === null ? null : `http://localhost:${(metrics.address() as AddressInfo).port}/metrics`;
  log.info({ store: store.kind, concurrency: config.workerConcurrency, scan: config.scanEveryMs ?? config.scanCron ?? null, metrics: metricsAt }, 'worker ready');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down: finishing active jobs');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await running.close();
  metrics?.close();
  await store.close();
  log.info('worker stopped');
}

export async function serveCommand(): Promise<void> {
  const config = loadConfig();
  const store = openStore(storeOptions(config));
  await store.init();
  await serveUntilStopped(config, store, createLogger(config.logLevel, 'booktape-api'));
}

export async function demoCommand(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, 'booktape-demo');
  const store = openStore(storeOptions(config));
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
  const server = await startServices(config, store, log);
  const base = `http://localhost:${server.httpPort}`;
  log.info({ http: base, tcp: server.tcpPort, store: store.kind, worker: server.worker !== null }, 'serving');
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
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  log.info('shutting down');
  await server.close();
  await store.close();
}
