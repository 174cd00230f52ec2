/**
 * The job side as a server process uses it (the API's routes, its
 * readiness): enqueue, read, probe, each answered or refused within about a
 * second whatever Redis is doing. While Redis is disconnected no command is
 * sent at all (a request answered 503 is then not carried out later).
 */
import type { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from '../src/config.js';
import type { IngestSummaryJson } from '../src/pipeline/summary-json.js';
import { enqueueIngest, ingestQueue, probeJobCounts, readIngestJob, REDIS_PROBE_MS, type EnqueueOptions, type Enqueued, type IngestJobData, type JobReading } from './queue.js';
import { JobsUnavailableError, redisBackoff, withinMs } from './redis.js';

export class IngestJobs {
  readonly queue: Queue<IngestJobData, IngestSummaryJson>;
  private readonly redis: Redis;

  constructor(config: Pick<Config, 'redisUrl' | 'queuePrefix' | 'jobAttempts' | 'jobBackoffMs'>, private readonly timeoutMs = REDIS_PROBE_MS) {
    // Its own connection, so that its state can be read at once: a command
    // is sent only while it is 'ready', and never queued while it is not.
    this.redis = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: redisBackoff, connectTimeout: timeoutMs });
    this.redis.on('error', () => undefined); // the state is read from `status`; outages are logged by whoever watches them
    this.queue = ingestQueue({ ...config }, { connection: this.redis });
    this.queue.on('error', () => undefined);
  }

  /** Throws JOBS_UNAVAILABLE unless the connection to Redis is up. */
  available(): void {
    if (this.redis.status !== 'ready') throw new JobsUnavailableError(`jobs need Redis, and it is not connected (${this.redis.status}); retry shortly`);
  }

  get connected(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * Queues a job. Redis must first answer a PING in time: a Redis that hangs
   * with its connection open would otherwise get the job once it woke, for
   * a request already answered 503 (the window left is a Redis that hangs
   * between the two).
   */
  async enqueue(input: unknown, opts?: EnqueueOptions): Promise<Enqueued & { state: string }> {
    this.available();
    await withinMs(this.redis.ping(), this.timeoutMs, 'enqueue');
    return withinMs((async () => {
      const enqueued = await enqueueIngest(this.queue, input, opts);
      return { ...enqueued, state: await enqueued.job.getState() };
    })(), this.timeoutMs, 'enqueue');
  }

  async read(id: string): Promise<JobReading | null> {
    this.available();
    return withinMs(readIngestJob(this.queue, id), this.timeoutMs, 'reading the job');
  }

  /** A real round trip to Redis, bounded in time: for readiness. */
  async probe(): Promise<void> {
    this.available();
    await probeJobCounts(this.queue, ['waiting'], this.timeoutMs);
  }

  async close(): Promise<void> {
    await withinMs(this.queue.close(), this.timeoutMs, 'closing the queue').catch(() => undefined);
    this.redis.disconnect();
  }
}

export type { Job };
