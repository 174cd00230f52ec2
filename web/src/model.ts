/** What the page reads from the API, as the API writes it. */

/** A price level: price as the API's exact decimal string. */
export interface Level {
  price: string;
  size: number;
  count: number;
}

/** A book at an instant: GET /v1/books/{symbol}, or a replay frame, in one shape. */
export interface Book {
  symbol: string | null;
  instrumentId: number;
  publisherId: number;
  /** ns since the epoch, as a decimal string. */
  tsRecv: string;
  crossed: boolean;
  locked: boolean;
  bids: Level[];
  asks: Level[];
}

/** GET /v1/instruments, one entry. */
export interface Instrument {
  symbol: string | null;
  instrument_id: number;
  publisher_id: number;
  first_ts_recv: string;
  last_ts_recv: string;
  snapshots: number;
}

export interface BookJson {
  symbol: string | null;
  instrument_id: number;
  publisher_id: number;
  ts_recv: string;
  crossed: boolean;
  locked: boolean;
  bids: Level[];
  asks: Level[];
}

/** GET /v1/books/{symbol}/orders: a level with its resting orders, front of the queue first. */
export interface LevelOrders extends Level {
  orders: Array<{ order_id: string; size: number; ts_recv: string; position: number; size_ahead: number }>;
}

export interface OrdersJson {
  ts_recv: string;
  bids: LevelOrders[];
  asks: LevelOrders[];
}

/** A replay line of type "snapshot": levels as [price, size, count]. */
export interface FrameJson {
  type: 'snapshot';
  symbol: string | null;
  instrument_id: number;
  publisher_id: number;
  ts_recv: string;
  sequence: number;
  sub_sequence: number;
  crossed: boolean;
  locked: boolean;
  bids: Array<[string, number, number]>;
  asks: Array<[string, number, number]>;
}

export interface PriceSpan {
  first: number;
  last: number;
  min: number;
  max: number;
}

/** GET /v1/books/{symbol}/bbo, one bucket. */
export interface BboBucketJson {
  ts: string;
  snapshots: number;
  bid: PriceSpan | null;
  ask: PriceSpan | null;
  trades: { count: number; volume: number; price: PriceSpan | null } | null;
}

export interface BboJson {
  symbol: string;
  every: string;
  buckets: BboBucketJson[];
}

export const bookOf = (b: BookJson): Book => ({
  symbol: b.symbol, instrumentId: b.instrument_id, publisherId: b.publisher_id, tsRecv: b.ts_recv,
  crossed: b.crossed, locked: b.locked, bids: b.bids, asks: b.asks,
});

const levelOf = ([price, size, count]: [string, number, number]): Level => ({ price, size, count });

export const frameBook = (f: FrameJson): Book => ({
  symbol: f.symbol, instrumentId: f.instrument_id, publisherId: f.publisher_id, tsRecv: f.ts_recv,
  crossed: f.crossed, locked: f.locked, bids: f.bids.map(levelOf), asks: f.asks.map(levelOf),
});
