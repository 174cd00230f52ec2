// src/encode/: output encoders: bytes written straight into chunks (MBO and MBP text, DBN MBP records, replay frames, book JSON).
import type { Book } from '../book/book.js';
import { formatPrice } from './price.js';
import { isCrossed, isLocked, packLevels, type DepthSnapshot } from '../book/snapshot.js';
import { levelQueues, type LevelQueue } from '../book/queue.js';

export interface LevelJson {
  /** Exact decimal string, 9 places. */
  price: string;
  size: number;
  count: number;
}

/** The book JSON's fields that a depth snapshot has too: what `GET /v1/books/{symbol}` answers. */
export type SnapshotBookJson = Pick<BookJson, 'symbol' | 'instrument_id' | 'publisher_id' | 'ts_recv' | 'sequence' | 'crossed' | 'locked' | 'bids' | 'asks'>;

/**
 * The reconstructed book as JSON: the shape of `booktape book`, and (less the
 * whole-book counts a snapshot does not keep) of `GET /v1/books/{symbol}`.
 */
export interface BookJson {
  symbol: string | null;
  instrument_id: number;
  publisher_id: number;
  /** ts_recv (ns, decimal string) and sequence of the last record applied. */
  ts_recv: string;
  sequence: number;
  bid_levels: number;
  ask_levels: number;
  orders: number;
  crossed: boolean;
  locked: boolean;
  bids: LevelJson[];
  asks: LevelJson[];
  anomalies: Record<string, number>;
}

/** Packed levels ([price, size, count, ...] best first) as JSON, at most `depth` of them. */
export function packedLevelsJson(packed: number[], depth = Infinity): LevelJson[] {
  const out: LevelJson[] = [];
  for (let k = 0; k < packed.length && k < depth * 3; k += 3) {
    out.push({ price: formatPrice(packed[k]), size: packed[k + 1], count: packed[k + 2] });
  }
  return out;
}

/** One resting order in a level's queue. */
export interface QueuedOrderJson {
  /** u64 as a decimal string. */
  order_id: string;
  size: number;
  /** ts_recv (ns, decimal string) at which it took its place in the queue. */
  ts_recv: string;
  /** Orders ahead of it: 0 is the front of the queue. */
  position: number;
  /** Summed size of the orders ahead of it. */
  size_ahead: number;
}

/** A level with its queue, front first (a top-of-book level has none: its count is 0). */
export interface LevelOrdersJson extends LevelJson {
  orders: QueuedOrderJson[];
}

/**
 * The book with every level's resting orders: `booktape book --orders
 * --format json`, and (less `anomalies`, which only a whole file's run
 * counts) `GET /v1/books/{symbol}/orders`.
 */
export interface BookOrdersJson extends Omit<BookJson, 'bids' | 'asks'> {
  bids: LevelOrdersJson[];
  asks: LevelOrdersJson[];
}

function levelOrdersJson(levels: LevelQueue[]): LevelOrdersJson[] {
  return levels.map((l) => ({
    price: formatPrice(l.price),
    size: l.size,
    count: l.count,
    orders: l.orders.map((o) => ({
      order_id: o.orderId.toString(), size: o.size, ts_recv: o.queuedAt.toString(), position: o.position, size_ahead: o.sizeAhead,
    })),
  }));
}

/** A book's orders read from a store: all but `anomalies`, which only a run over the whole file counts. */
export type StoredOrdersJson = Omit<BookOrdersJson, 'anomalies'>;

/** bookOrdersToJson without `anomalies`: what `GET /v1/books/{symbol}/orders` answers. */
export function storedOrdersJson(book: Book, symbol: string | null, depth: number): StoredOrdersJson {
  const { anomalies: _, ...json } = bookOrdersToJson(book, symbol, depth);
  return json;
}

/** bookToJson with each level's queue. */
export function bookOrdersToJson(book: Book, symbol: string | null, depth: number): BookOrdersJson {
  return {
    ...bookToJson(book, symbol, 0),
    bids: levelOrdersJson(levelQueues(book.bids, depth)),
    asks: levelOrdersJson(levelQueues(book.asks, depth)),
  };
}

export function bookToJson(book: Book, symbol: string | null, depth: number): BookJson {
  const bid = book.bids.best();
  const ask = book.asks.best();
  return {
    symbol,
    instrument_id: book.instrumentId,
    publisher_id: book.publisherId,
    ts_recv: book.lastTsRecv.toString(),
    sequence: book.lastSequence,
    bid_levels: book.bids.depth,
    ask_levels: book.asks.depth,
    orders: book.orders.size,
    crossed: isCrossed(bid?.price ?? NaN, ask?.price ?? NaN),
    locked: isLocked(bid?.price ?? NaN, ask?.price ?? NaN),
    bids: packedLevelsJson(packLevels(book.bids, depth)),
    asks: packedLevelsJson(packLevels(book.asks, depth)),
    anomalies: book.anomalies.toJSON(),
  };
}

/**
 * A depth snapshot in the book JSON's shape. A snapshot keeps only the top
 * levels, so bookToJson's bid_levels/ask_levels (levels in the whole book),
 * orders and anomalies are not part of it.
 */
export function snapshotToJson(s: DepthSnapshot, symbol: string | null, depth: number): SnapshotBookJson {
  return {
    symbol,
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
