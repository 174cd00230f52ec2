import { createReadStream } from 'node:fs';
import { PRELUDE_LENGTH } from './constants.js';
import { frameRecords, truncatedRecordError, viewOf, type RecordBatch } from './framing.js';
import { parseMetadata, readPrelude, type Metadata } from './metadata.js';
import { decompressBuffer, decompressIfZstd, isZstd } from './zstd.js';

export const READ_CHUNK_BYTES = 1 << 20;

export interface DbnStream {
  metadata: Metadata;
  /** Whole-record batches, in file order. Iterate once. */
  batches: AsyncGenerator<RecordBatch>;
}

/**
 * Opens a DBN byte stream (plain or zstd): reads the metadata, then yields
 * record batches as the bytes arrive. Memory is bounded by the source's chunk
 * size: batches are views into the incoming chunks, and only a record that
 * straddles two chunks is copied.
 */
export async function openDbnStream(source: AsyncIterable<Uint8Array>): Promise<DbnStream> {
  const it = decompressIfZstd(source)[Symbol.asyncIterator]();
  const parts: Uint8Array[] = [];
  let have = 0;
  const fill = async (want: number): Promise<void> => {
    while (have < want) {
      const next = await it.next();
      if (next.done) return;
      parts.push(next.value);
      have += next.value.length;
    }
  };
  await fill(PRELUDE_LENGTH);
  let head = Buffer.concat(parts);
  const prelude = readPrelude(head);
  const recordsStart = PRELUDE_LENGTH + prelude.metadataLength;
  await fill(recordsStart);
  if (parts.length > 1) head = Buffer.concat(parts);
  const metadata = parseMetadata(head, prelude);
  return { metadata, batches: recordBatches(head.subarray(recordsStart), it, recordsStart) };
}

async function* recordBatches(
  first: Uint8Array,
  rest: AsyncIterator<Uint8Array>,
  firstOffset: number,
): AsyncGenerator<RecordBatch> {
  let carry: Uint8Array | null = null; // a record cut by a chunk boundary (< 1 KiB)
  let chunkOffset = firstOffset; // stream offset of chunk[0]
  let chunk: Uint8Array | null = first;
  while (chunk !== null) {
    let pos = 0;
    if (carry !== null) {
      const carryOffset: number = chunkOffset - carry.length;
      const need = carry[0] * 4 - carry.length;
      if (chunk.length < need) {
        carry = Buffer.concat([carry, chunk]);
      } else {
        const record = Buffer.concat([carry, chunk.subarray(0, need)]);
        const view = viewOf(record);
        frameRecords(view, 0, record.length, carryOffset);
        yield { bytes: record, view, start: 0, end: record.length, streamOffset: carryOffset };
        carry = null;
        pos = need;
      }
    }
    if (carry === null && pos < chunk.length) {
      const view = viewOf(chunk);
      const end = frameRecords(view, pos, chunk.length, chunkOffset + pos);
      if (end > pos) yield { bytes: chunk, view, start: pos, end, streamOffset: chunkOffset + pos };
      if (end < chunk.length) {
        // Copy, so the tail does not pin the whole chunk in memory.
        carry = Uint8Array.prototype.slice.call(chunk, end);
      }
    }
    chunkOffset += chunk.length;
    const next = await rest.next();
    chunk = next.done ? null : next.value;
  }
  if (carry !== null) throw truncatedRecordError(carry, chunkOffset - carry.length);
}

/** A file as a stream of chunks, for `openDbnStream`. */
export function fileChunks(path: string, chunkBytes = READ_CHUNK_BYTES): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: chunkBytes });
}

export async function openDbnFile(path: string): Promise<DbnStream> {
  return openDbnStream(fileChunks(path));
}

export interface DecodedBuffer {
  metadata: Metadata;
  /** Every record of the file, as one batch. */
  batch: RecordBatch;
}

/**
 * The synchronous fast path over a whole file in memory (plain or zstd).
 * Throws a DbnError before returning anything if any record is bad or cut off.
 */
export function decodeBuffer(input: Uint8Array): DecodedBuffer {
  const bytes = isZstd(input) ? decompressBuffer(input) : input;
  const prelude = readPrelude(bytes);
  const metadata = parseMetadata(bytes, prelude);
  const start = PRELUDE_LENGTH + prelude.metadataLength;
  const view = viewOf(bytes);
  const end = frameRecords(view, start, bytes.length, start);
  if (end < bytes.length) throw truncatedRecordError(bytes.subarray(end), end);
  return { metadata, batch: { bytes, view, start, end, streamOffset: start } };
}
