import type { MboView } from '../dbn/mbo.js';
import type { Book } from './book.js';
import type { BookSide } from './side.js';
import { RowKeyBuffer, captureRowKey, exportColumns, type ExportedColumns } from './row-columns.js';
import type { DepthSnapshot } from './snapshot.js';

const SNAPSHOT_ROW_COLUMNS = [
  'instrumentId', 'publisherId', 'tsRecvHi', 'tsRecvLo', 'tsEventHi', 'tsEventLo', 'sequence', 'subSequence', 'action', 'side', 'flags',
  'price', 'size', 'tsInDelta', 'bidLevels', 'askLevels',
] as const;

/**
 * The level fields of a row, in the order of their runs in `levels` (and of
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
 * two levels pays that once for six values instead of three (about 20% less
 * for the whole snapshot at depth 10).
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
 * Depth snapshots in columns, reused batch after batch: the engine writes
 * rows with no allocation, and writers (stores, MBP output) read columns or
 * materialise a row as a DepthSnapshot only where they need an object.
 *
 * All level values live in one array, `levels`: row i holds six runs of
 * `depth` slots (bid prices, sizes, counts, then ask prices, sizes, counts),
 * best first, from `slot(i, field)`; `bidLevels[i]` and `askLevels[i]` say
 * how many slots of each run are present. One array rather than six: V8
 * re-checks a typed array at every store to it when the array comes from a
 * field, and with one array capture (60 stores per MBP-10 row) made the
 * engine bench ~13% faster.
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
  /** Prices in 1e-9 units, sizes and counts; see the class comment for the layout. */
  readonly levels: Float64Array;
  /** Slots per row in `levels`: six runs of `depth`. */
  readonly rowSlots: number;

  /** Allocates empty columns, or adopts `columns` (from `exportColumns`, e.g. sent by the engine thread). */
  constructor(readonly depth: number, capacity = 4096, columns?: ExportedColumns) {
    super(capacity, columns);
    const n = capacity;
    const c = columns?.columns;
    this.rowSlots = LEVEL_FIELDS * depth;
    this.action = (c?.action as Uint8Array) ?? new Uint8Array(n);
    this.side = (c?.side as Uint8Array) ?? new Uint8Array(n);
    this.flags = (c?.flags as Uint8Array) ?? new Uint8Array(n);
    this.price = (c?.price as Float64Array) ?? new Float64Array(n);
    this.size = (c?.size as Uint32Array) ?? new Uint32Array(n);
    this.tsInDelta = (c?.tsInDelta as Int32Array) ?? new Int32Array(n);
    this.bidLevels = (c?.bidLevels as Uint16Array) ?? new Uint16Array(n);
    this.askLevels = (c?.askLevels as Uint16Array) ?? new Uint16Array(n);
    this.levels = (c?.levels as Float64Array) ?? new Float64Array(n * this.rowSlots);
  }

  static adopt(e: ExportedColumns): SnapshotBuffer {
    return new SnapshotBuffer(e.depth, e.length, e);
  }

  /** A compact copy of the filled rows, whose buffers can be transferred to another thread. */
  exportColumns(): ExportedColumns {
    return exportColumns(this, this.length, this.depth, SNAPSHOT_ROW_COLUMNS, ['levels'], this.rowSlots);
  }

  /** Where `field`'s run of row i starts in `levels` (its best level). */
  slot(i: number, field: LevelField): number {
    return i * this.rowSlots + field * this.depth;
  }

  /** Levels present per row on the side of `field`: `bidLevels` or `askLevels`. */
  counts(field: LevelField): Uint16Array {
    return field < ASK_PX ? this.bidLevels : this.askLevels;
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
    const base = i * this.rowSlots;
    this.bidLevels[i] = copyTopLevels(this.levels, base, this.depth, book.bids);
    this.askLevels[i] = copyTopLevels(this.levels, base + 3 * this.depth, this.depth, book.asks);
    return i;
  }

  /** Drops the last row (a sampled snapshot that changed nothing). */
  dropLast(): void {
    this.length--;
  }

  /** True when row i and row j of `other` (of the same depth) show the same levels (prices, sizes, counts). */
  sameLevels(i: number, other: SnapshotBuffer, j: number): boolean {
    if (this.bidLevels[i] !== other.bidLevels[j] || this.askLevels[i] !== other.askLevels[j]) return false;
    for (let field = BID_PX; field <= ASK_CT; field++) {
      const a = this.slot(i, field as LevelField);
      const b = other.slot(j, field as LevelField);
      for (let k = 0, n = this.counts(field as LevelField)[i]; k < n; k++) {
        if (this.levels[a + k] !== other.levels[b + k]) return false;
      }
    }
    return true;
  }

  /** Copies row i of `from` (of the same depth) into row 0 of this buffer (for keeping the last emitted row). */
  copyRow(from: SnapshotBuffer, i: number): void {
    this.length = 1;
    this.bidLevels[0] = from.bidLevels[i];
    this.askLevels[0] = from.askLevels[i];
    const s = from.slot(i, BID_PX);
    this.levels.set(from.levels.subarray(s, s + from.rowSlots), 0);
  }

  /** Packed [price, size, count, ...] best first, for one side of row i. */
  packed(i: number, side: 'bid' | 'ask'): number[] {
    const field = side === 'bid' ? BID_PX : ASK_PX;
    const px = this.slot(i, field);
    const n = this.counts(field)[i];
    const d = this.depth;
    const out: number[] = [];
    for (let k = 0; k < n; k++) out.push(this.levels[px + k], this.levels[px + d + k], this.levels[px + 2 * d + k]);
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
