import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { SourceError, refuseUnfetchableSource, type EnqueuePolicy } from '../../pipeline/source.js';
import { DatabentoRequestError, DatabentoRequestInput, databentoRequest, databentoSource } from '../../databento-request.js';
import type { Guards } from '../auth.js';
import type { IngestJobs } from '../jobs.js';
import { operation, problem, type RouteGroup } from '../openapi.js';
import { Problem } from '../problem.js';
import { MAX_BODY_BYTES, jsonBody } from '../body.js';

/** Ingest jobs: queue a source, read a job, and Bull Board, all on Redis through IngestJobs. */

const TAG = 'jobs';

export const IngestBody = z.object({
  source: z.string().min(1).max(4096).optional().describe('a file under BOOKTAPE_DATA_ROOTS (as the workers see it), an http(s) URL whose host is in BOOKTAPE_URL_ALLOW_HOSTS, or a databento: request'),
  databento: DatabentoRequestInput.optional().describe('instead of `source`: a request for Databento\'s historical timeseries.get_range (the workers need DATABENTO_API_KEY); see docs/databento.md'),
  force: z.boolean().optional().describe('queue a new run even if a job for this content exists, or its Databento request was ingested (a re-ingest)'),
}).strict().refine((b) => (b.source === undefined) !== (b.databento === undefined), { message: 'give either source or databento', path: ['source'] });

/** The source a body names, as a job carries it; refused at once when no worker would fetch it. */
async function sourceOf(body: z.output<typeof IngestBody>, policy: EnqueuePolicy): Promise<string> {
  try {
    if (body.databento !== undefined) return databentoSource(databentoRequest(body.databento));
    await refuseUnfetchableSource(body.source!, policy);
    return body.source!;
  } catch (err) {
    if (err instanceof SourceError) throw new Problem('invalid', err.code, err.message, 'source');
    if (err instanceof DatabentoRequestError) throw new Problem('invalid', err.code, err.message, body.databento !== undefined ? `databento.${err.field ?? ''}` : 'source');
    throw err;
  }
}

const JobPath = z.object({ id: z.string().describe('the job id POST /v1/ingest answered with') });

const EnqueuedSchema = z.object({
  job_id: z.string(),
  existing: z.boolean().describe('true when a job for this source and content already existed and is answered instead'),
  state: z.string(),
});

const ProgressSchema = z.object({
  records: z.number().int().describe('records decoded so far'),
  bytes: z.number().int().describe('input bytes behind them (compressed ones for a zstd file)'),
  total_bytes: z.number().int().nullable().describe("the input's size; null while unknown (before the run, a download without a length)"),
  percent: z.number().nullable().describe('bytes over total_bytes, 0-100 (100 once completed); 0 before the run starts; null when the size is unknown'),
}).describe('always an object, whatever the state: all zero before the run starts, the last figures reached once it failed or completed');

const JobSchema = z.object({
  job_id: z.string(),
  state: z.string().describe('waiting, active, delayed, completed, failed, ...'),
  source: z.string().describe('as the job names it: an absolute path, a URL, or a Databento request\'s text form'),
  attempts_made: z.number().int().describe('runs that ended: completed, failed, or cut short by a worker that died (the job then taken over by another)'),
  attempts_stalled: z.number().int().describe('of attempts_made, the runs cut short by a worker that died (each has an `abandoned` row in ingest_runs)'),
  progress: ProgressSchema,
  summary: z.record(z.string(), z.unknown()).nullable().describe('the run summary (snake_case, as `booktape ingest` prints it), once completed; `{source, already_ingested: true}` for a Databento request ingested before (nothing bought)'),
  error: z.string().nullable().describe('why the job failed, "[CODE] message"; null unless state is failed'),
  last_attempt_error: z.string().nullable().describe('"[CODE] message" of the latest attempt that failed, whatever the state: a job retried, or failed once and then completed, keeps it here'),
});

export function ingestRoutes(deps: { jobs: IngestJobs | null; guards: Guards; sources: EnqueuePolicy }): RouteGroup {
  const { guards } = deps;
  const router = Router();
  const jobs = (): IngestJobs => {
    if (deps.jobs === null) throw new Problem('unavailable', 'JOBS_UNAVAILABLE', 'this server runs no jobs');
    return deps.jobs;
  };

  router.post('/v1/ingest', guards.write, ...jsonBody(), async (req, res) => {
    const body = IngestBody.parse(req.body ?? {});
    // What a worker would refuse is refused now, not queued to fail (BOOKTAPE_SOURCE_CHECK says how far this server can tell).
    const { id, existing, state } = await jobs().enqueue(await sourceOf(body, deps.sources), { force: body.force });
    res.status(202).location(`/v1/jobs/${id}`).json({ job_id: id, existing, state });
  });

  router.get('/v1/jobs/:id', guards.read, async (req, res) => {
    const job = await jobs().read(String(req.params.id));
    if (!job) throw new Problem('not-found', 'UNKNOWN_JOB', `no job ${req.params.id}`, 'id');
    res.json({
      job_id: job.id, state: job.state, source: job.source, attempts_made: job.attemptsMade, attempts_stalled: job.attemptsStalled,
      progress: { records: job.progress.records, bytes: job.progress.bytes, total_bytes: job.progress.totalBytes, percent: job.progress.percent },
      summary: job.summary, error: job.error, last_attempt_error: job.lastAttemptError,
    });
  });

  // Without Redis there is nothing to guard: say why there is no board, whatever the token.
  const noBoard: RequestHandler = (_req, _res, next) => next(new Problem('unavailable', 'JOBS_UNAVAILABLE', 'Bull Board needs Redis at REDIS_URL'));
  if (deps.jobs === null) router.use('/admin/queues', noBoard);
  else router.use('/admin/queues', guards.write, deps.jobs.dashboard('/admin/queues'));

  const noRedis = problem('unavailable', 'Redis is not connected or did not answer within about a second (JOBS_UNAVAILABLE); nothing was queued');
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
          description: 'The body names either `source` or `databento`, a request for Databento\'s historical API, e.g. '
            + '`{"databento": {"dataset": "GLBX.MDP3", "symbols": ["ES.FUT"], "stype_in": "parent", "start": "2024-06-03", "end": "2024-06-04"}}`: '
            + 'its job\'s source is the request\'s text form (`databento:GLBX.MDP3/mbo?...`). '
            + 'The token is checked before the body is read: an unauthenticated request is answered 401 whatever its body.',
          problems: [
            noRedis,
            problem('invalid', 'Invalid body (INVALID_JSON, INVALID_PARAMETER, INVALID_BODY: not decodable as its content-encoding says); a source no worker may fetch (SOURCE_NOT_ALLOWED: a URL on a host not allowed, a path outside BOOKTAPE_DATA_ROOTS after `..` and symlinks); where this server sees the workers\' files (BOOKTAPE_SOURCE_CHECK=file), no such file (SOURCE_NOT_FOUND); or a Databento request Databento would refuse (BAD_DATABENTO_REQUEST)'),
            problem('too-large', `The body is over ${MAX_BODY_BYTES} bytes (BODY_TOO_LARGE)`),
            problem('unsupported-media', 'Not application/json (JSON_REQUIRED), or a charset or content-encoding not supported (UNSUPPORTED_MEDIA_TYPE)'),
          ],
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
