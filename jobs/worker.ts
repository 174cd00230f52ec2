import { randomUUID } from 'node:crypto';
import { DelayedError, Queue, UnrecoverableError, Worker, type ConnectionOptions, type MinimalJob } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { ingest, type IngestProgress } from '../src/pipeline/ingest.js';
import { IngestError, toIngestError } from '../src/pipeline/errors.js';
import { ingestOptions } from '../src/pipeline/options.js';
import type { IngestMetrics } from '../src/pipeline/metrics.js';
import { ingestSummaryJson, type IngestResultJson } from '../src/pipeline/summary-json.js';
import { probeStoreWrite } from '../src/api/readiness.js';
import type { IngestRun, SnapshotStore } from '../src/store/port.js';
import { INGEST_QUEUE, IngestJobData, SCAN_QUEUE, backoffDelay, ingestQueue, redisConnection, type IngestJob } from './queue.js';
import { RedisStateLog, isConnectionError } from './redis.js';
import { scanInbox } from './scan.js';
import { runDatabentoSchedule } from './databento-schedule.js';
import { isDatabentoSource } from '../src/databento-request.js';

export interface RunningWorker {
  ingest: Worker<IngestJobData, IngestResultJson>;
  /** The ingest queue, for the scanner and for readiness probes. */
  queue: Queue<IngestJobData, IngestResultJson>;
  scan: Worker | null;
  /**
   * Stops taking jobs, stops the active ones and hands them back to the
   * queue (a hand-back costs the job no attempt), then closes every
   * connection. Waits on Redis and the store: callers bound it in time.
   */
  close(): Promise<void>;
}

/**
 * A job's progress as stored in Redis: the pipeline's figures and the run
 * that reported them. When a worker dies, its run's last progress is what
 * the run taking the job over knows of it.
 */
export interface JobProgress extends IngestProgress {
  runId: string;
  /** ISO instants: when the run started, and when it reported this. */
  startedAt: string;
  updatedAt: string;
  /** The job's stalledCounter when this run started: a higher one later means this run's worker died. */
  stalledBefore: number;
}

/** The run a job's stored progress names, or null (no run reported any). */
function runOf(progress: unknown): JobProgress | null {
  const p = progress as Partial<JobProgress> | null;
  return p !== null && typeof p === 'object' && typeof p.runId === 'string' && typeof p.stalledBefore === 'number' ? p as JobProgress : null;
}

/**
 * Sends a job's progress to Redis without holding up the ingest: one update
 * in flight at a time, and only the latest waits behind it. A failed update
 * (Redis away or restarted) is logged once per job and never fails the work.
 * Every update names the run (JobProgress).
 */
class ProgressReporter {
  private inFlight: Promise<void> | null = null;
  private next: JobProgress | null = null;
  private warned = false;

  constructor(private readonly job: IngestJob, private readonly log: Logger, private readonly run: Pick<JobProgress, 'runId' | 'startedAt' | 'stalledBefore'>) {}

  report(p: IngestProgress): void {
    this.next = { ...p, ...this.run, updatedAt: new Date().toISOString() };
    if (this.inFlight === null) this.inFlight = this.drain();
  }

  /** Resolves once the last reported figures were sent (or failed). */
  async settled(): Promise<void> {
    while (this.inFlight !== null) await this.inFlight;
  }

  private async drain(): Promise<void> {
    while (this.next !== null) {
      const p = this.next;
      this.next = null;
      try {
        await this.job.updateProgress(p);
      } catch (err) {
        if (!this.warned) this.log.warn({ job_id: this.job.id, err: (err as Error).message }, 'job progress not recorded; the ingest goes on');
        this.warned = true;
      }
    }
    this.inFlight = null;
  }
}

/**
 * The runs of this worker, each with the means to stop it, and when its
 * job's lock was last renewed. A run whose lock could not be renewed (Redis
 * away for longer than the lock, or the lock taken over) is stopped: the
 * job may already be another worker's, and two runs of one job must not
 * both go on to "succeed".
 */
class ActiveRuns {
  private readonly runs = new Map<string, { stop: AbortController; renewedAt: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly lockMs: number, private readonly log: Logger) {
    this.timer = setInterval(() => this.stopLapsed(), Math.max(100, Math.floor(lockMs / 4)));
    this.timer.unref();
  }

  start(jobId: string): AbortSignal {
    const stop = new AbortController();
    this.runs.set(jobId, { stop, renewedAt: Date.now() });
    return stop.signal;
  }

  end(jobId: string): void {
    this.runs.delete(jobId);
  }

  renewed(jobIds: string[]): void {
    const now = Date.now();
    for (const id of jobIds) {
      const run = this.runs.get(id);
      if (run) run.renewedAt = now;
    }
  }

  lockLost(jobIds: string[], why: string): void {
    for (const id of jobIds) {
      const run = this.runs.get(id);
      if (run === undefined || run.stop.signal.aborted) continue;
      this.log.warn({ job_id: id, reason: why }, 'job lock lost: stopping this run; the job is handed to whichever worker holds it');
      run.stop.abort(new IngestError('LOCK_LOST', 'unavailable', `this worker lost the job's lock (${why}); the job is retried, by this worker or another`));
    }
  }

  stopAll(reason: IngestError): void {
    for (const run of this.runs.values()) if (!run.stop.signal.aborted) run.stop.abort(reason);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private stopLapsed(): void {
    const now = Date.now();
    const lapsed = [...this.runs].filter(([, r]) => now - r.renewedAt > this.lockMs).map(([id]) => id);
    if (lapsed.length > 0) this.lockLost(lapsed, `not renewed for over ${this.lockMs} ms, BOOKTAPE_JOB_LOCK_MS`);
  }
}

/** The job schedulers on the scan queue: the inbox scanner's and the Databento schedule's. */
const INBOX_SCHEDULER = 'inbox-scan';
const DATABENTO_SCHEDULER = 'databento-schedule';
/**
 * How often workers look for jobs whose lock lapsed (their worker died): a
 * job is taken over at most this long after its lock lapses, so at most
 * BOOKTAPE_JOB_LOCK_MS + this after its worker died (docs/operations.md).
 * Half the lock at most (BullMQ marks a job at one check and takes it at a
 * later one), 5 s at most: a check is one small script on Redis.
 */
export function stallCheckMs(lockMs: number): number {
  return Math.max(500, Math.min(Math.floor(lockMs / 2), 5_000));
}

/** How often a worker kept off jobs by its store checks it again. */
const STORE_RECHECK_MS = 5_000;

/**
 * Keeps a worker off jobs while its store cannot take writes (a full disk,
 * an immutable or deleted file): checked before each run; on failure the
 * worker pauses, logs once, checks again every STORE_RECHECK_MS and resumes
 * (logging once) when a write lands. Jobs meanwhile wait in the queue for
 * workers that can write, instead of failing here one after another.
 */
class StoreGate {
  private blocked: NodeJS.Timeout | null = null;

  constructor(private readonly store: SnapshotStore, private readonly log: Logger, private readonly worker: () => Worker) {}

  /** null when writes land; else why not (and the worker is paused until they do). */
  async check(): Promise<string | null> {
    const problem = await this.problem();
    if (problem !== null && this.blocked === null) {
      this.log.error({ err: problem, recheck_ms: STORE_RECHECK_MS }, 'store does not take writes: taking no jobs until it does');
      void this.worker().pause(true);
      this.blocked = setInterval(() => void this.recheck(), STORE_RECHECK_MS);
    }
    return problem;
  }

  close(): void {
    if (this.blocked !== null) clearInterval(this.blocked);
    this.blocked = null;
  }

  private async recheck(): Promise<void> {
    if (this.blocked === null || (await this.problem()) !== null || this.blocked === null) return;
    this.close();
    this.log.info('store takes writes again: taking jobs');
    this.worker().resume();
  }

  private async problem(): Promise<string | null> {
    try {
      await probeStoreWrite(this.store);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  }
}

/**
 * How loudly a failed job is logged: an outage or a defect is an error for
 * an operator; a bad source or file (not found, not MBO, refused) is the
 * submitter's to fix, a warning that still shows in the log.
 */
function failedJobLevel(e: IngestError): 'error' | 'warn' {
  return e.kind === 'internal' || e.kind === 'unavailable' ? 'error' : 'warn';
}

/** A failed run BullMQ retries: its message, and the wait a remote service asked for (read by the backoff strategy). */
class RetryLater extends Error {
  constructor(message: string, readonly retryAfterMs: number | undefined) {
    super(message);
  }
}

/**
 * The ingest worker. The pipeline's CPU work runs in a worker thread per job,
 * so this event loop keeps renewing job locks; several workers (processes or
 * machines) on one queue share the work. When the configuration names a scan
 * interval or cron, the worker also runs the inbox scanner as a BullMQ job
 * scheduler (upserted, so many workers keep one schedule).
 *
 * A job runs at most BOOKTAPE_JOB_ATTEMPTS times, whether its runs failed or
 * their worker died (a stall): BullMQ counts the two apart, so the processor
 * adds them up itself, and BullMQ's own stall limit is set above it.
 */
export async function startWorker(config: Config, store: SnapshotStore, log: Logger, metrics?: IngestMetrics): Promise<RunningWorker> {
  const connection: ConnectionOptions = redisConnection(config);
  const runs = new ActiveRuns(config.jobLockMs, log);
  const redis = new RedisStateLog(log, 'worker');
  const gate = new StoreGate(store, log, () => worker);

  /**
   * Records the runs of a job that its dying workers left unrecorded: each
   * stall since the run `last` (the job's stored progress) names is one run
   * cut short. That run is recorded as its last progress report left it
   * (records decoded, rows written, when it was last heard of); runs that
   * died before reporting anything, with what the job knows (its source).
   */
  const recordAbandoned = async (job: IngestJob, last: JobProgress | null) => {
    const lost = job.stalledCounter - (last?.stalledBefore ?? 0);
    for (let k = 0; k < lost; k++) {
      const known = k === 0 ? last : null;
      const now = new Date();
      const run: IngestRun = {
        runId: known?.runId ?? `${job.id}-stall-${job.stalledCounter - lost + k + 1}`,
        source: job.data.source, sha256: job.data.sha256 ?? '', dataset: '', schema: '', symbols: [],
        records: known?.records ?? 0, snapshots: known?.snapshots ?? 0, trades: 0, anomalies: {},
        startedAt: known ? new Date(known.startedAt) : now, finishedAt: known ? new Date(known.updatedAt) : now,
        status: 'abandoned',
        error: `[WORKER_LOST] the worker running this attempt stopped without finishing (killed, out of memory, or its machine lost); ${known ? 'its last progress report is what this row shows' : 'it stopped before reporting any progress'}, and the job was taken over once its lock lapsed`,
      };
      log.warn({ job_id: job.id, run_id: run.runId, records: run.records, snapshots: run.snapshots }, 'a run of this job was cut short by its worker dying; recorded as abandoned');
      await store.recordRun(run).catch((err: unknown) => log.error({ job_id: job.id, err: (err as Error).message }, 'could not record the abandoned run in the store'));
    }
  };

  /** A job that failed before or without a run of the pipeline: logged, counted and recorded as ingest() records its own. */
  const recordFailure = async (job: IngestJob, e: IngestError) => {
    metrics?.jobs.inc({ outcome: 'failed' });
    log[failedJobLevel(e)]({ job_id: job.id, source: job.data.source, code: e.code, err: e.message }, 'ingest job failed');
    const now = new Date();
    await store.recordRun({
      runId: `${job.id}-${job.attemptsStarted}`, source: job.data.source, sha256: job.data.sha256 ?? '', dataset: '', schema: '', symbols: [],
      records: 0, snapshots: 0, trades: 0, anomalies: {}, startedAt: now, finishedAt: now, status: 'failed', error: `[${e.code}] ${e.message}`,
    }).catch((err: unknown) => log.error({ job_id: job.id, err: (err as Error).message }, 'could not record the failed run in the store'));
  };

  const worker = new Worker<IngestJobData, IngestResultJson>(
    INGEST_QUEUE,
    async (job: IngestJob, token?: string) => {
      const data = IngestJobData.parse(job.data);
      if ((await gate.check()) !== null) {
        // Not this job's failure: back to the queue, no attempt spent, for a worker that can write.
        await job.moveToDelayed(Date.now() + STORE_RECHECK_MS, token);
        throw new DelayedError();
      }
      const runsSoFar = job.attemptsMade + job.stalledCounter;
      const previous = runOf(job.progress);
      if (job.stalledCounter > 0 && runsSoFar >= config.jobAttempts) {
        await recordAbandoned(job, previous);
        const e = new IngestError('JOB_STALLED', 'unavailable', `the job ran ${runsSoFar} times (${job.stalledCounter} of them stopped by a worker that died) without finishing; BOOKTAPE_JOB_ATTEMPTS is ${config.jobAttempts}`);
        await recordFailure(job, e);
        // Final for this job's attempts, but not a bad file: the inbox scanner may queue it again later.
        throw new UnrecoverableError(`[${e.code}] ${e.message}`);
      }
      // A Databento request already ingested is not bought again, unless the user asked for a rerun.
      if (isDatabentoSource(data.source) && !data.force && (await store.hasIngested(data.source))) {
        log.info({ job_id: job.id, source: data.source }, 'Databento request already ingested: nothing downloaded');
        metrics?.jobs.inc({ outcome: 'completed' });
        return { source: data.source, already_ingested: true };
      }
      const run = { runId: randomUUID(), startedAt: new Date().toISOString(), stalledBefore: job.stalledCounter };
      const progress = new ProgressReporter(job, log, run);
      // This run is named in Redis before it does anything, so that were this
      // worker to die, the run taking the job over records it; then the
      // runs that died before this one are recorded.
      progress.report({ bytes: 0, totalBytes: null, records: 0, snapshots: 0, percent: 0 });
      await progress.settled();
      await recordAbandoned(job, previous);
      log.info({ job_id: job.id, run_id: run.runId, source: data.source, attempt: runsSoFar + 1, of: config.jobAttempts }, 'ingest started');
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
      const signal = runs.start(job.id!);
      try {
        const summary = await ingest(data.source, {
          ...ingestOptions(config, store),
          signal,
          runId: run.runId,
          onProgress: (p) => {
            countRecords(p.records);
            progress.report(p);
          },
        });
        await progress.settled();
        countRecords(summary.records);
        metrics?.snapshots.inc(summary.snapshots);
        metrics?.trades.inc(summary.trades);
        finished('completed');
        log.info({ job_id: job.id, records: summary.records, snapshots: summary.snapshots, records_per_sec: summary.recordsPerSec }, 'ingest finished');
        return ingestSummaryJson(summary);
      } catch (err) {
        const e = toIngestError(err);
        if (e.code === 'SHUTDOWN') {
          // Back to the queue at once, without spending an attempt: the run was stopped, it did not fail.
          log.info({ job_id: job.id }, 'ingest stopped for shutdown; job handed back to the queue');
          await job.moveToDelayed(Date.now(), token);
          throw new DelayedError();
        }
        finished('failed');
        const last = e.permanent || job.attemptsMade + 1 >= config.jobAttempts;
        if (last) log[failedJobLevel(e)]({ job_id: job.id, source: data.source, code: e.code, err: e.message }, 'ingest job failed');
        else log.warn({ job_id: job.id, code: e.code, err: e.message, attempt: runsSoFar + 1, of: config.jobAttempts, retry_after_ms: e.retryAfterMs }, 'ingest failed; will retry');
        // A corrupt file or a refused source will not get better on retry (FAILURE_KINDS says which).
        if (e.permanent) throw new UnrecoverableError(`[${e.code}] ${e.message}`);
        throw new RetryLater(`[${e.code}] ${e.message}`, e.retryAfterMs);
      } finally {
        runs.end(job.id!);
      }
    },
    {
      connection,
      prefix: config.queuePrefix,
      concurrency: config.workerConcurrency,
      lockDuration: config.jobLockMs,
      stalledInterval: stallCheckMs(config.jobLockMs),
      // The processor enforces the attempts across failures and stalls; this only backs it up.
      maxStalledCount: config.jobAttempts,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, err?: Error, job?: MinimalJob) =>
          backoffDelay(attemptsMade, (job?.opts.backoff as { delay?: number } | undefined)?.delay ?? config.jobBackoffMs, err),
      },
    },
  );
  worker.on('error', (err) => {
    if (isConnectionError(err)) redis.lost(err);
    else log.error({ err: err.message }, 'worker error');
  });
  worker.on('lockRenewalFailed', (jobIds: string[]) => runs.lockLost(jobIds, 'Redis refused to renew it'));
  worker.on('locksRenewed', ({ jobIds }: { jobIds: string[] }) => {
    redis.back();
    runs.renewed(jobIds);
  });
  // After an outage, the connection's own 'ready' says Redis is back (an idle worker renews no locks).
  worker.backend.on('ready', () => redis.back());
  // Failed without a run of the processor: BullMQ's own stall limit.
  worker.on('failed', (job, err) => {
    if (job && /allowable limit/.test(err.message)) {
      const stalled = job as IngestJob;
      void recordAbandoned(stalled, runOf(stalled.progress)).then(() => recordFailure(stalled, new IngestError('JOB_STALLED', 'unavailable', err.message)));
    }
  });

  let scan: Worker | null = null;
  let scanQueue: Queue | null = null;
  const queue = ingestQueue(config);
  queue.on('error', (err) => {
    if (isConnectionError(err)) redis.lost(err);
    else log.error({ err: err.message }, 'queue error');
  });
  const inboxScan = config.scanEveryMs !== undefined || config.scanCron !== undefined;
  const databentoSchedule = config.databento.cron !== undefined;
  if (inboxScan || databentoSchedule) {
    scanQueue = new Queue(SCAN_QUEUE, { connection, prefix: config.queuePrefix });
    scanQueue.on('error', (err) => { if (!isConnectionError(err)) log.error({ err: err.message }, 'scan queue error'); });
    // Each scheduler as the settings say: upserted (many workers keep one), or removed once turned off.
    const kept = { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } };
    if (inboxScan) {
      await scanQueue.upsertJobScheduler(INBOX_SCHEDULER, config.scanCron !== undefined ? { pattern: config.scanCron } : { every: config.scanEveryMs! }, { name: 'scan', opts: kept });
    } else await scanQueue.removeJobScheduler(INBOX_SCHEDULER);
    // The cron is UTC, as the days it names.
    if (databentoSchedule) await scanQueue.upsertJobScheduler(DATABENTO_SCHEDULER, { pattern: config.databento.cron!, tz: 'UTC' }, { name: 'databento', opts: kept });
    else await scanQueue.removeJobScheduler(DATABENTO_SCHEDULER);
    scan = new Worker(
      SCAN_QUEUE,
      async (job) => {
        // A run queued before its schedule was turned off does nothing.
        if (job.name === 'databento') {
          if (!databentoSchedule) return null;
          const days = await runDatabentoSchedule(config, store, queue);
          log.info({ ...days }, 'Databento schedule ran');
          return days;
        }
        if (!inboxScan) return null;
        const found = await scanInbox(config, store, queue);
        if (found.queued.length > 0) log.info({ queued: found.queued }, 'inbox scan queued files');
        return found;
      },
      { connection, prefix: config.queuePrefix, concurrency: 1 },
    );
    scan.on('error', (err) => { if (!isConnectionError(err)) log.error({ err: err.message }, 'scan worker error'); });
    // A schedule run that fails (Databento refused the key, or did not answer) is tried again on its next tick.
    scan.on('failed', (job, err) => log.error({ scheduler: job?.name, err: err.message }, 'scheduled run failed'));
  }
  return {
    ingest: worker,
    queue,
    scan,
    async close() {
      runs.stopAll(new IngestError('SHUTDOWN', 'unavailable', 'the worker is shutting down; the job goes back to the queue'));
      gate.close();
      await Promise.all([worker.close(), scan?.close()]);
      runs.close();
      await Promise.all([queue.close(), scanQueue?.close()]);
    },
  };
}
