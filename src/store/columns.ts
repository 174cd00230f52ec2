import type { SnapshotBuffer } from '../book/snapshot-buffer.js';

/**
 * What both stores keep per snapshot, beyond the key. Prices are stored as
 * DOUBLE in price units (65.4, not 65400000000) so SQL reads naturally; the
 * round trip back to integer nanos (Math.round(x * 1e9)) is exact for
 * |price| below about two million.
 */
export const NANOS = 1e9;

export const toNanos = (price: number): number => Math.round(price * NANOS);

export const LEVEL_COLUMNS = ['bid_px', 'bid_sz', 'bid_ct', 'ask_px', 'ask_sz', 'ask_ct'] as const;
export type LevelColumn = (typeof LEVEL_COLUMNS)[number];

/** One side's level column of row i, as stored (prices in price units). */
export function levelColumn(buf: SnapshotBuffer, i: number, col: LevelColumn): number[] {
  const bid = col.startsWith('bid');
  const n = bid ? buf.bidLevels[i] : buf.askLevels[i];
  const src = buf[col === 'bid_px' ? 'bidPx' : col === 'bid_sz' ? 'bidSz' : col === 'bid_ct' ? 'bidCt' : col === 'ask_px' ? 'askPx' : col === 'ask_sz' ? 'askSz' : 'askCt'];
  const base = i * buf.depth;
  const out = new Array<number>(n);
  const price = col.endsWith('_px');
  for (let k = 0; k < n; k++) out[k] = price ? src[base + k] / NANOS : src[base + k];
  return out;
}

/** Scalar top-of-book columns for cheap SQL and dashboards; NaN where a side is empty. */
export function topOfBook(buf: SnapshotBuffer, i: number) {
  const base = i * buf.depth;
  const hasBid = buf.bidLevels[i] > 0;
  const hasAsk = buf.askLevels[i] > 0;
  const bidPx = hasBid ? buf.bidPx[base] / NANOS : NaN;
  const askPx = hasAsk ? buf.askPx[base] / NANOS : NaN;
  return {
    bidPx,
    bidSz: hasBid ? buf.bidSz[base] : NaN,
    askPx,
    askSz: hasAsk ? buf.askSz[base] : NaN,
    spread: hasBid && hasAsk ? (buf.askPx[base] - buf.bidPx[base]) / NANOS : NaN,
    crossed: hasBid && hasAsk && buf.bidPx[base] > buf.askPx[base],
    locked: hasBid && hasAsk && buf.bidPx[base] === buf.askPx[base],
  };
}
