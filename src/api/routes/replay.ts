import { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ReplayMetrics } from '../../stream/metrics.js';
import { logFailure } from '../../log.js';
import { streamReplay } from '../../stream/replay.js';
import { ReplayQuery } from '../../stream/requests.js';
import type { InstrumentCatalog } from '../../stream/symbols.js';
import type { Guards } from '../auth.js';
import { operation, problem, type RouteGroup } from '../openapi.js';
import { DBN_MEDIA_TYPE, sendDbn, takeStreamSlot, type StreamDeps } from '../streams.js';
import { NanosSchema, SnapshotFrameSchema } from '../schemas.js';

/** Replay over HTTP: the same stream as the TCP port, as chunked NDJSON. */

const TAG = 'replay';

const HeaderLine = z.object({
  type: z.literal('header'), symbols: z.array(z.string()), from: NanosSchema.nullable(), to: NanosSchema.nullable(),
  after: z.string().nullable(), depth: z.number().int().nullable(), publisher_id: z.number().int().nullable(), rate: z.number().nullable(), speed: z.number().nullable(),
  frames: z.number().int().nullable().describe('paced replays: the frames it will send, counted as it starts; null when unpaced'),
  seconds: z.number().nullable().describe('paced replays: about how long it takes at its pace (frames / rate, or the recorded time it spans / speed); null when unpaced'),
  fields: z.string(),
});
const EndLine = z.object({
  type: z.literal('end'), complete: z.boolean(), frames: z.number().int(), first_ts_recv: NanosSchema.nullable(), last_ts_recv: NanosSchema.nullable(),
});
const ErrorLine = z.object({ type: z.literal('error'), status: z.number().int().describe('the HTTP status the same failure gets as an answer'), code: z.string(), detail: z.string(), frames: z.number().int() });
const ReplayLine = z.union([HeaderLine, SnapshotFrameSchema, EndLine, ErrorLine]);

export function replayRoutes(deps: StreamDeps & { guards: Guards; metrics: ReplayMetrics; log: Logger; catalog: InstrumentCatalog }): RouteGroup {
  const { store, guards, reads, metrics, log, catalog } = deps;
  const router = Router();

  router.get('/v1/replay', guards.read, async (req, res) => {
    const q = ReplayQuery.parse(req.query);
    const { depth } = await catalog.scope({ symbols: q.symbols, publisherId: q.publisher_id, depth: q.depth, depthGiven: req.query.depth !== undefined, symbolField: 'symbols' });
    const release = takeStreamSlot(deps.slots);
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    metrics.activeStreams.inc({ transport: 'http' });
    try {
      if (q.format === 'dbn') {
        const onFailure = (err: unknown, records: number) => logFailure(log, 'http replay failed', err, { records });
        await sendDbn({ ...deps, onFailure }, res, controller, { symbols: q.symbols, from: q.from, to: q.to, after: q.after, publisherId: q.publisher_id }, q.depth, q);
        return;
      }
      res.status(200).type('application/x-ndjson');
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('X-Accel-Buffering', 'no');
      const counts = await reads.run(controller, (signal) => streamReplay(store, { ...q, depth, publisherId: q.publisher_id }, res, signal, (frames, bytes) => {
        metrics.replayFrames.inc({ transport: 'http' }, frames);
        metrics.replayBytes.inc({ transport: 'http' }, bytes);
      }));
      if (counts.failure !== undefined) logFailure(log, 'http replay failed', counts.failure, { frames: counts.frames });
      res.end();
    } finally {
      release();
      metrics.activeStreams.dec({ transport: 'http' });
    }
  });

  return {
    tag: { name: TAG, description: 'Paced replays of snapshots (also on the TCP port, one JSON request line)' },
    router,
    paths: {
      '/v1/replay': {
        get: operation(TAG, {
          summary: 'Replay snapshots as chunked NDJSON (a header line, frames, an end marker with counts), or as DBN (format=dbn)',
          description: 'Lines: {type:header}, {type:snapshot}..., then {type:end, complete, frames}; '
            + 'or {type:error, code, detail, frames} in place of the end marker when the store fails part-way. '
            + 'A stream without either line was cut: resume it with `after` set to the key of the last frame received. '
            + 'format=dbn: a DBN v3 stream of MBP-10 records (MBP-1 at depth=1), the metadata first; its `limit` and the '
            + 'X-Booktape-Records header give the records of a whole stream, so a cut one has fewer. '
            + 'At BOOKTAPE_MAX_STREAMS streams (replays and exports, HTTP and TCP) more are refused: 503 TOO_MANY_STREAMS.',
          access: 'read',
          query: ReplayQuery,
          responses: {
            200: {
              description: 'NDJSON, one line per item; each line is one of the shapes below',
              content: {
                'application/x-ndjson': ReplayLine,
                [DBN_MEDIA_TYPE]: { type: 'string', format: 'binary', description: 'format=dbn: DBN v3, MBP-10 or MBP-1 records' },
              },
            },
          },
          problems: [
            problem('not-found', 'Unknown symbol (UNKNOWN_SYMBOL), or a publisher a symbol does not have (UNKNOWN_PUBLISHER)'),
            problem('invalid', 'A parameter is invalid (INVALID_PARAMETER), or depth is deeper than stored (DEPTH_NOT_STORED)'),
            problem('unavailable', 'The store does not answer (checking the symbols named needs it); a failure part-way is an error line instead'),
          ],
        }),
      },
    },
  };
}
