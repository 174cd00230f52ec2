import type { MboView } from '../dbn/mbo.js';
import type { Book } from './book.js';
import { KeyField, RowBuffer, captureRowKey, type ExportedRows } from './row-buffer.js';

/** Where each field of a trade row after its key (KeyField) sits: row i's field f is `rows[at(i) + f]` (a const enum, as KeyField is). */
export const enum TradeField {
  /** Aggressor side (B, A or N) as an ASCII code. */
  side = KeyField.subSequence + 1,
  /** 1e-9 units; NaN when undefined. */
  price,
  size,
}
const TRADE_FIELDS = TradeField.size + 1;

/** Trades (T records), reused batch after batch like SnapshotBuffer. */
export class TradeBuffer extends RowBuffer {
  /** Allocates empty rows, or adopts exported ones. */
  constructor(capacity = 4096, exported?: ExportedRows) {
    super(capacity, TRADE_FIELDS, exported);
  }

  static adopt(e: ExportedRows): TradeBuffer {
    return new TradeBuffer(e.length, e);
  }

  exportRows(): ExportedRows {
    return this.exportAs(0);
  }

  side(i: number): number { return this.rows[i * this.stride + TradeField.side]; }
  price(i: number): number { return this.rows[i * this.stride + TradeField.price]; }
  size(i: number): number { return this.rows[i * this.stride + TradeField.size]; }

  capture(r: MboView, book: Book): void {
    const rows = this.rows;
    const b = this.length++ * this.stride;
    captureRowKey(rows, b, r, book.tradeOrdinal);
    rows[b + TradeField.side] = r.side;
    rows[b + TradeField.price] = r.priceNanos;
    rows[b + TradeField.size] = r.size;
  }
}
