import type { MboView } from '../dbn/mbo.js';
import type { Book, KeyOrdinal } from './book.js';
import type { DepthSnapshot } from './snapshot.js';

const TWO_32 = 4294967296;

type Column = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** Columns in a form that crosses threads: typed arrays trimmed to `length` rows. */
export interface ExportedColumns {
  depth: number;
  length: number;
  columns: Record<string, Column>;
}

const SNAPSHOT_ROW_COLUMNS = [
  'instrumentId', 'publisherId', 'tsRecvHi', 'tsRecvLo', 'tsEventHi', 'tsEventLo', 'sequence', 'subSequence', 'action', 'side', 'flags',
  'price', 'size', 'tsInDelta', 'bidLevels', 'askLevels',
] as const;
const SNAPSHOT_LEVEL_COLUMNS = ['bidPx', 'bidSz', 'bidCt', 'askPx', 'askSz', 'askCt'] as const;

export function exportColumns(
  source: object,
  length: number,
  depth: number,
  rowColumns: readonly string[],
  levelColumns: readonly string[],
): ExportedColumns {
  const columns: Record<string, Column> = {};
  const src = source as Record<string, Column>;
  for (const k of rowColumns) columns[k] = src[k].slice(0, length);
  for (const k of levelColumns) columns[k] = src[k].slice(0, length * depth);
  return { depth, length, columns };
}

/** The columns that key a stored row, shared by snapshot and trade buffers. */
export interface RowKeyColumns {
  instrumentId: Uint32Array;
  publisherId: Uint16Array;
  tsRecvHi: Uint32Array;
  tsRecvLo: Uint32Array;
  tsEventHi: Uint32Array;
  tsEventLo: Uint32Array;
  sequence: Uint32Array;
  subSequence: Uint16Array;
}

/** Writes row i's key from record `r`, numbering repeats of (ts_recv, sequence) with `ordinal`. */
export function captureRowKey(cols: RowKeyColumns, i: number, r: MboView, ordinal: KeyOrdinal): void {
  const v = r.view;
  const o = r.offset;
  const recvLo = v.getUint32(o + 40, true);
  const recvHi = v.getUint32(o + 44, true);
  const sequence = r.sequence;
  cols.instrumentId[i] = r.instrumentId;
  cols.publisherId[i] = r.publisherId;
  cols.tsEventLo[i] = v.getUint32(o + 8, true);
  cols.tsEventHi[i] = v.getUint32(o + 12, true);
  cols.tsRecvLo[i] = recvLo;
  cols.tsRecvHi[i] = recvHi;
  cols.sequence[i] = sequence;
  cols.subSequence[i] = ordinal.next(recvHi, recvLo, sequence);
}

/** The buffers to pass as postMessage's transfer list. */
export function transferList(e: ExportedColumns): ArrayBuffer[] {
  return Object.values(e.columns).map((c) => c.buffer as ArrayBuffer);
}

/**
 * Depth snapshots in columns, reused batch after batch: the engine writes
 * rows with no allocation, and writers (stores, MBP output) read columns or
 * materialise a row as a DepthSnapshot only where they need an object.
 * Level columns hold `depth` slots per row, best first; `bidLevels[i]` says
 * how many are present.
 */
export class SnapshotBuffer implements RowKeyColumns {
  length = 0;
  readonly instrumentId: Uint32Array;
  readonly publisherId: Uint16Array;
  readonly tsRecvHi: Uint32Array;
  readonly tsRecvLo: Uint32Array;
  readonly tsEventHi: Uint32Array;
  readonly tsEventLo: Uint32Array;
  readonly sequence: Uint32Array;
  /** 0 unless an earlier snapshot of the same book has the same ts_recv and sequence. */
  readonly subSequence: Uint16Array;
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
  constructor(readonly depth: number, readonly capacity = 4096, columns?: ExportedColumns) {
    const n = capacity;
    const c = columns?.columns;
    this.instrumentId = (c?.instrumentId as Uint32Array) ?? new Uint32Array(n);
    this.publisherId = (c?.publisherId as Uint16Array) ?? new Uint16Array(n);
    this.tsRecvHi = (c?.tsRecvHi as Uint32Array) ?? new Uint32Array(n);
    this.tsRecvLo = (c?.tsRecvLo as Uint32Array) ?? new Uint32Array(n);
    this.tsEventHi = (c?.tsEventHi as Uint32Array) ?? new Uint32Array(n);
    this.tsEventLo = (c?.tsEventLo as Uint32Array) ?? new Uint32Array(n);
    this.sequence = (c?.sequence as Uint32Array) ?? new Uint32Array(n);
    this.subSequence = (c?.subSequence as Uint16Array) ?? new Uint16Array(n);
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
    if (columns) this.length = columns.length;
  }

  static adopt(e: ExportedColumns): SnapshotBuffer {
    return new SnapshotBuffer(e.depth, e.length, e);
  }

  /** A compact copy of the filled rows, whose buffers can be transferred to another thread. */
  exportColumns(): ExportedColumns {
    return exportColumns(this, this.length, this.depth, SNAPSHOT_ROW_COLUMNS, SNAPSHOT_LEVEL_COLUMNS);
  }

  get full(): boolean {
    return this.length === this.capacity;
  }

  clear(): void {
    this.length = 0;
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

  tsRecv(i: number): bigint {
    return (BigInt(this.tsRecvHi[i]) << 32n) | BigInt(this.tsRecvLo[i]);
  }

  tsEvent(i: number): bigint {
    return (BigInt(this.tsEventHi[i]) << 32n) | BigInt(this.tsEventLo[i]);
  }

  /** ts_recv as a double (exact to ~256 ns). */
  tsRecvApprox(i: number): number {
    return this.tsRecvHi[i] * TWO_32 + this.tsRecvLo[i];
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
