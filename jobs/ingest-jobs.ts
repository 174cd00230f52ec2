// jobs/: BullMQ on Redis: the ingest queue and worker, the inbox scanner, IngestJobs on a queue.
import type { RequestHandler } from 'express';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Config } from '../src/config.js';
import type { IngestJobs } from '../src/api/jobs.js';
import type { IngestProgress } from '../src/pipeline/ingest.js';
import type { IngestResultJson } from '../src/pipeline/summary-json.js';
import { enqueueIngest, ingestQueue, probeJobCounts, readIngestJob, REDIS_PROBE_MS, type IngestJobData } from './queue.js';
import { isConnectionError, jobsUnavailable, redisBackoff, withinMs } from './redis.js';
import { BooktapeError } from '../src/errors.js';
import { z } from 'zod';

/** Progress as the worker stores it (IngestProgress). */
const StoredProgress = z.object({
  records: z.number(), bytes: z.number(), totalBytes: z.number().nullable(), percent: z.number().nullable(), snapshots: z.number().default(0),
});

/**
 * A job's progress, the same shape whatever its state. BullMQ gives a job
 * the number 0 until its run first reports, which a job waiting, or failed
 * before decoding began (a missing file, a bad header), never did.
 */
function progressOf(stored: unknown): IngestProgress {
  const parsed = StoredProgress.safeParse(stored);
  return parsed.success ? parsed.data : { records: 0, bytes: 0, totalBytes: null, percent: 0, snapshots: 0 };
}

/** `work` within `ms`, its connection failures (a Redis lost mid-command) as JOBS_UNAVAILABLE. */
async function redisCall<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  try {
    return await withinMs(work, ms, what);
  } catch (err) {
    if (err instanceof BooktapeError || !isConnectionError(err)) throw err;
    throw jobsUnavailable(`${what}: ${(err as Error).message}`);
  }
}

/**
 * The API's IngestJobs on the BullMQ ingest queue, answered or refused
 * within `timeoutMs` whatever Redis is doing. It has a connection of its
 * own, so that its state can be read at once: a command is sent only while
 * it is 'ready', never queued while it is not (a request answered 503 must
 * not be carried out when Redis comes back), and a write first needs Redis
 * to answer a PING in time (a Redis that hangs with its connection open
 * would otherwise get the job once it woke; the window left is a Redis that
 * hangs between the two).
 */
export class RedisIngestJobs implements IngestJobs {
  readonly queue: Queue<IngestJobData, IngestResultJson>;
  private readonly redis: Redis;

  constructor(config: Pick<Config, 'redisUrl' | 'queuePrefix' | 'jobAttempts' | 'jobBackoffMs'>, private readonly timeoutMs = REDIS_PROBE_MS) {
    this.redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: redisBackoff, connectTimeout: timeoutMs });
    this.redis.on('error', () => undefined); // its state is read from `status`; the worker side logs outages
    this.queue = ingestQueue(config, { connection: this.redis });
    this.queue.on('error', () => undefined);
  }

  /** Throws JOBS_UNAVAILABLE unless the connection to Redis is up. */
  private available(): void {
    if (this.redis.status !== 'ready') throw jobsUnavailable(`jobs need Redis, and it is not connected (${this.redis.status}); retry shortly`);
  }

  async enqueue(source: string, opts: { force?: boolean } = {}) {
    this.available();
    await redisCall(this.redis.ping(), this.timeoutMs, 'enqueue');
    return redisCall((async () => {
      const { job, existing } = await enqueueIngest(this.queue, { source }, { force: opts.force });
      return { id: String(job.id), existing, state: await job.getState() };
    })(), this.timeoutMs, 'enqueue');
  }

  async read(id: string) {
    this.available();
    const reading = await redisCall(readIngestJob(this.queue, id), this.timeoutMs, 'reading the job');
    if (reading === null) return null;
    const { job, state } = reading;
    // BullMQ counts a run that ended by itself (attemptsMade) apart from one whose worker died (stalledCounter).
    const lastAttemptError = job.failedReason || null;
    return {
      id: String(job.id), state, source: job.data.source,
      attemptsMade: job.attemptsMade + job.stalledCounter, attemptsStalled: job.stalledCounter,
      progress: progressOf(job.progress), summary: job.returnvalue ?? null,
      error: state === 'failed' ? lastAttemptError : null, lastAttemptError,
    };
  }

  async probe(): Promise<void> {
    this.available();
    await redisCall(this.queue.getJobCounts('waiting'), this.timeoutMs, 'the queue');
  }

  async counts(states: readonly string[]) {
    this.available();
    return redisCall(this.queue.getJobCounts(...states as Parameters<typeof probeJobCounts>[1]), this.timeoutMs, 'the queue');
  }

  /** Bull Board, behind a bounded round trip to Redis: its own calls would wait on Redis as long as it takes. */
  dashboard(basePath: string): RequestHandler {
    const board = new ExpressAdapter();
    board.setBasePath(basePath);
    createBullBoard({ queues: [new BullMQAdapter(this.queue)], serverAdapter: board });
    const router = board.getRouter() as RequestHandler;
    return (req, res, next) => {
      this.probe().then(() => router(req, res, next), (err: unknown) => next(err));
    };
  }

  async close(): Promise<void> {
    await withinMs(this.queue.close(), this.timeoutMs, 'closing the queue').catch(() => undefined);
    this.redis.disconnect();
  }
}
