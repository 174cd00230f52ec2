import type { MboView } from '../dbn/mbo.js';
import type { Book } from './book.js';
import { RowKeyBuffer, captureRowKey, exportColumns, type ExportedColumns } from './row-columns.js';

const TRADE_COLUMNS = [
  'instrumentId', 'publisherId', 'tsRecvHi', 'tsRecvLo', 'tsEventHi', 'tsEventLo', 'sequence', 'subSequence', 'side', 'price', 'size',
] as const;

/** Trades (T records) in columns, reused batch after batch like SnapshotBuffer. */
export class TradeBuffer extends RowKeyBuffer {
  /** Aggressor side (B, A or N) as an ASCII code. */
  readonly side: Uint8Array;
  /** 1e-9 units; NaN when undefined. */
  readonly price: Float64Array;
  readonly size: Uint32Array;

  /** Allocates empty columns, or adopts exported ones. */
  constructor(capacity = 4096, columns?: ExportedColumns) {
    super(capacity, columns);
    const n = capacity;
    const c = columns?.columns;
    this.side = (c?.side as Uint8Array) ?? new Uint8Array(n);
    this.price = (c?.price as Float64Array) ?? new Float64Array(n);
    this.size = (c?.size as Uint32Array) ?? new Uint32Array(n);
  }

  static adopt(e: ExportedColumns): TradeBuffer {
    return new TradeBuffer(e.length, e);
  }

  exportColumns(): ExportedColumns {
    return exportColumns(this, this.length, 0, TRADE_COLUMNS, [], 0);
  }

  capture(r: MboView, book: Book): void {
    const i = this.length++;
    captureRowKey(this, i, r, book.tradeOrdinal);
    this.side[i] = r.side;
    this.price[i] = r.priceNanos;
    this.size[i] = r.size;
  }
}
