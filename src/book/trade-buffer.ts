import type { MboView } from '../dbn/mbo.js';
import type { Book } from './book.js';
import { captureRowKey, exportColumns, type ExportedColumns, type RowKeyColumns } from './snapshot-buffer.js';

const TRADE_COLUMNS = [
  'instrumentId', 'publisherId', 'tsRecvHi', 'tsRecvLo', 'tsEventHi', 'tsEventLo', 'sequence', 'subSequence', 'side', 'price', 'size',
] as const;

/** Trades (T records) in columns, reused batch after batch like SnapshotBuffer. */
export class TradeBuffer implements RowKeyColumns {
  length = 0;
  readonly instrumentId: Uint32Array;
  readonly publisherId: Uint16Array;
  readonly tsRecvHi: Uint32Array;
  readonly tsRecvLo: Uint32Array;
  readonly tsEventHi: Uint32Array;
  readonly tsEventLo: Uint32Array;
  readonly sequence: Uint32Array;
  /** 0 unless an earlier trade of the same book has the same ts_recv and sequence. */
  readonly subSequence: Uint16Array;
  /** Aggressor side (B, A or N) as an ASCII code. */
  readonly side: Uint8Array;
  /** 1e-9 units; NaN when undefined. */
  readonly price: Float64Array;
  readonly size: Uint32Array;

  /** Allocates empty columns, or adopts exported ones. */
  constructor(readonly capacity = 4096, columns?: ExportedColumns) {
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
    this.side = (c?.side as Uint8Array) ?? new Uint8Array(n);
    this.price = (c?.price as Float64Array) ?? new Float64Array(n);
    this.size = (c?.size as Uint32Array) ?? new Uint32Array(n);
    if (columns) this.length = columns.length;
  }

  static adopt(e: ExportedColumns): TradeBuffer {
    return new TradeBuffer(e.length, e);
  }

  exportColumns(): ExportedColumns {
    return exportColumns(this, this.length, 0, TRADE_COLUMNS, []);
  }

  get full(): boolean {
    return this.length === this.capacity;
  }

  clear(): void {
    this.length = 0;
  }

  capture(r: MboView, book: Book): void {
    const i = this.length++;
    captureRowKey(this, i, r, book.tradeOrdinal);
    this.side[i] = r.side;
    this.price[i] = r.priceNanos;
    this.size[i] = r.size;
  }
}
