// jobs/: BullMQ on Redis: the ingest queue and worker, the inbox scanner, IngestJobs on a queue.
import type { Queue } from 'bullmq';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { IngestJobs } from '../src/api/jobs.js';
import type { IngestSummary } from '../src/pipeline/ingest.js';
import { enqueueIngest, probeJobCounts, readIngestJob, type IngestJobData } from './queue.js';

/** The API's IngestJobs on a BullMQ queue: what `serve` hands the API when Redis answers. */
export function bullIngestJobs(queue: Queue<IngestJobData, IngestSummary>): IngestJobs {
  return {
    async enqueue(source) {
      const { job, existing } = await enqueueIngest(queue, { source });
      return { id: String(job.id), existing, state: await job.getState() };
    },
    async read(id) {
      const reading = await readIngestJob(queue, id);
      if (reading === null) return null;
      const { job, state } = reading;
      return {
        id: String(job.id), state, source: job.data.source, attemptsMade: job.attemptsMade,
        progress: job.progress, summary: job.returnvalue ?? null, error: job.failedReason ?? null,
      };
    },
    async probe() {
      await probeJobCounts(queue, ['waiting']);
    },
    counts(states) {
      return probeJobCounts(queue, [...states]);
    },
    dashboard(basePath) {
      const board = new ExpressAdapter();
      board.setBasePath(basePath);
      createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter: board });
      return board.getRouter() as ReturnType<IngestJobs['dashboard']>;
    },
  };
}
