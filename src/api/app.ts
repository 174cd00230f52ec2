import { timingSafeEqual } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import swaggerJSDoc from 'swagger-jsdoc';
import swaggerUi from 'swagger-ui-express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { SnapshotStore, StoredSnapshot } from '../store/port.js';
import { packedLevelsJson } from '../book/export.js';
import { enqueueIngest, readIngestJob, readinessChecks, type IngestJobData } from '../../jobs/queue.js';
import type { IngestSummary } from '../pipeline/ingest.js';
import { FrameWriter, csvHeader } from '../stream/frames.js';
import { streamReplay } from '../stream/replay.js';
import type { ActiveReads } from '../stream/active-reads.js';
import type { Metrics } from './metrics.js';
import { BookQuery, IngestBody, ReplayQuery, SnapshotsQuery } from './params.js';
import { SourceError, refuseDisallowedUrl } from '../pipeline/source.js';
import { Problem, problemHandler } from './problem.js';
import { jsonBody } from './body.js';
import { InstrumentCatalog } from '../stream/symbols.js';

export interface AppDeps {
  config: Pick<Config, 'writeToken' | 'readToken' | 'url'>;
  store: SnapshotStore;
  /** null when Redis is not reachable: job routes answer 503. */
  queue: Queue<IngestJobData, IngestSummary> | null;
  metrics: Metrics;
  log: Logger;
  /** Replays and exports in flight: the server stops them before the store closes. */
  reads: ActiveReads;
  /** What the store holds, to check requests against; shared with the TCP replay port. */
  catalog?: InstrumentCatalog;
}

/** Whether the client sent a query parameter (rather than taking its default). */
const given = (req: Request, name: string) => req.query[name] !== undefined;

function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Bearer token, or HTTP Basic with the token as password (what a browser can
 * send, for Bull Board). Scheme names are case-insensitive (RFC 9110 11.1).
 */
function presentedToken(req: Request): string | undefined {
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) +(\S+)$/.exec(req.headers.authorization ?? '');
  if (m === null) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme === 'bearer') return m[2];
  if (scheme === 'basic') {
    const pair = Buffer.from(m[2], 'base64').toString('utf8');
    const colon = pair.indexOf(':');
    return colon === -1 ? undefined : pair.slice(colon + 1);
  }
  return undefined;
}

function requireToken(kind: 'write' | 'read', token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (token === undefined) {
      if (kind === 'read') return next();
      return next(new Problem(403, 'WRITES_DISABLED', 'this server has no BOOKTAPE_WRITE_TOKEN: set one to allow ingest requests and Bull Board'));
    }
    if (tokenMatches(presentedToken(req), token)) return next();
    res.setHeader('WWW-Authenticate', 'Basic realm="booktape", charset="UTF-8"');
    next(new Problem(401, 'UNAUTHORIZED', `send the ${kind} token as "Authorization: Bearer <token>"`));
  };
}

/**
 * The book JSON: the shape of `booktape book`, from the stored snapshot. A
 * snapshot keeps only the top BOOKTAPE_DEPTH levels, so the CLI's
 * bid_levels/ask_levels (levels in the whole book), orders and anomalies are
 * not part of it.
 */
function bookJson(s: StoredSnapshot, depth: number) {
  return {
    symbol: s.symbol,
    instrument_id: s.instrumentId,
    publisher_id: s.publisherId,
    ts_recv: s.tsRecv.toString(),
    sequence: s.sequence,
    crossed: s.crossed,
    locked: s.locked,
    bids: packedLevelsJson(s.bids, depth),
    asks: packedLevelsJson(s.asks, depth),
  };
}

export function createApp(deps: AppDeps): express.Express {
  const { store, metrics, log } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const end = metrics.requestSeconds.startTimer();
    res.on('finish', () => end({ method: req.method, route: (req.route?.path as string | undefined) ?? req.baseUrl ?? 'unmatched', status: res.statusCode }));
    next();
  });
  const catalog = deps.catalog ?? new InstrumentCatalog(store);
  const read = requireToken('read', deps.config.readToken);
  const write = requireToken('write', deps.config.writeToken);
  const jobsQueue = () => {
    if (deps.queue === null) throw new Problem(503, 'JOBS_UNAVAILABLE', 'jobs need Redis: none answered at REDIS_URL when the server started');
    return deps.queue;
  };

  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });

  /**
   * @openapi
   * /readyz:
   *   get:
   *     summary: Ready when the store and Redis answer
   *     responses:
   *       200: { description: Ready }
   *       503: { description: The store or Redis does not answer }
   */
  app.get('/readyz', async (_req, res) => {
    const checks = await readinessChecks(store, deps.queue);
    const ok = Object.values(checks).every((v) => v === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', checks });
  });

  /**
   * @openapi
   * /v1/instruments:
   *   get:
   *     summary: Instruments in the store (one entry per instrument and publisher), with their time range, snapshot count and stored depth
   *     responses:
   *       200: { description: A list of instruments }
   */
  app.get('/v1/instruments', read, async (_req, res) => {
    const list = await store.listInstruments();
    res.json(list.map((i) => ({
      symbol: i.symbol, instrument_id: i.instrumentId, publisher_id: i.publisherId,
      first_ts_recv: i.firstTsRecv.toString(), last_ts_recv: i.lastTsRecv.toString(), snapshots: i.snapshots, depth: i.depth,
    })));
  });

  /**
   * @openapi
   * /v1/books/{symbol}:
   *   get:
   *     summary: The book at an instant (the latest snapshot at or before `at`; default the latest)
   *     parameters:
   *       - { in: path, name: symbol, required: true, schema: { type: string }, example: CLX5 }
   *       - { in: query, name: at, schema: { type: string }, description: "ISO-8601 with a zone, or ns since the epoch" }
   *       - { in: query, name: depth, schema: { type: integer, minimum: 1, maximum: 50, default: 10 } }
   *       - { in: query, name: publisher_id, schema: { type: integer } }
   *     responses:
   *       200: { description: "The book: bids and asks best first as {price, size, count}; prices are decimal strings" }
   *       400: { description: "A parameter is invalid (INVALID_PARAMETER), the symbol has several publishers and none was chosen (PUBLISHER_REQUIRED), or depth is deeper than stored (DEPTH_NOT_STORED) (problem+json)" }
   *       404: { description: "Unknown symbol (UNKNOWN_SYMBOL) or publisher (UNKNOWN_PUBLISHER), or an instant before the data (NO_DATA_AT_INSTANT) (problem+json)" }
   */
  app.get('/v1/books/:symbol', read, async (req, res) => {
    const q = BookQuery.parse(req.query);
    const symbol = String(req.params.symbol);
    const { depth } = await catalog.scope({ symbols: [symbol], publisherId: q.publisher_id, depth: q.depth, depthGiven: given(req, 'depth'), symbolField: 'symbol' });
    const snap = await store.bookAt(symbol, q.at, q.publisher_id);
    if (snap === null) {
      const at = q.at === undefined ? 'the latest instant' : String(req.query.at);
      throw new Problem(404, 'NO_DATA_AT_INSTANT', `${symbol} has no snapshot at or before ${at}; see GET /v1/instruments for its time range`, 'at');
    }
    res.json(bookJson(snap, depth));
  });

  /**
   * @openapi
   * /v1/books/{symbol}/snapshots:
   *   get:
   *     summary: Export a range of snapshots (streamed)
   *     parameters:
   *       - { in: path, name: symbol, required: true, schema: { type: string } }
   *       - { in: query, name: from, schema: { type: string }, description: 'first instant, inclusive: ISO-8601 with a zone or integer ns' }
   *       - { in: query, name: to, schema: { type: string }, description: 'last instant, inclusive; not before from' }
   *       - { in: query, name: limit, schema: { type: integer, default: 10000, maximum: 1000000 } }
   *       - { in: query, name: after, schema: { type: string }, description: 'the key of the last row of a page, "ts_recv,instrument_id,publisher_id,sequence,sub_sequence": the next page starts after it, with no row skipped or repeated' }
   *       - { in: query, name: depth, schema: { type: integer, default: 10 }, description: 'levels per side; at most the depth stored' }
   *       - { in: query, name: publisher_id, schema: { type: integer }, description: 'one publisher; required when the symbol has several' }
   *       - { in: query, name: format, schema: { type: string, enum: [json, ndjson, csv], default: ndjson } }
   *     responses:
   *       200: { description: Snapshots in ts_recv order }
   *       400: { description: "A parameter is invalid, PUBLISHER_REQUIRED or DEPTH_NOT_STORED (problem+json)" }
   *       404: { description: "UNKNOWN_SYMBOL or UNKNOWN_PUBLISHER (problem+json)" }
   */
  app.get('/v1/books/:symbol/snapshots', read, async (req, res) => {
    const q = SnapshotsQuery.parse(req.query);
    const symbol = String(req.params.symbol);
    const { depth } = await catalog.scope({ symbols: [symbol], publisherId: q.publisher_id, depth: q.depth, depthGiven: given(req, 'depth'), symbolField: 'symbol' });
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const type = { json: 'application/json', ndjson: 'application/x-ndjson', csv: 'text/csv' }[q.format];
    res.status(200).type(type);
    const writer = new FrameWriter();
    if (q.format === 'csv') writer.text(csvHeader(depth) + '\n');
    if (q.format === 'json') writer.text('[');
    const complete = await deps.reads.run(controller, async (signal) => {
      let first = true;
      for await (const batch of store.readRange({ symbols: [symbol], from: q.from, to: q.to, after: q.after, limit: q.limit, publisherId: q.publisher_id }, signal)) {
        for (const s of batch) {
          if (q.format === 'csv') writer.csvRow(s, depth);
          else {
            if (q.format === 'json' && !first) writer.text(',');
            writer.frame(s, depth, q.format === 'ndjson');
          }
          first = false;
          if (writer.length >= 64 * 1024) await writer.flushTo(res, signal);
          if (signal.aborted) return false;
        }
      }
      return !signal.aborted;
    });
    // Cut short (the client left, or a shutdown): the response is not
    // ended, so the connection closes without the last chunk and the client
    // cannot take a partial export for a whole one.
    if (!complete) return;
    if (q.format === 'json') writer.text(']');
    res.end(writer.take());
  });

  /**
   * @openapi
   * /v1/replay:
   *   get:
   *     summary: Replay snapshots as chunked NDJSON (a header line, frames, an end marker with counts)
   *     parameters:
   *       - { in: query, name: symbols, schema: { type: string }, description: comma-separated; empty = all }
   *       - { in: query, name: from, schema: { type: string }, description: 'first instant, inclusive: ISO-8601 with a zone or integer ns' }
   *       - { in: query, name: to, schema: { type: string }, description: 'last instant, inclusive; not before from' }
   *       - { in: query, name: after, schema: { type: string }, description: 'resume after this frame: its "ts_recv,instrument_id,publisher_id,sequence,sub_sequence"' }
   *       - { in: query, name: depth, schema: { type: integer, default: 10 }, description: 'levels per side; at most the depth stored' }
   *       - { in: query, name: publisher_id, schema: { type: integer }, description: 'one publisher; required when a symbol named has several' }
   *       - { in: query, name: rate, schema: { type: number }, description: frames per second; 0 = as fast as possible }
   *       - { in: query, name: speed, schema: { type: number }, description: 1 = as recorded; 0 = as fast as possible }
   *     responses:
   *       200: { description: "NDJSON: {type:header}, {type:snapshot}..., {type:end, complete, frames}, or {type:error, code, detail, frames} in its place when the store fails part-way" }
   *       400: { description: "A parameter is invalid, PUBLISHER_REQUIRED or DEPTH_NOT_STORED (problem+json)" }
   *       404: { description: "UNKNOWN_SYMBOL or UNKNOWN_PUBLISHER (problem+json)" }
   */
  app.get('/v1/replay', read, async (req, res) => {
    const q = ReplayQuery.parse(req.query);
    const { depth } = await catalog.scope({ symbols: q.symbols, publisherId: q.publisher_id, depth: q.depth, depthGiven: given(req, 'depth'), symbolField: 'symbols' });
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    res.status(200).type('application/x-ndjson');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    metrics.activeStreams.inc({ transport: 'http' });
    try {
      const counts = await deps.reads.run(controller, (signal) => streamReplay(store, { ...q, depth, publisherId: q.publisher_id }, res, signal, (frames, bytes) => {
        metrics.replayFrames.inc({ transport: 'http' }, frames);
        metrics.replayBytes.inc({ transport: 'http' }, bytes);
      }));
      if (counts.failure !== undefined) deps.log.error({ err: counts.failure, frames: counts.frames }, 'http replay failed');
      res.end();
    } finally {
      metrics.activeStreams.dec({ transport: 'http' });
    }
  });

  /**
   * @openapi
   * /v1/ingest:
   *   post:
   *     summary: Queue an ingest job (needs the write token)
   *     security: [{ bearer: [] }]
   *     requestBody:
   *       required: true
   *       content:
   *         application/json:
   *           schema: { type: object, required: [source], properties: { source: { type: string } } }
   *     responses:
   *       202: { description: "Queued, or the existing job for this source: {job_id, existing, state}" }
   *       400: { description: "Invalid body (INVALID_JSON, INVALID_PARAMETER, INVALID_BODY) or a source no worker may fetch (SOURCE_NOT_ALLOWED)" }
   *       401: { description: Missing or wrong token, answered before the body is read }
   *       413: { description: The body is over 16 KB (BODY_TOO_LARGE) }
   *       415: { description: "Not JSON (JSON_REQUIRED), or a charset or content-encoding not supported (UNSUPPORTED_MEDIA_TYPE)" }
   */
  app.post('/v1/ingest', write, ...jsonBody(), async (req, res) => {
    const body = IngestBody.parse(req.body ?? {});
    try {
      refuseDisallowedUrl(body.source, deps.config.url);
    } catch (err) {
      if (err instanceof SourceError) throw new Problem(400, err.code, err.message, 'source');
      throw err;
    }
    const { job, existing } = await enqueueIngest(jobsQueue(), body);
    res.status(202).location(`/v1/jobs/${job.id}`).json({ job_id: job.id, existing, state: await job.getState() });
  });

  /**
   * @openapi
   * /v1/jobs/{id}:
   *   get:
   *     summary: A job's state, progress, summary or error
   *     parameters:
   *       - { in: path, name: id, required: true, schema: { type: string } }
   *     responses:
   *       200: { description: The job }
   *       404: { description: No such job }
   */
  app.get('/v1/jobs/:id', read, async (req, res) => {
    const reading = await readIngestJob(jobsQueue(), String(req.params.id));
    if (!reading) throw new Problem(404, 'UNKNOWN_JOB', `no job ${req.params.id}`, 'id');
    const { job, state } = reading;
    res.json({
      job_id: job.id, state, source: job.data.source, attempts_made: job.attemptsMade,
      progress: job.progress, summary: job.returnvalue ?? null, error: job.failedReason ?? null,
    });
  });

  const spec = swaggerJSDoc({
    definition: {
      openapi: '3.0.3',
      info: { title: 'booktape API', version: '1', description: 'Order-book history from Databento MBO files: books, exports, replays, ingest jobs.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    apis: [fileURLToPath(import.meta.url)],
  });
  app.get('/openapi.json', (_req, res) => { res.json(spec); });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(spec));

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  if (deps.queue !== null) {
    const board = new ExpressAdapter();
    board.setBasePath('/admin/queues');
    createBullBoard({ queues: [new BullMQAdapter(deps.queue)], serverAdapter: board });
    app.use('/admin/queues', write, board.getRouter());
  } else {
    app.use('/admin/queues', (_req, _res, next) => next(new Problem(503, 'JOBS_UNAVAILABLE', 'Bull Board needs Redis at REDIS_URL')));
  }

  app.use((req, _res, next) => next(new Problem(404, 'NOT_FOUND', `no route ${req.method} ${req.path}; see /docs`)));
  app.use(problemHandler((err) => log.error({ err: (err as Error)?.message, stack: (err as Error)?.stack }, 'request failed')));
  return app;
}
