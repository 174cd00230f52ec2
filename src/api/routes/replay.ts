import { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ReplayMetrics } from '../../stream/metrics.js';
import { logFailure } from '../../log.js';
import { streamReplay } from '../../stream/replay.js';
import { REPLAY_DEPTH, ReplayQuery } from '../../stream/requests.js';
import { streamMboReplay } from '../../stream/mbo-replay.js';
import { requireMboStored, type InstrumentCatalog } from '../../stream/symbols.js';
import type { Guards } from '../auth.js';
import { operation, problem, type RouteGroup } from '../openapi.js';
import { DBN_MEDIA_TYPE, sendDbn, takeStreamSlot, type StreamDeps } from '../streams.js';
import { NanosSchema, SnapshotFrameSchema } from '../schemas.js';

/** Replay over HTTP: the same stream as the TCP port, as chunked NDJSON. */

const TAG = 'replay';

const HeaderLine = z.object({
  type: z.literal('header'), schema: z.literal('mbo').optional().describe('present on an MBO replay'), symbols: z.array(z.string()), from: NanosSchema.nullable(), to: NanosSchema.nullable(),
  after: z.string().nullable(), depth: z.number().int().nullable().optional().describe('a snapshot replay\'s'), publisher_id: z.number().int().nullable(), rate: z.number().nullable(), speed: z.number().nullable(),
  frames: z.number().int().nullable().optional().describe('paced snapshot replays: the frames it will send, counted as it starts; null when unpaced (and on MBO replays)'),
  seconds: z.number().nullable().optional().describe('paced snapshot replays: about how long it takes at its pace (frames / rate, or the recorded time it spans / speed); null when unpaced (and on MBO replays)'),
  fields: z.string(),
});
const EndLine = z.object({
  type: z.literal('end'), complete: z.boolean(), frames: z.number().int(), first_ts_recv: NanosSchema.nullable(), last_ts_recv: NanosSchema.nullable(),
});
const ErrorLine = z.object({ type: z.literal('error'), status: z.number().int().describe('the HTTP status the same failure gets as an answer'), code: z.string(), detail: z.string(), frames: z.number().int() });
/** schema=mbo: one stored MBO record, in Databento's JSON as `booktape decode` prints it, plus its symbol and sub_sequence. */
const MboLine = z.object({
  ts_recv: NanosSchema, ts_event: NanosSchema, rtype: z.literal(160), publisher_id: z.number().int(), instrument_id: z.number().int(),
  action: z.string(), side: z.string(), price: z.string().describe('i64 in 1e-9 units, as a decimal string (9223372036854775807: undefined)'),
  size: z.number().int(), channel_id: z.number().int(), order_id: z.string().describe('u64 as a decimal string'), flags: z.number().int(),
  ts_in_delta: z.number().int(), sequence: z.number().int(), symbol: z.string().nullable(),
  sub_sequence: z.number().int().describe('numbers one book\'s records sharing ts_recv and sequence: with the others, the key `after` takes'),
});
const ReplayLine = z.union([HeaderLine, SnapshotFrameSchema, MboLine, EndLine, ErrorLine]);

export function replayRoutes(deps: StreamDeps & { guards: Guards; metrics: ReplayMetrics; log: Logger; catalog: InstrumentCatalog }): RouteGroup {
  const { store, guards, reads, metrics, log, catalog } = deps;
  const router = Router();

  router.get('/v1/replay', guards.read, async (req, res) => {
    const q = ReplayQuery.parse(req.query);
    const { depth } = await catalog.scope({ symbols: q.symbols, publisherId: q.publisher_id, depth: q.depth ?? REPLAY_DEPTH, depthGiven: q.depth !== undefined, symbolField: 'symbols' });
    const mbo = q.schema === 'mbo';
    if (mbo) await requireMboStored(store, q.symbols, q.publisher_id, 'symbols');
    const release = takeStreamSlot(deps.slots);
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    metrics.activeStreams.inc({ transport: 'http' });
    try {
      if (q.format === 'dbn') {
        const onFailure = (err: unknown, records: number) => logFailure(log, 'http replay failed', err, { records });
        const range = { symbols: q.symbols, from: q.from, to: q.to, after: q.after, publisherId: q.publisher_id };
        await sendDbn({ ...deps, onFailure }, res, controller, range, mbo ? 'mbo' : depth === 1 ? 1 : 10, q);
        return;
      }
      res.status(200).type('application/x-ndjson');
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('X-Accel-Buffering', 'no');
      const onChunk = (frames: number, bytes: number) => {
        metrics.replayFrames.inc({ transport: 'http' }, frames);
        metrics.replayBytes.inc({ transport: 'http' }, bytes);
      };
      const request = { ...q, depth, publisherId: q.publisher_id };
      const counts = await reads.run(controller, (signal) => mbo
        ? streamMboReplay(store, request, res, signal, onChunk)
        : streamReplay(store, request, res, signal, onChunk));
      if (counts.failure !== undefined) logFailure(log, 'http replay failed', counts.failure, { frames: counts.frames });
      res.end();
    } finally {
      release();
      metrics.activeStreams.dec({ transport: 'http' });
    }
  });

  return {
    tag: { name: TAG, description: 'Paced replays of snapshots or MBO records (also on the TCP port, one JSON request line)' },
    router,
    paths: {
      '/v1/replay': {
        get: operation(TAG, {
          summary: 'Replay snapshots, or with schema=mbo the stored MBO records, as chunked NDJSON (a header line, frames, an end marker with counts), or as DBN (format=dbn)',
          description: 'Lines: {type:header}, {type:snapshot}..., then {type:end, complete, frames}; '
            + 'or {type:error, code, detail, frames} in place of the end marker when the store fails part-way. '
            + 'A stream without either line was cut: resume it with `after` set to the key of the last frame received. '
            + 'format=dbn: a DBN v3 stream of MBP-10 records (MBP-1 at depth=1), the metadata first; its `limit` and the '
            + 'X-Booktape-Records header give the records of a whole stream, so a cut one has fewer. '
            + 'schema=mbo replays the stored MBO records themselves in key order: NDJSON lines in Databento\'s MBO JSON (plus symbol and sub_sequence), '
            + 'or format=dbn, a DBN v3 MBO stream (56-byte records, as the source file had them) that `booktape book` rebuilds the books from. '
            + 'At BOOKTAPE_MAX_STREAMS streams (replays and exports, HTTP and TCP) more are refused: 503 TOO_MANY_STREAMS.',
          access: 'read',
          query: ReplayQuery,
          responses: {
            200: {
              description: 'NDJSON, one line per item; each line is one of the shapes below',
              content: {
                'application/x-ndjson': ReplayLine,
                [DBN_MEDIA_TYPE]: { type: 'string', format: 'binary', description: 'format=dbn: DBN v3, MBP-10 or MBP-1 records (MBO records with schema=mbo)' },
              },
            },
          },
          problems: [
            problem('not-found', 'Unknown symbol (UNKNOWN_SYMBOL), a publisher a symbol does not have (UNKNOWN_PUBLISHER), or schema=mbo for a symbol stored without MBO (NO_MBO_STORED)'),
            problem('invalid', 'A parameter is invalid (INVALID_PARAMETER), or depth is deeper than stored (DEPTH_NOT_STORED)'),
            problem('unavailable', 'The store does not answer (checking the symbols named needs it); a failure part-way is an error line instead'),
          ],
        }),
      },
    },
  };
}
