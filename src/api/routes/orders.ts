import { Router } from 'express';
import { z } from 'zod';
import type { SnapshotStore } from '../../store/port.js';
import { orderLife, ordersAt, type OrderEvent } from '../../store/l3.js';
import { storedOrdersJson } from '../../encode/book-json.js';
import { formatPrice } from '../../encode/price.js';
import { UNDEF_PRICE } from '../../dbn/constants.js';
import { depth, instant, publisherId } from '../../stream/requests.js';
import { requireMboStored, type InstrumentCatalog } from '../../stream/symbols.js';
import type { Guards } from '../auth.js';
import { operation, problem, type RouteGroup } from '../openapi.js';
import { Problem } from '../problem.js';
import { LevelSchema, NanosSchema } from '../schemas.js';

/**
 * L3 from the store: the orders behind every level of a book at an instant,
 * and one order's life. Both rebuild the book with the engine's own code from
 * a stored checkpoint and the MBO events after it (src/store/l3.ts).
 */

const TAG = 'orders';

export const OrdersQuery = z.object({
  at: instant.optional().describe('ISO-8601 with a zone, or ns since the epoch; default: the latest'),
  depth: depth(10_000, 10).describe('levels per side (every order of each)'),
  publisher_id: publisherId.describe('one publisher; required when the symbol has several'),
}).strict();

export const OrderQuery = z.object({
  symbol: z.string().min(1).max(64).describe('the raw symbol the order traded under, e.g. CLX5'),
  publisher_id: publisherId.describe('one publisher; required when the symbol has several'),
}).strict();

const SymbolPath = z.object({ symbol: z.string().describe('a raw symbol, e.g. CLX5') });
const U64 = z.string().refine((s) => /^\d{1,20}$/.test(s) && BigInt(s) < 2n ** 64n, 'must be a u64 in decimal, as the order ids in the book\'s orders');
const OrderPath = z.object({ order_id: U64.describe('the order id, a u64 in decimal') });

const decimal = LevelSchema.shape.price;

const QueuedOrderSchema = z.object({
  order_id: z.string().describe('u64 as a decimal string'),
  size: z.number().int(),
  ts_recv: NanosSchema.describe('when it took its place in the queue: its add, or the last modify that lost it priority'),
  position: z.number().int().describe('orders ahead of it: 0 is the front'),
  size_ahead: z.number().int(),
});

const OrdersBookSchema = z.object({
  symbol: z.string().nullable(),
  instrument_id: z.number().int(),
  publisher_id: z.number().int(),
  ts_recv: NanosSchema.describe('ts_recv of the last record applied'),
  sequence: z.number().int(),
  bid_levels: z.number().int().describe('levels in the whole book'),
  ask_levels: z.number().int(),
  orders: z.number().int().describe('resting orders in the whole book'),
  crossed: z.boolean(),
  locked: z.boolean(),
  bids: z.array(LevelSchema.extend({ orders: z.array(QueuedOrderSchema).describe('front of the queue first; none on a top-of-book level') })).describe('best first'),
  asks: z.array(LevelSchema.extend({ orders: z.array(QueuedOrderSchema) })).describe('best first'),
});

const OrderEventSchema = z.object({
  instrument_id: z.number().int(),
  publisher_id: z.number().int(),
  ts_recv: NanosSchema,
  ts_event: NanosSchema,
  sequence: z.number().int(),
  sub_sequence: z.number().int(),
  action: z.string().describe('A, C, M, F, T, R or N'),
  side: z.string(),
  price: decimal.nullable().describe('the record\'s price; null when undefined'),
  size: z.number().int().describe('the record\'s size'),
  flags: z.number().int(),
  resting: z.object({
    side: z.enum(['B', 'A']),
    price: decimal,
    size: z.number().int().describe('its size left'),
    position: z.number().int().describe('orders ahead of it: 0 is the front'),
    size_ahead: z.number().int(),
    ts_recv: NanosSchema.describe('when it took its place in the queue'),
  }).nullable().describe('where the order rests after this event; null once it has left the book (or for an event on an order the book never held)'),
});

const OrderLifeSchema = z.object({
  order_id: z.string(),
  symbol: z.string(),
  events: z.array(OrderEventSchema).describe('in key order, per book'),
});

function orderEventJson(e: OrderEvent) {
  const r = e.event;
  return {
    instrument_id: e.book.instrumentId,
    publisher_id: e.book.publisherId,
    ts_recv: r.tsRecv.toString(),
    ts_event: r.tsEvent.toString(),
    sequence: r.sequence,
    sub_sequence: r.subSequence,
    action: String.fromCharCode(r.action),
    side: String.fromCharCode(r.side),
    price: r.price === UNDEF_PRICE ? null : formatPrice(r.price),
    size: r.size,
    flags: r.flags,
    resting: e.resting === null ? null : {
      side: e.resting.side, price: formatPrice(e.resting.price), size: e.resting.size, position: e.resting.position,
      size_ahead: e.resting.sizeAhead, ts_recv: e.resting.queuedAt.toString(),
    },
  };
}

export function ordersRoutes(deps: { store: SnapshotStore; guards: Guards; catalog: InstrumentCatalog }): RouteGroup {
  const { store, guards, catalog } = deps;
  const router = Router();

  router.get('/v1/books/:symbol/orders', guards.read, async (req, res) => {
    const q = OrdersQuery.parse(req.query);
    const symbol = String(req.params.symbol);
    await catalog.scope({ symbols: [symbol], publisherId: q.publisher_id, depth: q.depth, depthGiven: false, symbolField: 'symbol' });
    const found = await ordersAt(store.l3, symbol, q.at, q.publisher_id);
    if (found === null) {
      await requireMboStored(store, [symbol], q.publisher_id, 'symbol');
      throw new Problem('not-found', 'NO_DATA_AT_INSTANT', `${symbol} has no MBO event at or before ${String(req.query.at)}; see GET /v1/instruments for its time range`, 'at');
    }
    res.json(storedOrdersJson(found.book, symbol, q.depth));
  });

  router.get('/v1/orders/:order_id', guards.read, async (req, res) => {
    const orderId = BigInt(OrderPath.parse(req.params).order_id);
    const q = OrderQuery.parse(req.query);
    await catalog.scope({ symbols: [q.symbol], publisherId: q.publisher_id, depth: 1, depthGiven: false, symbolField: 'symbol' });
    const events = await orderLife(store.l3, orderId, q.symbol, q.publisher_id);
    if (events.length === 0) {
      await requireMboStored(store, [q.symbol], q.publisher_id, 'symbol');
      throw new Problem('not-found', 'UNKNOWN_ORDER', `no MBO event of ${q.symbol} is on order ${orderId}`, 'order_id');
    }
    res.json({ order_id: orderId.toString(), symbol: q.symbol, events: events.map(orderEventJson) });
  });

  return {
    tag: { name: TAG, description: 'L3: the resting orders behind each level, and one order\'s life, from the stored MBO events' },
    router,
    paths: {
      '/v1/books/{symbol}/orders': {
        get: operation(TAG, {
          summary: 'The book at an instant with every level\'s resting orders in queue order (its latest L3 checkpoint and the MBO events since, replayed)',
          access: 'read',
          path: SymbolPath,
          query: OrdersQuery,
          responses: { 200: { description: 'The book, each level with its orders front first; what `booktape book FILE --at T --orders --format json` prints for it, less anomalies', content: { 'application/json': OrdersBookSchema } } },
          problems: [
            problem('not-found', 'Unknown symbol (UNKNOWN_SYMBOL) or publisher (UNKNOWN_PUBLISHER), an instant before its data (NO_DATA_AT_INSTANT), or no MBO stored for it (NO_MBO_STORED)'),
            problem('invalid', 'A parameter is invalid (INVALID_PARAMETER), or the symbol has several publishers and publisher_id is missing (PUBLISHER_REQUIRED)'),
            problem('unavailable'),
          ],
        }),
      },
      '/v1/orders/{order_id}': {
        get: operation(TAG, {
          summary: 'One order\'s life: every MBO event on it (add, modify, fill, cancel), with its size, queue position and size ahead after each',
          access: 'read',
          path: OrderPath,
          query: OrderQuery,
          responses: { 200: { description: 'The order\'s events in key order, each with where the order rests after it', content: { 'application/json': OrderLifeSchema } } },
          problems: [
            problem('not-found', 'Unknown symbol (UNKNOWN_SYMBOL) or publisher (UNKNOWN_PUBLISHER), no event on that order (UNKNOWN_ORDER), or no MBO stored for the symbol (NO_MBO_STORED)'),
            problem('invalid', 'A parameter is invalid (INVALID_PARAMETER)'),
            problem('unavailable'),
          ],
        }),
      },
    },
  };
}
