// src/api/routes/: one module per route group, each with its router and its OpenAPI description.
import { Router } from 'express';
import { z } from 'zod';
import type { SnapshotStore } from '../../store/port.js';
import { snapshotToJson } from '../../encode/book-json.js';
import { depth, instant, publisherId } from '../../stream/requests.js';
import type { InstrumentCatalog } from '../../stream/symbols.js';
import type { Guards } from '../auth.js';
import { operation, problem, type RouteGroup } from '../openapi.js';
import { Problem } from '../problem.js';
import { LevelSchema, NanosSchema } from '../schemas.js';

/** The books: instruments in the store and the book of one at an instant. */

const TAG = 'books';

export const BookQuery = z.object({
  at: instant.optional().describe('ISO-8601 with a zone, or ns since the epoch; default: the latest'),
  depth: depth(50, 10),
  publisher_id: publisherId.describe('one publisher; required when the symbol has several'),
}).strict();

const SymbolPath = z.object({ symbol: z.string().describe('a raw symbol, e.g. CLX5') });

const InstrumentSchema = z.object({
  symbol: z.string().nullable(),
  instrument_id: z.number().int(),
  publisher_id: z.number().int(),
  first_ts_recv: NanosSchema,
  last_ts_recv: NanosSchema,
  snapshots: z.number().int(),
  depth: z.number().int().describe('levels per side stored (BOOKTAPE_DEPTH when ingested)'),
});

const BookSchema = z.object({
  symbol: z.string().nullable(),
  instrument_id: z.number().int(),
  publisher_id: z.number().int(),
  ts_recv: NanosSchema,
  sequence: z.number().int(),
  crossed: z.boolean(),
  locked: z.boolean(),
  bids: z.array(LevelSchema).describe('best first'),
  asks: z.array(LevelSchema).describe('best first'),
});

export function booksRoutes(deps: { store: SnapshotStore; guards: Guards; catalog: InstrumentCatalog }): RouteGroup {
  const { store, guards, catalog } = deps;
  const router = Router();

  router.get('/v1/instruments', guards.read, async (_req, res) => {
    const list = await store.listInstruments();
    res.json(list.map((i) => ({
      symbol: i.symbol, instrument_id: i.instrumentId, publisher_id: i.publisherId,
      first_ts_recv: i.firstTsRecv.toString(), last_ts_recv: i.lastTsRecv.toString(), snapshots: i.snapshots, depth: i.depth,
    })));
  });

  router.get('/v1/books/:symbol', guards.read, async (req, res) => {
    const q = BookQuery.parse(req.query);
    const symbol = String(req.params.symbol);
    const { depth } = await catalog.scope({ symbols: [symbol], publisherId: q.publisher_id, depth: q.depth, depthGiven: req.query.depth !== undefined, symbolField: 'symbol', oneBook: true });
    const snap = await store.bookAt(symbol, q.at, q.publisher_id);
    if (snap === null) {
      const at = q.at === undefined ? 'the latest instant' : String(req.query.at);
      throw new Problem('not-found', 'NO_DATA_AT_INSTANT', `${symbol} has no snapshot at or before ${at}; see GET /v1/instruments for its time range`, 'at');
    }
    res.json(snapshotToJson(snap, snap.symbol, depth));
  });

  return {
    tag: { name: TAG, description: 'Instruments in the store and their books at an instant' },
    router,
    paths: {
      '/v1/instruments': {
        get: operation(TAG, {
          summary: 'Instruments in the store, with their time range and snapshot count',
          access: 'read',
          responses: { 200: { description: 'The instruments', content: { 'application/json': z.array(InstrumentSchema) } } },
          problems: [problem('unavailable')],
        }),
      },
      '/v1/books/{symbol}': {
        get: operation(TAG, {
          summary: 'The book at an instant (the latest snapshot at or before `at`; default the latest)',
          access: 'read',
          path: SymbolPath,
          query: BookQuery,
          responses: { 200: { description: 'The book: bids and asks best first as {price, size, count}; prices are decimal strings', content: { 'application/json': BookSchema } } },
          problems: [
            problem('not-found', 'Unknown symbol (UNKNOWN_SYMBOL) or publisher (UNKNOWN_PUBLISHER), or an instant before its data (NO_DATA_AT_INSTANT)'),
            problem('invalid', 'A parameter is invalid (INVALID_PARAMETER), the symbol has several publishers and publisher_id is missing (PUBLISHER_REQUIRED), or depth is deeper than stored (DEPTH_NOT_STORED)'),
            problem('unavailable'),
          ],
        }),
      },
    },
  };
}
