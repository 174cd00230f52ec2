import { Router } from 'express';
import { z } from 'zod';
import type { Logger } from 'pino';
import { logFailure } from '../../log.js';
import { EXPORT_MEDIA_TYPES, streamExport } from '../../stream/export.js';
import { SnapshotsQuery } from '../../stream/requests.js';
import type { InstrumentCatalog } from '../../stream/symbols.js';
import type { Guards } from '../auth.js';
import { operation, problem, type RouteGroup } from '../openapi.js';
import { SnapshotFrameSchema } from '../schemas.js';
import { DBN_MEDIA_TYPE, sendDbn, takeStreamSlot, type StreamDeps } from '../streams.js';

/** Exports: a range of one symbol's snapshots, streamed as JSON, NDJSON or CSV. */

const TAG = 'exports';
const SymbolPath = z.object({ symbol: z.string().describe('a raw symbol, e.g. CLX5') });

export function snapshotsRoutes(deps: StreamDeps & { guards: Guards; log: Logger; catalog: InstrumentCatalog }): RouteGroup {
  const { store, guards, reads, log, catalog } = deps;
  const router = Router();

  router.get('/v1/books/:symbol/snapshots', guards.read, async (req, res) => {
    const q = SnapshotsQuery.parse(req.query);
    const symbol = String(req.params.symbol);
    const { depth } = await catalog.scope({ symbols: [symbol], publisherId: q.publisher_id, depth: q.depth, depthGiven: req.query.depth !== undefined, symbolField: 'symbol' });
    const release = takeStreamSlot(deps.slots);
    try {
      const controller = new AbortController();
      res.on('close', () => controller.abort());
      if (q.format === 'dbn') {
        const onFailure = (err: unknown, records: number) => logFailure(log, 'dbn export failed', err, { records });
        const range = { symbols: [symbol], from: q.from, to: q.to, after: q.after, limit: q.limit, publisherId: q.publisher_id };
        await sendDbn({ ...deps, onFailure }, res, controller, range, q.depth === 1 ? 1 : 10, { rate: 0, speed: 0 });
        return;
      }
      res.status(200).type(EXPORT_MEDIA_TYPES[q.format]);
      const { complete, tail } = await reads.run(controller, (signal) => streamExport(store, symbol, { ...q, format: q.format, depth }, res, signal));
      // Cut short (the client left, or a shutdown): the response is not
      // ended, so the connection closes without the last chunk and the client
      // cannot take a partial export for a whole one.
      if (!complete) return;
      res.end(tail);
    } finally {
      release();
    }
  });

  return {
    tag: { name: TAG, description: 'Ranges of snapshots as files: JSON, NDJSON or CSV, paged by row key' },
    router,
    paths: {
      '/v1/books/{symbol}/snapshots': {
        get: operation(TAG, {
          summary: 'Export a range of snapshots (streamed)',
          description: 'Rows in key order (ts_recv, instrument_id, publisher_id, sequence, sub_sequence). '
            + 'Page with `after`: the key of the last row of a page; the next page starts after it, with no row skipped or repeated. '
            + 'A response cut short (the client left, a shutdown) ends without its last chunk, never as a whole one.',
          access: 'read',
          path: SymbolPath,
          query: SnapshotsQuery,
          responses: {
            200: {
              description: 'Snapshots in key order',
              content: {
                [EXPORT_MEDIA_TYPES.json]: z.array(SnapshotFrameSchema),
                [EXPORT_MEDIA_TYPES.ndjson]: { type: 'string', description: 'one snapshot JSON object per line (the JSON format\'s items)' },
                [EXPORT_MEDIA_TYPES.csv]: { type: 'string', description: 'a header row, then one row per snapshot; levels as bid_px_00, bid_sz_00, bid_ct_00, ...' },
                [DBN_MEDIA_TYPE]: { type: 'string', format: 'binary', description: 'format=dbn: DBN v3, MBP-10 records (MBP-1 at depth=1); X-Booktape-Records and the metadata\'s limit give the count of a whole one' },
              },
            },
          },
          problems: [
            problem('not-found', 'Unknown symbol (UNKNOWN_SYMBOL), or a publisher the symbol does not have (UNKNOWN_PUBLISHER)'),
            problem('invalid', 'A parameter is invalid (INVALID_PARAMETER), or depth is deeper than stored (DEPTH_NOT_STORED)'),
            problem('unavailable'), // also TOO_MANY_STREAMS past BOOKTAPE_MAX_STREAMS
          ],
        }),
      },
    },
  };
}
