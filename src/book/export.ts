import type { Book } from './book.js';
import { formatPrice } from './price.js';
import { packLevels } from './snapshot.js';

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

/** Packed levels ([price, size, count, ...] best first) as JSON, at most `depth` of them. */
export function packedLevelsJson(packed: number[], depth = Infinity): LevelJson[] {
  const out: LevelJson[] = [];
  for (let k = 0; k < packed.length && k < depth * 3; k += 3) {
    out.push({ price: formatPrice(packed[k]), size: packed[k + 1], count: packed[k + 2] });
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
    bids: packedLevelsJson(packLevels(book.bids, depth)),
    asks: packedLevelsJson(packLevels(book.asks, depth)),
    anomalies: book.anomalies.toJSON(),
  };
}
