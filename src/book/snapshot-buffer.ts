import type { MboView } from '../dbn/mbo.js';
import type { Book } from './book.js';
import type { BookSide } from './side.js';
import { isCrossed, isLocked } from './snapshot.js';
import { KeyField, RowBuffer, type ExportedRows } from './row-buffer.js';
import type { DepthSnapshot } from './snapshot.js';
import { HeaderOffset, MboOffset } from '../dbn/layout.js';

/**
 * Where each field of a snapshot row after its key (KeyField) sits: row i's
 * field f is `rows[at(i) + f]` (a const enum, as KeyField is). The levels
 * follow them (`slot`).
 */
export const enum SnapshotField {
  /** ASCII code of the triggering record's action. */
  action = KeyField.subSequence + 1,
  /** ASCII code of its side. */
  side,
  flags,
  /** 1e-9 units; NaN when the record has no (representable) price. */
  price,
  size,
  tsInDelta,
  /** Levels present on each side (at most the depth). */
  bidLevels,
  askLevels,
}
const LEVELS_AT = SnapshotField.askLevels + 1;

/**
 * The level fields of a row, in the order of their runs (and of
 * LEVEL_COLUMNS in the stores): each run is `depth` slots, best first.
 */
export const BID_PX = 0, BID_SZ = 1, BID_CT = 2, ASK_PX = 3, ASK_SZ = 4, ASK_CT = 5;
export type LevelField = 0 | 1 | 2 | 3 | 4 | 5;
const LEVEL_FIELDS = 6;

/**
 * Writes the top `depth` levels of `side` into `out` as three runs of
 * `depth` slots from `base` (prices, sizes, counts; best first) and returns
 * how many levels there were. Two levels a turn: V8 re-checks each typed
 * array and reloads its length at every turn of a loop, so a turn that copies
 * two levels pays that once for six values instead of three (a whole
 * snapshot at depth 10 took 104 ns that way, against 88).
 */
function copyTopLevels(out: Float64Array, base: number, depth: number, side: BookSide): number {
  const { prices, sizes, counts } = side;
  const top = side.levels.length - 1; // sides keep their best level last
  const n = Math.min(depth, top + 1);
  const sz = base + depth;
  const ct = sz + depth;
  let k = 0;
  for (; k + 1 < n; k += 2) {
    const j = top - k;
    out[base + k] = prices[j];
    out[base + k + 1] = prices[j - 1];
    out[sz + k] = sizes[j];
    out[sz + k + 1] = sizes[j - 1];
    out[ct + k] = counts[j]; // 0 on a TOB level (it holds no orders)
    out[ct + k + 1] = counts[j - 1];
  }
  if (k < n) {
    out[base + k] = prices[top - k];
    out[sz + k] = sizes[top - k];
    out[ct + k] = counts[top - k];
  }
  return n;
}

/**
 * Depth snapshots, reused batch after batch: the engine writes rows with no
 * allocation, and writers (stores, MBP output) read fields by row or
 * materialise a row as a DepthSnapshot only where they need an object.
 *
 * Row i is `stride` doubles from `at(i)` in `rows` (see RowBuffer): the key,
 * the triggering record's fields (SnapshotField), then six runs of `depth`
 * level slots (bid prices, sizes, counts, then ask prices, sizes, counts),
 * best first, from `slot(i, field)`; `bidLevels(i)` and `askLevels(i)` say
 * how many slots of each run are present.
 */
export class SnapshotBuffer extends RowBuffer {
  /** Allocates empty rows, or adopts exported ones (from `exportRows`, e.g. sent by the engine thread). */
  constructor(readonly depth: number, capacity = 4096, exported?: ExportedRows) {
    super(capacity, LEVELS_AT + LEVEL_FIELDS * depth, exported);
  }

  static adopt(e: ExportedRows): SnapshotBuffer {
    return new SnapshotBuffer(e.depth, e.length, e);
  }

  /** A compact copy of the filled rows, whose buffer can be transferred to another thread. */
  exportRows(): ExportedRows {
    return this.exportAs(this.depth);
  }

  action(i: number): number { return this.rows[i * this.stride + SnapshotField.action]; }
  side(i: number): number { return this.rows[i * this.stride + SnapshotField.side]; }
  flags(i: number): number { return this.rows[i * this.stride + SnapshotField.flags]; }
  price(i: number): number { return this.rows[i * this.stride + SnapshotField.price]; }
  size(i: number): number { return this.rows[i * this.stride + SnapshotField.size]; }
  tsInDelta(i: number): number { return this.rows[i * this.stride + SnapshotField.tsInDelta]; }
  bidLevels(i: number): number { return this.rows[i * this.stride + SnapshotField.bidLevels]; }
  askLevels(i: number): number { return this.rows[i * this.stride + SnapshotField.askLevels]; }

  /** Where `field`'s run of row i starts in `rows` (its best level). */
  slot(i: number, field: LevelField): number {
    return i * this.stride + LEVELS_AT + field * this.depth;
  }

  /** Levels present in row i on the side of `field`. */
  levelCount(i: number, field: LevelField): number {
    return field < ASK_PX ? this.bidLevels(i) : this.askLevels(i);
  }

  /**
   * Appends the book's top `depth` levels, taken after record `r`. Returns the row.
   *
   * The key is written out here, not through captureRowKey as trades do: the
   * smaller body that the call makes is one V8 then inlines into
   * Market.apply, which leaves no inlining budget for copyTopLevels, and
   * the engine ran measurably slower that way (docs/benchmarks.md).
   */
  capture(book: Book, r: MboView): number {
    const i = this.length++;
    const rows = this.rows;
    const b = i * this.stride;
    const v = r.view;
    const o = r.offset;
    const recvLo = v.getUint32(o + MboOffset.tsRecv, true);
    const recvHi = v.getUint32(o + MboOffset.tsRecvHi, true);
    const sequence = v.getUint32(o + MboOffset.sequence, true);
    rows[b + KeyField.instrumentId] = v.getUint32(o + HeaderOffset.instrumentId, true);
    rows[b + KeyField.publisherId] = v.getUint16(o + HeaderOffset.publisherId, true);
    rows[b + KeyField.tsRecvHi] = recvHi;
    rows[b + KeyField.tsRecvLo] = recvLo;
    rows[b + KeyField.tsEventHi] = v.getUint32(o + HeaderOffset.tsEventHi, true);
    rows[b + KeyField.tsEventLo] = v.getUint32(o + HeaderOffset.tsEvent, true);
    rows[b + KeyField.sequence] = sequence;
    rows[b + KeyField.subSequence] = book.snapshotOrdinal.next(recvHi, recvLo | 0, sequence);
    rows[b + SnapshotField.action] = v.getUint8(o + MboOffset.action);
    rows[b + SnapshotField.side] = v.getUint8(o + MboOffset.side);
    rows[b + SnapshotField.flags] = v.getUint8(o + MboOffset.flags);
    rows[b + SnapshotField.price] = r.priceNanos;
    rows[b + SnapshotField.size] = v.getUint32(o + MboOffset.size, true);
    rows[b + SnapshotField.tsInDelta] = v.getInt32(o + MboOffset.tsInDelta, true);
    const depth = this.depth;
    rows[b + SnapshotField.bidLevels] = copyTopLevels(rows, b + LEVELS_AT, depth, book.bids);
    rows[b + SnapshotField.askLevels] = copyTopLevels(rows, b + LEVELS_AT + 3 * depth, depth, book.asks);
    return i;
  }

  /** Drops the last row (a sampled snapshot that changed nothing). */
  dropLast(): void {
    this.length--;
  }

  /** True when row i and row j of `other` (of the same depth) show the same levels (prices, sizes, counts). */
  sameLevels(i: number, other: SnapshotBuffer, j: number): boolean {
    if (this.bidLevels(i) !== other.bidLevels(j) || this.askLevels(i) !== other.askLevels(j)) return false;
    for (let field = BID_PX; field <= ASK_CT; field++) {
      const a = this.slot(i, field as LevelField);
      const b = other.slot(j, field as LevelField);
      for (let k = 0, n = this.levelCount(i, field as LevelField); k < n; k++) {
        if (this.rows[a + k] !== other.rows[b + k]) return false;
      }
    }
    return true;
  }

  /** Copies row i of `from` (of the same depth) into row 0 of this buffer (for keeping the last emitted row). */
  copyRow(from: SnapshotBuffer, i: number): void {
    this.length = 1;
    const s = from.at(i);
    this.rows.set(from.rows.subarray(s, s + from.stride), 0);
  }

  /** Packed [price, size, count, ...] best first, for one side of row i. */
  packed(i: number, side: 'bid' | 'ask'): number[] {
    const field = side === 'bid' ? BID_PX : ASK_PX;
    const px = this.slot(i, field);
    const n = this.levelCount(i, field);
    const d = this.depth;
    const rows = this.rows;
    // Sized up front: pushing grew the array as it went, a quarter of the
    // time a snapshot object took to make.
    const out = new Array<number>(3 * n);
    for (let k = 0; k < n; k++) {
      out[3 * k] = rows[px + k];
      out[3 * k + 1] = rows[px + d + k];
      out[3 * k + 2] = rows[px + 2 * d + k];
    }
    return out;
  }

  /** Row i as an object. */
  row(i: number): DepthSnapshot {
    const bids = this.packed(i, 'bid');
    const asks = this.packed(i, 'ask');
    const bestBid = bids.length > 0 ? bids[0] : NaN;
    const bestAsk = asks.length > 0 ? asks[0] : NaN;
    const price = this.price(i);
    return {
      instrumentId: this.instrumentId(i),
      publisherId: this.publisherId(i),
      tsRecv: this.tsRecv(i),
      tsEvent: this.tsEvent(i),
      sequence: this.sequence(i),
      subSequence: this.subSequence(i),
      action: String.fromCharCode(this.action(i)),
      side: String.fromCharCode(this.side(i)),
      price: Number.isNaN(price) ? null : price,
      size: this.size(i),
      flags: this.flags(i),
      tsInDelta: this.tsInDelta(i),
      depth: this.depth,
      bids,
      asks,
      crossed: isCrossed(bestBid, bestAsk),
      locked: isLocked(bestBid, bestAsk),
    };
  }
}
