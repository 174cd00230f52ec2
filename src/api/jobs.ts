import type { RequestHandler } from 'express';
import type { IngestProgress } from '../pipeline/ingest.js';
import type { IngestResultJson } from '../pipeline/summary-json.js';

/**
 * What the API needs from the ingest job queue. Defined here, implemented in
 * jobs/ (BullMQ on Redis) and handed in by the CLI's service commands, so
 * that the API never depends on the queue's library and jobs/ depends on src,
 * never the reverse. null where the API takes one: this process runs no jobs.
 *
 * Every method answers within about a second whatever Redis is doing: while
 * it is away or does not answer, they reject with JOBS_UNAVAILABLE (kind
 * 'unavailable': a 503), and send nothing that Redis could carry out later.
 */
export interface IngestJobs {
  /**
   * Queues a source's content once: a job already waiting, running, delayed
   * or completed for the same source and content is returned as it is; a
   * failed one is retried. `force` queues a new run regardless.
   */
  enqueue(source: string, opts?: { force?: boolean }): Promise<EnqueuedJob>;
  /** A job's fields and state as one consistent reading, or null when there is no such job. */
  read(id: string): Promise<IngestJobView | null>;
  /** Resolves when the queue answers within a bounded time; rejects with why not. */
  probe(): Promise<void>;
  /** Job counts by state, bounded in time like probe(). */
  counts(states: readonly JobState[]): Promise<Partial<Record<JobState, number>>>;
  /** The queue's admin UI (Bull Board) as middleware mounted at `basePath`. */
  dashboard(basePath: string): RequestHandler;
}

/** The job states /metrics reports. */
export const JOB_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface EnqueuedJob {
  id: string;
  /** True when a job for this source already existed and was returned instead. */
  existing: boolean;
  state: string;
}

export interface IngestJobView {
  id: string;
  state: string;
  source: string;
  /** Runs that ended: completed, failed, or cut short by a worker that died (the job then taken over). */
  attemptsMade: number;
  /** Of those, the runs cut short by a worker that died. */
  attemptsStalled: number;
  /** The pipeline's last progress report; before the first (a job not yet started, or failed at once), none done. */
  progress: IngestProgress;
  summary: IngestResultJson | null;
  /** Why the job failed, "[CODE] message": null unless its state is failed. */
  error: string | null;
  /** The error of the latest attempt that failed, in any state: a job that failed once and then completed keeps it here. */
  lastAttemptError: string | null;
}
