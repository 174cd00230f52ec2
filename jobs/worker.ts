import { Queue, UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { ingest, type IngestSummary } from '../src/pipeline/ingest.js';
import { toIngestError } from '../src/pipeline/errors.js';
import { ingestOptions } from '../src/pipeline/options.js';
import type { SnapshotStore } from '../src/store/port.js';
import { INGEST_QUEUE, IngestJobData, SCAN_QUEUE, ingestQueue, redisConnection, type IngestJob } from './queue.js';
import { scanInbox } from './scan.js';
import type { IngestMetrics } from '../src/pipeline/metrics.js';

export interface RunningWorker {
  ingest: Worker<IngestJobData, IngestSummary>;
  /** The ingest queue, for the scanner and for readiness probes. */
  queue: Queue<IngestJobData, IngestSummary>;
  scan: Worker | null;
  /** Finishes active jobs (or hands them back), then closes every connection. */
  close(): Promise<void>;
}

/**
 * The ingest worker. The pipeline's CPU work runs in a worker thread per job,
 * so this event loop keeps renewing job locks; several workers (processes or
 * machines) on one queue share the work. When the configuration names a scan
 * interval or cron, the worker also runs the inbox scanner as a BullMQ job
 * scheduler (upserted, so many workers keep one schedule).
 */
export async function startWorker(config: Config, store: SnapshotStore, log: Logger, metrics?: IngestMetrics): Promise<RunningWorker> {
  const connection: ConnectionOptions = redisConnection(config);
  const worker = new Worker<IngestJobData, IngestSummary>(
    INGEST_QUEUE,
    async (job: IngestJob) => {
      const data = IngestJobData.parse(job.data);
      log.info({ jobId: job.id, source: data.source, attempt: job.attemptsMade + 1 }, 'ingest started');
      const started = performance.now();
      let counted = 0; // records already added to the metrics, from progress
      const countRecords = (decoded: number) => {
        metrics?.records.inc(Math.max(0, decoded - counted));
        counted = Math.max(counted, decoded);
      };
      const finished = (outcome: 'completed' | 'failed') => {
        metrics?.jobs.inc({ outcome });
        metrics?.seconds.observe({ outcome }, (performance.now() - started) / 1000);
      };
      try {
        const summary = await ingest(data.source, {
          ...ingestOptions(config, store),
          onProgress: (p) => {
            countRecords(p.records);
            return job.updateProgress(p);
          },
        });
        countRecords(summary.records);
        metrics?.snapshots.inc(summary.snapshots);
        metrics?.trades.inc(summary.trades);
        finished('completed');
        log.info({ jobId: job.id, records: summary.records, snapshots: summary.snapshots, recordsPerSec: summary.recordsPerSec }, 'ingest finished');
        return summary;
      } catch (err) {
        finished('failed');
        const e = toIngestError(err);
        log.warn({ jobId: job.id, code: e.code, message: e.message }, 'ingest failed');
        // A corrupt file or a refused source will not get better on retry (FAILURE_KINDS says which).
        if (e.permanent) throw new UnrecoverableError(`[${e.code}] ${e.message}`);
        throw new Error(`[${e.code}] ${e.message}`);
      }
    },
    {
      connection,
      prefix: config.queuePrefix,
      concurrency: config.workerConcurrency,
      lockDuration: config.jobLockMs,
      stalledInterval: Math.max(500, Math.floor(config.jobLockMs / 2)),
    },
  );
  worker.on('error', (err) => log.error({ err: err.message }, 'worker error'));

  let scan: Worker | null = null;
  let scanQueue: Queue | null = null;
  const queue = ingestQueue(config);
  if (config.scanEveryMs !== undefined || config.scanCron !== undefined) {
    scanQueue = new Queue(SCAN_QUEUE, { connection, prefix: config.queuePrefix });
    await scanQueue.upsertJobScheduler(
      'inbox-scan',
      config.scanCron !== undefined ? { pattern: config.scanCron } : { every: config.scanEveryMs! },
      { name: 'scan', opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
    );
    scan = new Worker(
      SCAN_QUEUE,
      async () => {
        const found = await scanInbox(config, store, queue);
        if (found.queued.length > 0) log.info({ queued: found.queued }, 'inbox scan queued files');
        return found;
      },
      { connection, prefix: config.queuePrefix, concurrency: 1 },
    );
  }
  return {
    ingest: worker,
    queue,
    scan,
    async close() {
      await Promise.all([worker.close(), scan?.close()]);
      await Promise.all([queue.close(), scanQueue?.close()]);
    },
  };
}
