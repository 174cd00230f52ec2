import { Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { SnapshotStore } from '../../store/port.js';
import type { ActiveReads } from '../../stream/active-reads.js';
import type { ReplayMetrics } from '../../stream/metrics.js';
import { streamReplay } from '../../stream/replay.js';
import { ReplayQuery } from '../../stream/requests.js';
import type { Guards } from '../auth.js';
import { operation, type RouteGroup } from '../openapi.js';
import { NanosSchema, SnapshotFrameSchema } from '../schemas.js';

/** Replay over HTTP: the same stream as the TCP port, as chunked NDJSON. */

const TAG = 'replay';

const HeaderLine = z.object({
  type: z.literal('header'), symbols: z.array(z.string()), from: NanosSchema.nullable(), to: NanosSchema.nullable(),
  after: z.string().nullable(), depth: z.number().int().nullable(), rate: z.number().nullable(), speed: z.number().nullable(), fields: z.string(),
});
const EndLine = z.object({
  type: z.literal('end'), complete: z.boolean(), frames: z.number().int(), first_ts_recv: NanosSchema.nullable(), last_ts_recv: NanosSchema.nullable(),
});
const ErrorLine = z.object({ type: z.literal('error'), code: z.string(), detail: z.string(), frames: z.number().int() });
const ReplayLine = z.union([HeaderLine, SnapshotFrameSchema, EndLine, ErrorLine]);

export function replayRoutes(deps: { store: SnapshotStore; guards: Guards; reads: ActiveReads; metrics: ReplayMetrics; log: Logger }): RouteGroup {
  const { store, guards, reads, metrics, log } = deps;
  const router = Router();

  router.get('/v1/replay', guards.read, async (req, res) => {
    const q = ReplayQuery.parse(req.query);
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    res.status(200).type('application/x-ndjson');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    metrics.activeStreams.inc({ transport: 'http' });
    try {
      const counts = await reads.run(controller, (signal) => streamReplay(store, q, res, signal, (frames, bytes) => {
        metrics.replayFrames.inc({ transport: 'http' }, frames);
        metrics.replayBytes.inc({ transport: 'http' }, bytes);
      }));
      if (counts.failure !== undefined) log.error({ err: counts.failure, frames: counts.frames }, 'http replay failed');
      res.end();
    } finally {
      metrics.activeStreams.dec({ transport: 'http' });
    }
  });

  return {
    tag: { name: TAG, description: 'Paced replays of snapshots (also on the TCP port, one JSON request line)' },
    router,
    paths: {
      '/v1/replay': {
        get: operation(TAG, {
          summary: 'Replay snapshots as chunked NDJSON (a header line, frames, an end marker with counts)',
          description: 'Lines: {type:header}, {type:snapshot}..., then {type:end, complete, frames}; '
            + 'or {type:error, code, detail, frames} in place of the end marker when the store fails part-way. '
            + 'A stream without either line was cut: resume it with `after` set to the key of the last frame received.',
          access: 'read',
          query: ReplayQuery,
          responses: {
            200: {
              description: 'NDJSON, one line per item; each line is one of the shapes below',
              content: { 'application/x-ndjson': ReplayLine },
            },
          },
        }),
      },
    },
  };
}
