import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { refuseDisallowedUrl, type UrlPolicy } from '../../url-policy.js';
import { SourceError } from '../../url-policy.js';
import type { Guards } from '../auth.js';
import type { IngestJobs } from '../jobs.js';
import { operation, problem, type RouteGroup } from '../openapi.js';
import { Problem } from '../problem.js';

/** Ingest jobs: queue a source, read a job, and Bull Board, all on Redis through IngestJobs. */

const TAG = 'jobs';

export const IngestBody = z.object({
  source: z.string().min(1).max(4096).describe('a file under BOOKTAPE_DATA_ROOTS (as the workers see it), or an http(s) URL whose host is in BOOKTAPE_URL_ALLOW_HOSTS'),
}).strict();

const JobPath = z.object({ id: z.string().describe('the job id POST /v1/ingest answered with') });

const EnqueuedSchema = z.object({
  job_id: z.string(),
  existing: z.boolean().describe('true when a job for this source already existed and is answered instead'),
  state: z.string(),
});

const JobSchema = z.object({
  job_id: z.string(),
  state: z.string().describe('waiting, active, delayed, completed, failed, ...'),
  source: z.string(),
  attempts_made: z.number().int(),
  progress: z.unknown().describe('the last {bytes, totalBytes, records, percent} the pipeline reported'),
  summary: z.record(z.string(), z.unknown()).nullable().describe('the run summary, once completed'),
  error: z.string().nullable().describe('"[CODE] message" of the last failed attempt'),
});

export function ingestRoutes(deps: { jobs: IngestJobs | null; guards: Guards; url: UrlPolicy }): RouteGroup {
  const { guards } = deps;
  const router = Router();
  const jobs = (): IngestJobs => {
    if (deps.jobs === null) throw new Problem('unavailable', 'JOBS_UNAVAILABLE', 'jobs need Redis: none answered at REDIS_URL when the server started');
    return deps.jobs;
  };

  router.post('/v1/ingest', guards.write, async (req, res) => {
    const body = IngestBody.parse(req.body ?? {});
    try {
      refuseDisallowedUrl(body.source, deps.url);
    } catch (err) {
      if (err instanceof SourceError) throw new Problem('invalid', err.code, err.message, 'source');
      throw err;
    }
    const { id, existing, state } = await jobs().enqueue(body.source);
    res.status(202).location(`/v1/jobs/${id}`).json({ job_id: id, existing, state });
  });

  router.get('/v1/jobs/:id', guards.read, async (req, res) => {
    const job = await jobs().read(String(req.params.id));
    if (!job) throw new Problem('not-found', 'UNKNOWN_JOB', `no job ${req.params.id}`, 'id');
    res.json({
      job_id: job.id, state: job.state, source: job.source, attempts_made: job.attemptsMade,
      progress: job.progress, summary: job.summary, error: job.error,
    });
  });

  // Without Redis there is nothing to guard: say why there is no board, whatever the token.
  const noBoard: RequestHandler = (_req, _res, next) => next(new Problem('unavailable', 'JOBS_UNAVAILABLE', 'Bull Board needs Redis at REDIS_URL'));
  if (deps.jobs === null) router.use('/admin/queues', noBoard);
  else router.use('/admin/queues', guards.write, deps.jobs.dashboard('/admin/queues'));

  const noRedis = problem('unavailable', 'No Redis answered when the server started (JOBS_UNAVAILABLE), or it does not answer now');
  return {
    tag: { name: TAG, description: 'Ingest jobs on Redis (BullMQ), and Bull Board' },
    router,
    paths: {
      '/v1/ingest': {
        post: operation(TAG, {
          summary: 'Queue an ingest job (needs the write token)',
          access: 'write',
          body: IngestBody,
          responses: { 202: { description: 'Queued, or the existing job for this source; Location names the job', content: { 'application/json': EnqueuedSchema } } },
          problems: [noRedis, problem('too-large', 'The body is over 16 kB'), problem('unsupported-media')],
        }),
      },
      '/v1/jobs/{id}': {
        get: operation(TAG, {
          summary: "A job's state, progress, summary or error",
          access: 'read',
          path: JobPath,
          responses: { 200: { description: 'The job', content: { 'application/json': JobSchema } } },
          problems: [problem('not-found', 'No such job (UNKNOWN_JOB)'), noRedis],
        }),
      },
      '/admin/queues': {
        get: operation(TAG, {
          summary: 'Bull Board: the queue in a browser (needs the write token, as Basic auth password)',
          access: 'write',
          responses: { 200: { description: 'The Bull Board page', content: { 'text/html': { type: 'string' } } } },
          problems: [noRedis],
        }),
      },
    },
  };
}
