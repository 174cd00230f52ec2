import type { BookSide } from './side.js';

/**
 * An MBP-N depth snapshot of one book as an object: what JSON output, the API
 * and tests use. The engine itself writes snapshots into a SnapshotBuffer
 * (columns, no allocation) and materialises these with `row(i)`.
 * Levels are packed [price, size, count, ...] best first, one entry per level
 * present (at most `depth`). Prices are integers in 1e-9 units.
 */
export interface DepthSnapshot {
  instrumentId: number;
  publisherId: number;
  tsRecv: bigint;
  tsEvent: bigint;
  sequence: number;
  /** Numbers snapshots of one book that share ts_recv and sequence: 0, 1, ... */
  subSequence: number;
  /** The triggering record: action and side as letters. */
  action: string;
  side: string;
  /** null when the triggering record carries UNDEF_PRICE (or an unrepresentable one). */
  price: number | null;
  size: number;
  flags: number;
  tsInDelta: number;
  depth: number;
  bids: number[];
  asks: number[];
  /** Best bid above best ask (kept, as the market had it). */
  crossed: boolean;
  /** Best bid equal to best ask. */
  locked: boolean;
}

/** The top `depth` levels of a side, packed as in DepthSnapshot. */
export function packLevels(side: BookSide, depth: number): number[] {
  const out: number[] = [];
  const levels = side.levels;
  const stop = Math.max(0, levels.length - depth);
  for (let j = levels.length - 1; j >= stop; j--) {
    const l = levels[j];
    out.push(l.price, l.size, l.count); // 0 on a TOB level (it holds no orders)
  }
  return out;
}

/**
 * Best bid above best ask: a crossed book. Prices are the two sides' best, or
 * NaN for an empty side, which is never crossed nor locked. Crossed and
 * locked books can be real (pre-open, auctions): they are reported, never repaired.
 */
export const isCrossed = (bestBid: number, bestAsk: number): boolean => bestBid > bestAsk;
/** Best bid equal to best ask (NaN for an empty side: never locked). */
export const isLocked = (bestBid: number, bestAsk: number): boolean => bestBid === bestAsk;
