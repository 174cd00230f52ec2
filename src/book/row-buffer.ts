import { TWO_32, u64Of } from '../u64.js';
import type { MboView } from '../dbn/mbo.js';
import type { KeyOrdinal } from './book.js';
import { HeaderOffset, MboOffset } from '../dbn/layout.js';


/**
 * Where the key fields sit in every stored row (snapshots and trades alike):
 * row i's field f is `rows[at(i) + f]`. A const enum, so that each use
 * compiles to its number: the engine writes rows through these, and an
 * offset read from an object at run time costs it a load per value.
 */
export const enum KeyField {
  instrumentId = 0,
  publisherId = 1,
  tsRecvHi = 2,
  tsRecvLo = 3,
  tsEventHi = 4,
  tsEventLo = 5,
  sequence = 6,
  /** 0 unless an earlier row of the same book has the same ts_recv and sequence. */
  subSequence = 7,
}

/** Rows in a form that crosses threads: the filled part of a buffer's array. */
export interface ExportedRows {
  depth: number;
  length: number;
  rows: Float64Array;
}

/** The buffer to pass as postMessage's transfer list. */
export function transferList(e: ExportedRows): ArrayBuffer[] {
  return [e.rows.buffer as ArrayBuffer];
}

/**
 * What snapshot and trade buffers share: rows reused batch after batch,
 * stored row-major in one Float64Array (`stride` values a row, the key
 * first), a fill level, and construction either empty or adopting exported
 * rows (from the engine thread).
 *
 * Row-major in one array, because the engine writes a whole row at a time:
 * V8 re-checks a typed array and reloads its length at every store to it
 * when it is read from a field, so a snapshot's 16 values into 16 column
 * arrays cost about twice what they cost into one array. Every u32, i32 and
 * price in 1e-9 units (|x| <= 2^53) is exact in a double.
 */
export abstract class RowBuffer {
  length = 0;
  /** Replaced only by a buffer that grows (CheckpointBuffer): the others keep theirs for good. */
  rows: Float64Array;

  constructor(readonly capacity: number, readonly stride: number, exported?: ExportedRows) {
    this.rows = exported?.rows ?? new Float64Array(capacity * stride);
    if (exported) this.length = exported.length;
  }

  /** Where row i starts in `rows`. */
  at(i: number): number {
    return i * this.stride;
  }

  get full(): boolean {
    return this.length === this.capacity;
  }

  clear(): void {
    this.length = 0;
  }

  instrumentId(i: number): number { return this.rows[i * this.stride + KeyField.instrumentId]; }
  publisherId(i: number): number { return this.rows[i * this.stride + KeyField.publisherId]; }
  tsRecvHi(i: number): number { return this.rows[i * this.stride + KeyField.tsRecvHi]; }
  tsRecvLo(i: number): number { return this.rows[i * this.stride + KeyField.tsRecvLo]; }
  tsEventHi(i: number): number { return this.rows[i * this.stride + KeyField.tsEventHi]; }
  tsEventLo(i: number): number { return this.rows[i * this.stride + KeyField.tsEventLo]; }
  sequence(i: number): number { return this.rows[i * this.stride + KeyField.sequence]; }
  subSequence(i: number): number { return this.rows[i * this.stride + KeyField.subSequence]; }

  tsRecv(i: number): bigint {
    return u64Of(this.tsRecvHi(i), this.tsRecvLo(i));
  }

  tsEvent(i: number): bigint {
    return u64Of(this.tsEventHi(i), this.tsEventLo(i));
  }

  /** ts_recv as a double (exact to ~256 ns). */
  tsRecvApprox(i: number): number {
    return this.tsRecvHi(i) * TWO_32 + this.tsRecvLo(i);
  }

  /** A compact copy of the filled rows, whose buffer can be transferred to another thread. */
  protected exportAs(depth: number): ExportedRows {
    return { depth, length: this.length, rows: this.rows.slice(0, this.length * this.stride) };
  }
}

/** Writes the key of the row at `b` in `rows` from record `r`, numbering repeats of (ts_recv, sequence) with `ordinal`. */
export function captureRowKey(rows: Float64Array, b: number, r: MboView, ordinal: KeyOrdinal): void {
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
  rows[b + KeyField.subSequence] = ordinal.next(recvHi, recvLo | 0, sequence);
}
