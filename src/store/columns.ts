// src/store/: the snapshot store port and its adapters (duckdb/, questdb/).
import { ASK_PX, ASK_SZ, BID_PX, BID_SZ, type LevelField, type SnapshotBuffer } from '../book/snapshot-buffer.js';
import { isCrossed, isLocked } from '../book/snapshot.js';

/**
 * What both stores keep per snapshot, beyond the key. Prices are stored as
 * DOUBLE in price units (65.4, not 65400000000) so SQL reads naturally; the
 * round trip back to integer nanos (Math.round(x * 1e9)) is exact for
 * |price| below about two million.
 */
export const NANOS = 1e9;

export const toNanos = (price: number): number => Math.round(price * NANOS);

/** Stored level columns, in the order of SnapshotBuffer's level fields (BID_PX ... ASK_CT). */
export const LEVEL_COLUMNS = ['bid_px', 'bid_sz', 'bid_ct', 'ask_px', 'ask_sz', 'ask_ct'] as const;

/** One side's level field of row i, as stored (prices in price units). */
export function levelColumn(buf: SnapshotBuffer, i: number, field: LevelField): number[] {
  const n = buf.levelCount(i, field);
  const base = buf.slot(i, field);
  const out = new Array<number>(n);
  const price = field === BID_PX || field === ASK_PX;
  for (let k = 0; k < n; k++) out[k] = price ? buf.rows[base + k] / NANOS : buf.rows[base + k];
  return out;
}

/** Scalar top-of-book columns for cheap SQL and dashboards; NaN where a side is empty. */
export function topOfBook(buf: SnapshotBuffer, i: number) {
  const hasBid = buf.bidLevels(i) > 0;
  const hasAsk = buf.askLevels(i) > 0;
  const bid = buf.rows[buf.slot(i, BID_PX)];
  const ask = buf.rows[buf.slot(i, ASK_PX)];
  return {
    bidPx: hasBid ? bid / NANOS : NaN,
    bidSz: hasBid ? buf.rows[buf.slot(i, BID_SZ)] : NaN,
    askPx: hasAsk ? ask / NANOS : NaN,
    askSz: hasAsk ? buf.rows[buf.slot(i, ASK_SZ)] : NaN,
    spread: hasBid && hasAsk ? (ask - bid) / NANOS : NaN,
    crossed: isCrossed(hasBid ? bid : NaN, hasAsk ? ask : NaN),
    locked: isLocked(hasBid ? bid : NaN, hasAsk ? ask : NaN),
  };
}
