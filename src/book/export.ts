import type { Anomalies } from './anomalies.js';
import type { Book } from './book.js';
import { formatPrice } from './price.js';
import type { BookSide } from './side.js';

export interface LevelJson {
  /** Exact decimal string, 9 places. */
  price: string;
  size: number;
  count: number;
}

/**
 * The reconstructed book as JSON: the shape shared by `booktape book` and
 * `GET /v1/books/{symbol}`.
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

export function levelsJson(side: BookSide, depth: number): LevelJson[] {
  const out: LevelJson[] = [];
  const n = Math.min(depth, side.depth);
  for (let i = 0; i < n; i++) {
    const l = side.nth(i)!;
    out.push({ price: formatPrice(l.price), size: l.size, count: l.tob ? 0 : l.count });
  }
  return out;
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
    crossed: bid !== undefined && ask !== undefined && bid.price > ask.price,
    locked: bid !== undefined && ask !== undefined && bid.price === ask.price,
    bids: levelsJson(book.bids, depth),
    asks: levelsJson(book.asks, depth),
    anomalies: (book.anomalies as Anomalies).toJSON(),
  };
}
