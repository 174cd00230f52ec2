import { MBO_RECORD_LENGTH, RECORD_HEADER_LENGTH, RType, mbpRecordLength } from './constants.js';
import { DbnError } from './errors.js';
import { HeaderOffset } from './layout.js';

/**
 * A run of whole, validated records: bytes[start, end) holds nothing but
 * complete records. Consumers walk it with
 * `for (let o = b.start; o < b.end; o += b.view.getUint8(o) * 4)`.
 */
export interface RecordBatch {
  bytes: Uint8Array;
  view: DataView;
  start: number;
  end: number;
  /** Offset of bytes[start] in the decoded DBN stream, for error messages. */
  streamOffset: number;
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The records booktape reads fields of: their names and lengths by rtype. */
const READ_RECORDS: Array<[rtype: number, name: string, length: number]> = [
  [RType.MBO, 'MBO', MBO_RECORD_LENGTH],
  [RType.MBP_1, 'MBP-1', mbpRecordLength(1)],
  [RType.MBP_10, 'MBP-10', mbpRecordLength(10)],
];
/** Each rtype's least length (0: any): one typed-array load a record on the decode path. */
const LEAST_LENGTH = new Uint16Array(256);
for (const [rtype, , length] of READ_RECORDS) LEAST_LENGTH[rtype] = length;

/**
 * Walks record headers from `start` and returns the offset of the first record
 * that is not complete before `end` (or `end`). Rejects a record whose length
 * is shorter than its header (the stream would loop or desynchronise) and an
 * MBO or MBP record too short for its fields.
 */
export function frameRecords(view: DataView, start: number, end: number, streamOffset: number): number {
  let o = start;
  while (o < end) {
    const len = view.getUint8(o) * 4;
    if (len < RECORD_HEADER_LENGTH) {
      throw new DbnError(
        'RECORD_TOO_SHORT',
        `Record length ${len} bytes is shorter than the 16-byte record header: the file is corrupt from here on`,
        streamOffset + (o - start),
      );
    }
    if (o + len > end) break;
    const rtype = view.getUint8(o + HeaderOffset.rtype);
    if (len < LEAST_LENGTH[rtype]) {
      const name = READ_RECORDS.find(([r]) => r === rtype)![1];
      throw new DbnError(
        'BAD_RECORD_LENGTH',
        `${name} record is ${len} bytes, but an ${name} record needs ${LEAST_LENGTH[rtype]}: the file is corrupt`,
        streamOffset + (o - start),
      );
    }
    o += len;
  }
  return o;
}

export function truncatedRecordError(tail: Uint8Array, streamOffset: number): DbnError {
  const declared = tail[0] * 4;
  return new DbnError(
    'TRUNCATED_RECORD',
    `The last record is cut off: ${tail.length} of its ${declared} bytes are present. The file is truncated; download it again (records before this point were decoded)`,
    streamOffset,
  );
}

/**
 * Record framing as a state machine with no I/O: push() the decoded stream's
 * chunks in order, get back the whole records they complete, as batches that
 * are views into the chunks (only a record cut by a chunk boundary is
 * copied); finish() at the end of input. The file, buffer and thread readers
 * wrap it, so framing is tested without any of them.
 */
export class RecordFramer {
  /** A record cut by a chunk boundary (< 1 KiB), waiting for its rest. */
  private carry: Uint8Array | null = null;

  /** `offset`: the stream offset of the first byte pushed, for error messages. */
  constructor(private offset: number) {}

  push(chunk: Uint8Array): RecordBatch[] {
    const out: RecordBatch[] = [];
    const chunkOffset = this.offset;
    this.offset += chunk.length;
    let pos = 0;
    if (this.carry !== null) {
      const carry = this.carry;
      const carryOffset = chunkOffset - carry.length;
      const need = carry[0] * 4 - carry.length;
      if (chunk.length < need) {
        this.carry = Buffer.concat([carry, chunk]);
        return out;
      }
      const record = Buffer.concat([carry, chunk.subarray(0, need)]);
      const view = viewOf(record);
      frameRecords(view, 0, record.length, carryOffset);
      out.push({ bytes: record, view, start: 0, end: record.length, streamOffset: carryOffset });
      this.carry = null;
      pos = need;
    }
    if (pos < chunk.length) {
      const view = viewOf(chunk);
      const end = frameRecords(view, pos, chunk.length, chunkOffset + pos);
      if (end > pos) out.push({ bytes: chunk, view, start: pos, end, streamOffset: chunkOffset + pos });
      // Copy, so the tail does not pin the whole chunk in memory.
      if (end < chunk.length) this.carry = Uint8Array.prototype.slice.call(chunk, end);
    }
    return out;
  }

  /** The end of input: a record still cut is a truncated file. */
  finish(): void {
    if (this.carry !== null) throw truncatedRecordError(this.carry, this.offset - this.carry.length);
  }
}

/** Per-rtype record counts, kept off the hot path for the common MBO case. */
export class RecordCounts {
  mbo = 0;
  readonly other = new Map<number, number>();

  addOther(rtype: number): void {
    this.other.set(rtype, (this.other.get(rtype) ?? 0) + 1);
  }

  get total(): number {
    let n = this.mbo;
    for (const v of this.other.values()) n += v;
    return n;
  }

  /** e.g. { "0xa0": 38212, "0x13": 4 } for summaries. */
  toJSON(): Record<string, number> {
    const out: Record<string, number> = {};
    if (this.mbo > 0) out['0xa0'] = this.mbo;
    for (const [k, v] of [...this.other].sort((a, b) => a[0] - b[0])) out[`0x${k.toString(16).padStart(2, '0')}`] = v;
    return out;
  }
}
