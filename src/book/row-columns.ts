import type { MboView } from '../dbn/mbo.js';
import type { KeyOrdinal } from './book.js';

const TWO_32 = 4294967296;

type Column = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** Columns in a form that crosses threads: typed arrays trimmed to `length` rows. */
export interface ExportedColumns {
  depth: number;
  length: number;
  columns: Record<string, Column>;
}

/** Copies the first `length` rows: one slot per row of `rowColumns`, `slotsPerRow` of `levelColumns`. */
export function exportColumns(
  source: object,
  length: number,
  depth: number,
  rowColumns: readonly string[],
  levelColumns: readonly string[],
  slotsPerRow: number,
): ExportedColumns {
  const columns: Record<string, Column> = {};
  const src = source as Record<string, Column>;
  for (const k of rowColumns) columns[k] = src[k].slice(0, length);
  for (const k of levelColumns) columns[k] = src[k].slice(0, length * slotsPerRow);
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
 * What snapshot and trade buffers share: the row-key columns, a fill level,
 * and construction either empty or adopting exported columns (from the
 * engine thread).
 */
export abstract class RowKeyBuffer implements RowKeyColumns {
  length = 0;
  readonly instrumentId: Uint32Array;
  readonly publisherId: Uint16Array;
  readonly tsRecvHi: Uint32Array;
  readonly tsRecvLo: Uint32Array;
  readonly tsEventHi: Uint32Array;
  readonly tsEventLo: Uint32Array;
  readonly sequence: Uint32Array;
  /** 0 unless an earlier row of the same book has the same ts_recv and sequence. */
  readonly subSequence: Uint16Array;

  constructor(readonly capacity: number, columns?: ExportedColumns) {
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
    if (columns) this.length = columns.length;
  }

  get full(): boolean {
    return this.length === this.capacity;
  }

  clear(): void {
    this.length = 0;
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
}
