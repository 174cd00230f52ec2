import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { Queue, type ConnectionOptions, type Job, type JobState } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../src/config.js';
import type { IngestSummary } from '../src/pipeline/ingest.js';

export const INGEST_QUEUE = 'ingest';
export const SCAN_QUEUE = 'scan';

/** What an ingest job carries. The content hash is known when the scheduler read the file. */
export const IngestJobData = z.object({
  source: z.string().min(1).max(4096),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});
export type IngestJobData = z.infer<typeof IngestJobData>;
export type IngestJob = Job<IngestJobData, IngestSummary>;

/**
 * A job id derived from the source (and its content, when known), so the
 * same file is never queued twice while a job for it exists.
 */
export function ingestJobId(data: IngestJobData): string {
  const source = createHash('sha256').update(data.source).digest('hex').slice(0, 24);
  return data.sha256 ? `ingest-${source}-${data.sha256.slice(0, 16)}` : `ingest-${source}`;
}

export function redisConnection(config: Pick<Config, 'redisUrl'>): ConnectionOptions {
  const u = new URL(config.redisUrl);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    // BullMQ workers block on Redis; they must not give up on a slow command.
    maxRetriesPerRequest: null,
  };
}

export function ingestQueue(config: Pick<Config, 'redisUrl' | 'queuePrefix' | 'jobAttempts' | 'jobBackoffMs'>): Queue<IngestJobData, IngestSummary> {
  return new Queue<IngestJobData, IngestSummary>(INGEST_QUEUE, {
    connection: redisConnection(config),
    prefix: config.queuePrefix,
    defaultJobOptions: {
      attempts: config.jobAttempts,
      backoff: { type: 'exponential', delay: config.jobBackoffMs },
      // Bounded history: Bull Board shows recent jobs; runs are recorded in the store.
      removeOnComplete: { count: 1000, age: 7 * 24 * 3600 },
      removeOnFail: { count: 5000, age: 30 * 24 * 3600 },
    },
  });
}

export interface Enqueued {
  job: IngestJob;
  /** True when a job for this source already existed and was returned instead. */
  existing: boolean;
}

/**
 * Queues a source once: an existing waiting, active, delayed or completed job
 * is returned as it is. A failed one is retried when `retryFailed` (a user
 * asking again), left alone otherwise (the scheduler must not loop on a bad file).
 */
export async function enqueueIngest(
  queue: Queue<IngestJobData, IngestSummary>,
  input: unknown,
  opts: { retryFailed: boolean } = { retryFailed: true },
): Promise<Enqueued> {
  const data = IngestJobData.parse(input);
  const jobId = ingestJobId(data);
  const found = (await queue.getJob(jobId)) as IngestJob | undefined;
  if (found) {
    if (opts.retryFailed && (await found.getState()) === 'failed') await found.retry();
    return { job: found, existing: true };
  }
  const job = (await queue.add('ingest', data, { jobId })) as IngestJob;
  return { job, existing: false };
}

export interface JobReading {
  job: IngestJob;
  state: JobState | 'unknown';
}

/**
 * A job's fields and its state as one consistent reading, or null when there
 * is no such job. They are separate Redis reads, and a job that moves in
 * between (a retry, a worker finishing it) would pair old fields with the new
 * state: "failed" with no error. So the state is read on both sides of the
 * fields, and all again until the two agree (a few tries at most).
 */
export async function readIngestJob(queue: Queue<IngestJobData, IngestSummary>, id: string, tries = 5): Promise<JobReading | null> {
  for (let i = 1; ; i++) {
    const before = await queue.getJobState(id);
    const job = (await queue.getJob(id)) as IngestJob | undefined;
    if (!job) return null;
    const state = await job.getState();
    if (state === before || i >= tries) return { job, state };
  }
}

/** How long a health or metrics read waits on Redis: a probe must answer, not hang. */
export const REDIS_PROBE_MS = 1000;

/**
 * The queue's job counts by state, or an error once Redis has not answered
 * within `timeoutMs`. Queue connections retry commands for as long as Redis
 * is away (workers must not give up), so without the limit a readiness probe
 * or a metrics scrape would wait with them.
 */
export async function probeJobCounts(queue: Queue, states: JobState[], timeoutMs = REDIS_PROBE_MS): Promise<Record<string, number>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([queue.getJobCounts(...states), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether Redis answers a PING at `url` now: one short try, no retries (a process decides at start whether it has jobs). */
export async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}
