import type { BboBucket, PriceSpan, TradeSpan } from './port.js';

/** A bucket of snapshots: how many, and their best bid and best ask. */
export interface BookBucket {
  ts: bigint;
  snapshots: number;
  bid: PriceSpan | null;
  ask: PriceSpan | null;
}

/** A bucket of trades. */
export interface TradeBucket {
  ts: bigint;
  trades: TradeSpan;
}

/**
 * A price span from a row's four aggregates, or null when the side had no
 * value in the bucket (the aggregates are then all null).
 */
export function spanOf(first: unknown, last: unknown, min: unknown, max: unknown): PriceSpan | null {
  if (first === null || first === undefined) return null;
  return { first: Number(first), last: Number(last), min: Number(min), max: Number(max) };
}

/**
 * One series from the two tables' buckets (each in time order): a bucket
 * per start found in either, the earliest `limit`.
 */
export function joinBuckets(books: BookBucket[], trades: TradeBucket[], limit: number): BboBucket[] {
  const out: BboBucket[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < books.length || j < trades.length)) {
    const b = books[i];
    const t = trades[j];
    const ts = t === undefined || (b !== undefined && b.ts <= t.ts) ? b.ts : t.ts;
    const book = b?.ts === ts ? books[i++] : null;
    const trade = t?.ts === ts ? trades[j++] : null;
    out.push({ ts, snapshots: book?.snapshots ?? 0, bid: book?.bid ?? null, ask: book?.ask ?? null, trades: trade?.trades ?? null });
  }
  return out;
}
