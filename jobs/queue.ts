import { createHash, randomUUID } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Queue, type ConnectionOptions, type Job, type JobState } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../src/config.js';
import type { IngestResultJson } from '../src/pipeline/summary-json.js';
import { isUrl } from '../src/url-policy.js';
import { databentoSource, isDatabentoSource, parseDatabentoSource } from '../src/databento-request.js';
import { redisBackoff } from './redis.js';

export const INGEST_QUEUE = 'ingest';
export const SCAN_QUEUE = 'scan';

/**
 * What an ingest job carries. The content hash is known when the scheduler
 * read the file; `version` (size and mtime) when the enqueuer could stat it.
 * `force`: a rerun the user asked for, run even if its Databento request was
 * already ingested. Never a credential: jobs live in Redis and Bull Board.
 */
export const IngestJobData = z.object({
  source: z.string().min(1).max(4096),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  version: z.string().max(64).optional(),
  force: z.boolean().optional(),
});
export type IngestJobData = z.infer<typeof IngestJobData>;
export type IngestJob = Job<IngestJobData, IngestResultJson>;

/**
 * A job id derived from the source and what is known of its content (its
 * size and mtime, else its hash), so the same content is never queued
 * twice while a job for it exists, and a file rewritten at the same path is
 * a new job.
 */
export function ingestJobId(data: IngestJobData): string {
  const source = createHash('sha256').update(data.source).digest('hex').slice(0, 24);
  const content = data.version ?? data.sha256;
  return content ? `ingest-${source}-${createHash('sha256').update(content).digest('hex').slice(0, 16)}` : `ingest-${source}`;
}

/**
 * A source as a job names it: a URL as given; a Databento request in its
 * one text form; a local path absolute, with
 * `..` and symlinks resolved (so `a/../a/x.dbn` is `a/x.dbn`), and, when
 * this process can see the file, its version: size and mtime, which change
 * when the file is rewritten. A path this process cannot see (workers on
 * another machine) keeps no version and is identified by path alone.
 */
export async function canonicalSource(data: IngestJobData): Promise<IngestJobData> {
  if (isDatabentoSource(data.source)) return { ...data, source: databentoSource(parseDatabentoSource(data.source)) };
  if (isUrl(data.source)) return data;
  const absolute = resolve(data.source);
  const real = await realpath(absolute).catch(() => absolute);
  const s = await stat(real).catch(() => null);
  const version = s?.isFile() ? `${s.size}:${Math.trunc(s.mtimeMs)}` : undefined;
  return { ...data, source: real, ...(version !== undefined ? { version } : {}) };
}

/**
 * The retry delay of ingest jobs, a backoff strategy of the worker's: the
 * job's delay doubled per attempt (as BullMQ's 'exponential'), but never
 * sooner than a remote service asked (its Retry-After, carried by the error).
 */
export const BACKOFF = 'exponential-or-retry-after';

export function backoffDelay(attemptsMade: number, delayMs: number, err: unknown): number {
  const asked = (err as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return Math.max(Math.round(2 ** Math.max(0, attemptsMade - 1) * delayMs), typeof asked === 'number' ? asked : 0);
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
    retryStrategy: redisBackoff,
  };
}

/**
 * The ingest queue, on its own connection or on `opts.connection` (a client
 * its owner watches and closes: see IngestJobs).
 */
export function ingestQueue(
  config: Pick<Config, 'redisUrl' | 'queuePrefix' | 'jobAttempts' | 'jobBackoffMs'>,
  opts: { connection?: Redis } = {},
): Queue<IngestJobData, IngestResultJson> {
  return new Queue<IngestJobData, IngestResultJson>(INGEST_QUEUE, {
    connection: opts.connection ?? redisConnection(config),
    prefix: config.queuePrefix,
    defaultJobOptions: {
      attempts: config.jobAttempts,
      backoff: { type: BACKOFF, delay: config.jobBackoffMs },
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

export interface EnqueueOptions {
  /**
   * Whether to retry an existing failed job: yes for a user asking again
   * (the default); the scheduler asks per job (to not loop on a bad file).
   */
  retryFailed?: boolean | ((job: IngestJob) => boolean);
  /** Queue a new job even when one exists for this content: a re-ingest the user asked for. */
  force?: boolean;
}

/**
 * Queues a source's content once: an existing waiting, active, delayed or
 * completed job for the same source and content is returned as it is.
 */
export async function enqueueIngest(
  queue: Queue<IngestJobData, IngestResultJson>,
  input: unknown,
  opts: EnqueueOptions = {},
): Promise<Enqueued> {
  const data = await canonicalSource(IngestJobData.parse(input));
  const id = ingestJobId(data);
  if (opts.force) {
    const job = (await queue.add('ingest', { ...data, force: true }, { jobId: `${id}-force-${randomUUID().slice(0, 8)}` })) as IngestJob;
    return { job, existing: false };
  }
  const found = (await queue.getJob(id)) as IngestJob | undefined;
  if (found) {
    const retry = opts.retryFailed ?? true;
    if ((await found.getState()) === 'failed' && (typeof retry === 'function' ? retry(found) : retry)) await found.retry();
    return { job: found, existing: true };
  }
  const job = (await queue.add('ingest', data, { jobId: id })) as IngestJob;
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
export async function readIngestJob(queue: Queue<IngestJobData, IngestResultJson>, id: string, tries = 5): Promise<JobReading | null> {
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
