import type { MboView } from '../dbn/mbo.js';
import type { Book } from './book.js';
import { ASK, BID } from './level.js';
import { KeyField, RowBuffer, type ExportedRows } from './row-buffer.js';
import { HeaderOffset, MboOffset } from '../dbn/layout.js';

/**
 * Where each field of a checkpoint row after its key (KeyField) sits (a const
 * enum, as KeyField is). A checkpoint is a book's whole order set after one
 * of its records: rows that share that record's key, numbered by `rank`.
 */
export const enum CheckpointField {
  /** 0: the book row; 1, 2, ...: its levels' rows, bids then asks, best first, each level's orders front first. */
  rank = KeyField.subSequence + 1,
  /** CheckpointKind. */
  kind,
  /** B or A as an ASCII code; N on the book row. */
  side,
  /** 1e-9 units; NaN on the book row. */
  price,
  /** An order's size, a top-of-book level's; on the book row, how many rows follow it. */
  size,
  /** The order id's u32 halves (0 on other rows). */
  orderIdHi,
  orderIdLo,
  /** ts_recv at which the order took its place in its queue, as u32 halves (0 on other rows). */
  queuedHi,
  queuedLo,
}
const CHECKPOINT_FIELDS = CheckpointField.queuedLo + 1;

/** What a checkpoint row is. */
export const enum CheckpointKind {
  /** The header: the book's key, and how many rows follow. */
  book = 0,
  /** A resting order. */
  order = 1,
  /** A top-of-book (F_TOB) level: a size and no orders. */
  tob = 2,
}

export const CHECKPOINT_KINDS = ['book', 'order', 'tob'] as const;

const B = 66, A = 65, N = 78;

/**
 * L3 checkpoints, as the store keeps them (order_checkpoints): every order of
 * a book, in queue order, after one of its records, keyed by that record's
 * key, so a lookup rebuilds the book from the checkpoint and the events after
 * it. A buffer holds whole checkpoints: it grows to take one larger than its
 * capacity, and counts as full once it reaches it.
 */
export class CheckpointBuffer extends RowBuffer {
  constructor(capacity = 4096, exported?: ExportedRows) {
    super(capacity, CHECKPOINT_FIELDS, exported);
  }

  static adopt(e: ExportedRows): CheckpointBuffer {
    return new CheckpointBuffer(e.length, e);
  }

  exportRows(): ExportedRows {
    return this.exportAs(0);
  }

  override get full(): boolean {
    return this.length >= this.capacity;
  }

  rank(i: number): number { return this.rows[i * this.stride + CheckpointField.rank]; }
  kind(i: number): CheckpointKind { return this.rows[i * this.stride + CheckpointField.kind]; }
  side(i: number): number { return this.rows[i * this.stride + CheckpointField.side]; }
  price(i: number): number { return this.rows[i * this.stride + CheckpointField.price]; }
  size(i: number): number { return this.rows[i * this.stride + CheckpointField.size]; }
  orderIdHi(i: number): number { return this.rows[i * this.stride + CheckpointField.orderIdHi]; }
  orderIdLo(i: number): number { return this.rows[i * this.stride + CheckpointField.orderIdLo]; }
  queuedHi(i: number): number { return this.rows[i * this.stride + CheckpointField.queuedHi]; }
  queuedLo(i: number): number { return this.rows[i * this.stride + CheckpointField.queuedLo]; }

  /** Appends a checkpoint of `book` after its record `r`, whose sub-sequence among the book's events is `subSequence`. */
  capture(book: Book, r: MboView, subSequence: number): void {
    let n = 0;
    for (const side of book.sides) for (const level of side.levels) n += level.tob ? 1 : level.count;
    this.reserve(1 + n);
    const v = r.view;
    const o = r.offset;
    const key = [
      v.getUint32(o + HeaderOffset.instrumentId, true), v.getUint16(o + HeaderOffset.publisherId, true),
      v.getUint32(o + MboOffset.tsRecvHi, true), v.getUint32(o + MboOffset.tsRecv, true),
      v.getUint32(o + HeaderOffset.tsEventHi, true), v.getUint32(o + HeaderOffset.tsEvent, true),
      v.getUint32(o + MboOffset.sequence, true), subSequence,
    ];
    let rank = 0;
    const row = (kind: CheckpointKind, side: number, price: number, size: number, idHi: number, idLo: number, qHi: number, qLo: number) => {
      const b = this.length++ * this.stride;
      const rows = this.rows;
      for (let k = 0; k < key.length; k++) rows[b + k] = key[k];
      rows[b + CheckpointField.rank] = rank++;
      rows[b + CheckpointField.kind] = kind;
      rows[b + CheckpointField.side] = side;
      rows[b + CheckpointField.price] = price;
      rows[b + CheckpointField.size] = size;
      rows[b + CheckpointField.orderIdHi] = idHi;
      rows[b + CheckpointField.orderIdLo] = idLo;
      rows[b + CheckpointField.queuedHi] = qHi;
      rows[b + CheckpointField.queuedLo] = qLo;
    };
    row(CheckpointKind.book, N, NaN, n, 0, 0, 0, 0);
    for (const s of [BID, ASK] as const) {
      const side = book.sides[s];
      const code = s === BID ? B : A;
      for (let i = 0; i < side.depth; i++) {
        const level = side.nth(i)!;
        if (level.tob) { row(CheckpointKind.tob, code, level.price, level.size, 0, 0, 0, 0); continue; }
        for (let q = level.head; q !== null; q = q.next) {
          row(CheckpointKind.order, code, level.price, q.size, q.keyHi >>> 0, q.keyLo >>> 0, q.queuedHi >>> 0, q.queuedLo >>> 0);
        }
      }
    }
  }

  /** Room for `rows` more: a larger array when they do not fit. */
  private reserve(rows: number): void {
    const need = (this.length + rows) * this.stride;
    if (need <= this.rows.length) return;
    const grown = new Float64Array(Math.max(need, this.rows.length * 2));
    grown.set(this.rows.subarray(0, this.length * this.stride));
    this.rows = grown;
  }
}
