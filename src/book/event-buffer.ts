import { u64Of } from '../u64.js';
import { MBO_RECORD_LENGTH, RType } from '../dbn/constants.js';
import { HeaderOffset, MboOffset } from '../dbn/layout.js';
import { MboView } from '../dbn/mbo.js';
import type { Book } from './book.js';

/** One stored MBO record's fields, as a store reads them back (action and side as ASCII codes; price UNDEF_PRICE when none). */
export interface MboEventFields {
  tsRecv: bigint;
  tsEvent: bigint;
  publisherId: number;
  instrumentId: number;
  action: number;
  side: number;
  price: bigint;
  size: number;
  channelId: number;
  orderId: bigint;
  flags: number;
  tsInDelta: number;
  sequence: number;
  subSequence: number;
}

/** MBO events in a form that crosses threads: the records' bytes and their sub-sequences. */
export interface ExportedEvents {
  length: number;
  records: Uint8Array;
  subSequence: Uint32Array;
}

/**
 * The MBO records themselves, as the store keeps them (mbo_events): each
 * record's 56 bytes as the file has them, so every field stays exact (u64
 * order ids, i64 prices, UNDEF_PRICE) and capturing one is a copy of 14
 * words, plus the record's sub-sequence: records of one book that share
 * (ts_recv, sequence), a packet's, are numbered 0, 1, ... in file order
 * (KeyOrdinal), so that (ts_recv, instrument_id, publisher_id, sequence,
 * sub_sequence) keys each record, as it keys snapshot rows.
 */
export class MboEventBuffer {
  length = 0;
  readonly records: Uint8Array;
  readonly subSequence: Uint32Array;
  private readonly out: DataView;
  private readonly cursor = new MboView();

  constructor(readonly capacity: number, exported?: ExportedEvents) {
    this.records = exported?.records ?? new Uint8Array(capacity * MBO_RECORD_LENGTH);
    this.subSequence = exported?.subSequence ?? new Uint32Array(capacity);
    this.out = new DataView(this.records.buffer, this.records.byteOffset, this.records.byteLength);
    if (exported) this.length = exported.length;
  }

  static adopt(e: ExportedEvents): MboEventBuffer {
    return new MboEventBuffer(e.length, e);
  }

  get full(): boolean {
    return this.length === this.capacity;
  }

  clear(): void {
    this.length = 0;
  }

  /** Copies record `r` of `book` in; returns its sub-sequence. */
  capture(r: MboView, book: Book): number {
    const i = this.length++;
    const src = r.view;
    const from = r.offset;
    const out = this.out;
    const to = i * MBO_RECORD_LENGTH;
    for (let k = 0; k < MBO_RECORD_LENGTH; k += 4) out.setInt32(to + k, src.getInt32(from + k, true), true);
    const sub = book.eventOrdinal.next(src.getUint32(from + MboOffset.tsRecvHi, true), src.getInt32(from + MboOffset.tsRecv, true), src.getUint32(from + MboOffset.sequence, true));
    this.subSequence[i] = sub;
    return sub;
  }

  /** Appends a record from its fields (a stored one read back): the 56 bytes the file had. */
  push(f: MboEventFields): void {
    const i = this.length++;
    const o = i * MBO_RECORD_LENGTH;
    const v = this.out;
    v.setUint8(o + HeaderOffset.length, MBO_RECORD_LENGTH / 4);
    v.setUint8(o + HeaderOffset.rtype, RType.MBO);
    v.setUint16(o + HeaderOffset.publisherId, f.publisherId, true);
    v.setUint32(o + HeaderOffset.instrumentId, f.instrumentId, true);
    v.setBigUint64(o + HeaderOffset.tsEvent, f.tsEvent, true);
    v.setBigUint64(o + MboOffset.orderId, f.orderId, true);
    v.setBigInt64(o + MboOffset.price, f.price, true);
    v.setUint32(o + MboOffset.size, f.size, true);
    v.setUint8(o + MboOffset.flags, f.flags);
    v.setUint8(o + MboOffset.channelId, f.channelId);
    v.setUint8(o + MboOffset.action, f.action);
    v.setUint8(o + MboOffset.side, f.side);
    v.setBigUint64(o + MboOffset.tsRecv, f.tsRecv, true);
    v.setInt32(o + MboOffset.tsInDelta, f.tsInDelta, true);
    v.setUint32(o + MboOffset.sequence, f.sequence, true);
    this.subSequence[i] = f.subSequence;
  }

  /** Record i, through a view this buffer reuses: read it before asking for another. */
  record(i: number): MboView {
    return this.cursor.at(this.out, i * MBO_RECORD_LENGTH);
  }

  /** A view of the records' bytes, for encoders that read fields by offset. */
  get view(): DataView {
    return this.out;
  }

  instrumentId(i: number): number { return this.out.getUint32(i * MBO_RECORD_LENGTH + HeaderOffset.instrumentId, true); }
  publisherId(i: number): number { return this.out.getUint16(i * MBO_RECORD_LENGTH + HeaderOffset.publisherId, true); }
  tsRecvHi(i: number): number { return this.out.getUint32(i * MBO_RECORD_LENGTH + MboOffset.tsRecvHi, true); }
  tsRecvLo(i: number): number { return this.out.getUint32(i * MBO_RECORD_LENGTH + MboOffset.tsRecv, true); }
  sequence(i: number): number { return this.out.getUint32(i * MBO_RECORD_LENGTH + MboOffset.sequence, true); }
  tsRecv(i: number): bigint { return u64Of(this.tsRecvHi(i), this.tsRecvLo(i)); }

  /** A compact copy of the filled records, whose buffers can be transferred to another thread. */
  exportEvents(): ExportedEvents {
    return {
      length: this.length,
      records: this.records.slice(0, this.length * MBO_RECORD_LENGTH),
      subSequence: this.subSequence.slice(0, this.length),
    };
  }
}

/** The buffers to pass as postMessage's transfer list. */
export function eventTransferList(e: ExportedEvents): ArrayBuffer[] {
  return [e.records.buffer as ArrayBuffer, e.subSequence.buffer as ArrayBuffer];
}
