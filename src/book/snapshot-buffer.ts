import type { MboView } from '../dbn/mbo.js';
import type { Book } from './book.js';
import { RowKeyBuffer, captureRowKey, exportColumns, type ExportedColumns } from './row-columns.js';
import type { DepthSnapshot } from './snapshot.js';

const SNAPSHOT_ROW_COLUMNS = [
  'instrumentId', 'publisherId', 'tsRecvHi', 'tsRecvLo', 'tsEventHi', 'tsEventLo', 'sequence', 'subSequence', 'action', 'side', 'flags',
  'price', 'size', 'tsInDelta', 'bidLevels', 'askLevels',
] as const;
const SNAPSHOT_LEVEL_COLUMNS = ['bidPx', 'bidSz', 'bidCt', 'askPx', 'askSz', 'askCt'] as const;

/**
 * Depth snapshots in columns, reused batch after batch: the engine writes
 * rows with no allocation, and writers (stores, MBP output) read columns or
 * materialise a row as a DepthSnapshot only where they need an object.
 * Level columns hold `depth` slots per row, best first; `bidLevels[i]` says
 * how many are present.
 */
export class SnapshotBuffer extends RowKeyBuffer {
  readonly action: Uint8Array;
  readonly side: Uint8Array;
  readonly flags: Uint8Array;
  /** 1e-9 units; NaN when the record has no (representable) price. */
  readonly price: Float64Array;
  readonly size: Uint32Array;
  readonly tsInDelta: Int32Array;
  readonly bidLevels: Uint16Array;
  readonly askLevels: Uint16Array;
  readonly bidPx: Float64Array;
  readonly bidSz: Float64Array;
  readonly bidCt: Float64Array;
  readonly askPx: Float64Array;
  readonly askSz: Float64Array;
  readonly askCt: Float64Array;

  /** Allocates empty columns, or adopts `columns` (from `exportColumns`, e.g. sent by the engine thread). */
  constructor(readonly depth: number, capacity = 4096, columns?: ExportedColumns) {
    super(capacity, columns);
    const n = capacity;
    const c = columns?.columns;
    this.action = (c?.action as Uint8Array) ?? new Uint8Array(n);
    this.side = (c?.side as Uint8Array) ?? new Uint8Array(n);
    this.flags = (c?.flags as Uint8Array) ?? new Uint8Array(n);
    this.price = (c?.price as Float64Array) ?? new Float64Array(n);
    this.size = (c?.size as Uint32Array) ?? new Uint32Array(n);
    this.tsInDelta = (c?.tsInDelta as Int32Array) ?? new Int32Array(n);
    this.bidLevels = (c?.bidLevels as Uint16Array) ?? new Uint16Array(n);
    this.askLevels = (c?.askLevels as Uint16Array) ?? new Uint16Array(n);
    this.bidPx = (c?.bidPx as Float64Array) ?? new Float64Array(n * depth);
    this.bidSz = (c?.bidSz as Float64Array) ?? new Float64Array(n * depth);
    this.bidCt = (c?.bidCt as Float64Array) ?? new Float64Array(n * depth);
    this.askPx = (c?.askPx as Float64Array) ?? new Float64Array(n * depth);
    this.askSz = (c?.askSz as Float64Array) ?? new Float64Array(n * depth);
    this.askCt = (c?.askCt as Float64Array) ?? new Float64Array(n * depth);
  }

  static adopt(e: ExportedColumns): SnapshotBuffer {
    return new SnapshotBuffer(e.depth, e.length, e);
  }

  /** A compact copy of the filled rows, whose buffers can be transferred to another thread. */
  exportColumns(): ExportedColumns {
    return exportColumns(this, this.length, this.depth, SNAPSHOT_ROW_COLUMNS, SNAPSHOT_LEVEL_COLUMNS);
  }

  /** Appends the book's top `depth` levels, taken after record `r`. Returns the row. */
  capture(book: Book, r: MboView): number {
    const i = this.length++;
    captureRowKey(this, i, r, book.snapshotOrdinal);
    this.action[i] = r.action;
    this.side[i] = r.side;
    this.flags[i] = r.flags;
    this.price[i] = r.priceNanos;
    this.size[i] = r.size;
    this.tsInDelta[i] = r.tsInDelta;
    const depth = this.depth;
    const base = i * depth;
    let levels = book.bids.levels;
    let n = Math.min(depth, levels.length);
    for (let k = 0, j = levels.length - 1; k < n; k++, j--) {
      const l = levels[j];
      this.bidPx[base + k] = l.price;
      this.bidSz[base + k] = l.size;
      this.bidCt[base + k] = l.tob ? 0 : l.count;
    }
    this.bidLevels[i] = n;
    levels = book.asks.levels;
    n = Math.min(depth, levels.length);
    for (let k = 0, j = levels.length - 1; k < n; k++, j--) {
      const l = levels[j];
      this.askPx[base + k] = l.price;
      this.askSz[base + k] = l.size;
      this.askCt[base + k] = l.tob ? 0 : l.count;
    }
    this.askLevels[i] = n;
    return i;
  }

  /** Drops the last row (a sampled snapshot that changed nothing). */
  dropLast(): void {
    this.length--;
  }

  /** True when rows i and j show the same levels (prices, sizes, counts). */
  sameLevels(i: number, other: SnapshotBuffer, j: number): boolean {
    if (this.bidLevels[i] !== other.bidLevels[j] || this.askLevels[i] !== other.askLevels[j]) return false;
    const a = i * this.depth;
    const b = j * other.depth;
    for (let k = 0; k < this.bidLevels[i]; k++) {
      if (this.bidPx[a + k] !== other.bidPx[b + k] || this.bidSz[a + k] !== other.bidSz[b + k] || this.bidCt[a + k] !== other.bidCt[b + k]) return false;
    }
    for (let k = 0; k < this.askLevels[i]; k++) {
      if (this.askPx[a + k] !== other.askPx[b + k] || this.askSz[a + k] !== other.askSz[b + k] || this.askCt[a + k] !== other.askCt[b + k]) return false;
    }
    return true;
  }

  /** Copies row i of `from` into row 0 of this buffer (for keeping the last emitted row). */
  copyRow(from: SnapshotBuffer, i: number): void {
    this.length = 1;
    this.bidLevels[0] = from.bidLevels[i];
    this.askLevels[0] = from.askLevels[i];
    const s = i * from.depth;
    for (const k of ['bidPx', 'bidSz', 'bidCt', 'askPx', 'askSz', 'askCt'] as const) {
      this[k].set(from[k].subarray(s, s + from.depth), 0);
    }
  }

  /** Packed [price, size, count, ...] best first, for one side of row i. */
  packed(i: number, side: 'bid' | 'ask'): number[] {
    const n = side === 'bid' ? this.bidLevels[i] : this.askLevels[i];
    const px = side === 'bid' ? this.bidPx : this.askPx;
    const sz = side === 'bid' ? this.bidSz : this.askSz;
    const ct = side === 'bid' ? this.bidCt : this.askCt;
    const out: number[] = [];
    const base = i * this.depth;
    for (let k = 0; k < n; k++) out.push(px[base + k], sz[base + k], ct[base + k]);
    return out;
  }

  /** Row i as an object. */
  row(i: number): DepthSnapshot {
    const bids = this.packed(i, 'bid');
    const asks = this.packed(i, 'ask');
    const bestBid = bids.length > 0 ? bids[0] : NaN;
    const bestAsk = asks.length > 0 ? asks[0] : NaN;
    return {
      instrumentId: this.instrumentId[i],
      publisherId: this.publisherId[i],
      tsRecv: this.tsRecv(i),
      tsEvent: this.tsEvent(i),
      sequence: this.sequence[i],
      subSequence: this.subSequence[i],
      action: String.fromCharCode(this.action[i]),
      side: String.fromCharCode(this.side[i]),
      price: Number.isNaN(this.price[i]) ? null : this.price[i],
      size: this.size[i],
      flags: this.flags[i],
      tsInDelta: this.tsInDelta[i],
      depth: this.depth,
      bids,
      asks,
      crossed: bestBid > bestAsk,
      locked: bestBid === bestAsk,
    };
  }
}
