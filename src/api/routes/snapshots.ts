import { Router } from 'express';
import { z } from 'zod';
import type { SnapshotStore } from '../../store/port.js';
import type { ActiveReads } from '../../stream/active-reads.js';
import { EXPORT_MEDIA_TYPES, streamExport } from '../../stream/export.js';
import { SnapshotsQuery } from '../../stream/requests.js';
import type { Guards } from '../auth.js';
import { operation, problem, type RouteGroup } from '../openapi.js';
import { SnapshotFrameSchema } from '../schemas.js';

/** Exports: a range of one symbol's snapshots, streamed as JSON, NDJSON or CSV. */

const TAG = 'exports';
const SymbolPath = z.object({ symbol: z.string().describe('a raw symbol, e.g. CLX5') });

export function snapshotsRoutes(deps: { store: SnapshotStore; guards: Guards; reads: ActiveReads }): RouteGroup {
  const { store, guards, reads } = deps;
  const router = Router();

  router.get('/v1/books/:symbol/snapshots', guards.read, async (req, res) => {
    const q = SnapshotsQuery.parse(req.query);
    const symbol = String(req.params.symbol);
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    res.status(200).type(EXPORT_MEDIA_TYPES[q.format]);
    const { complete, tail } = await reads.run(controller, (signal) => streamExport(store, symbol, q, res, signal));
    // Cut short (the client left, or a shutdown): the response is not
    // ended, so the connection closes without the last chunk and the client
    // cannot take a partial export for a whole one.
    if (!complete) return;
    res.end(tail);
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
              },
            },
          },
          problems: [problem('unavailable')],
        }),
      },
    },
  };
}
