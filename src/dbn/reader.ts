import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { PRELUDE_LENGTH } from './constants.js';
import { RecordFramer, viewOf, type RecordBatch } from './framing.js';
import { parseMetadata, readPrelude, type Metadata } from './metadata.js';
import { decompressBuffer, decompressIfZstd, isZstd, type DecompressOptions } from './zstd.js';

export const READ_CHUNK_BYTES = 1 << 20;
/**
 * Inputs at least this large (on disk or as downloaded) decompress zstd in a
 * worker thread, so that decompression and the books run side by side
 * (docs/benchmarks.md has the measurement). Smaller inputs skip the thread's
 * start-up.
 */
export const ZSTD_THREAD_MIN_BYTES = 8 << 20;

/** Whether an input of `bytes` (null: unknown) decompresses in a thread. */
export function zstdOptionsFor(bytes: number | null): DecompressOptions {
  return { thread: bytes === null || bytes >= ZSTD_THREAD_MIN_BYTES };
}

export interface DbnStream {
  metadata: Metadata;
  /** Whole-record batches, in file order. Iterate once; ending the iteration early closes the source. */
  batches: AsyncGenerator<RecordBatch>;
  /**
   * Stops reading and closes the source (file, download, zstd thread). For a
   * reader that stops before iterating `batches` to the end, or never starts
   * it (a generator that never started cannot run its own cleanup). Safe to
   * call at any point and more than once.
   */
  close(): Promise<void>;
}

/**
 * Opens a DBN byte stream (plain or zstd): reads the metadata, then yields
 * record batches as the bytes arrive. Memory is bounded by the source's chunk
 * size: batches are views into the incoming chunks, and only a record that
 * straddles two chunks is copied.
 */
export async function openDbnStream(source: AsyncIterable<Uint8Array>, zstd: DecompressOptions = {}): Promise<DbnStream> {
  const it = decompressIfZstd(source, zstd)[Symbol.asyncIterator]();
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
  try {
    await fill(PRELUDE_LENGTH);
    let head = Buffer.concat(parts);
    const prelude = readPrelude(head);
    const recordsStart = PRELUDE_LENGTH + prelude.metadataLength;
    await fill(recordsStart);
    if (parts.length > 1) head = Buffer.concat(parts);
    const metadata = parseMetadata(head, prelude);
    const batches = recordBatches(head.subarray(recordsStart), it, recordsStart);
    const close = async () => {
      await batches.return(undefined);
      await it.return?.(undefined);
    };
    return { metadata, batches, close };
  } catch (err) {
    await it.return?.(undefined); // bad metadata: nothing will read on, so close the source now
    throw err;
  }
}

async function* recordBatches(
  first: Uint8Array,
  rest: AsyncIterator<Uint8Array>,
  firstOffset: number,
): AsyncGenerator<RecordBatch> {
  // However the consumer stops (done, an error, or break/return), the source
  // is closed: a zstd worker thread or a download must not outlive it.
  try {
    const framer = new RecordFramer(firstOffset);
    let chunk: Uint8Array | null = first;
    while (chunk !== null) {
      yield* framer.push(chunk);
      const next = await rest.next();
      chunk = next.done ? null : next.value;
    }
    framer.finish();
  } finally {
    await rest.return?.();
  }
}

/** A file as a stream of chunks, for `openDbnStream`. */
export function fileChunks(path: string, chunkBytes = READ_CHUNK_BYTES): AsyncIterable<Uint8Array> {
  return createReadStream(path, { highWaterMark: chunkBytes });
}

export async function openDbnFile(path: string): Promise<DbnStream> {
  const { size } = await stat(path); // before the stream exists: a missing file is one error, not a stream error too
  return openDbnStream(fileChunks(path), zstdOptionsFor(size));
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
  // One chunk: the framer answers with at most one batch, a view of `bytes`.
  const framer = new RecordFramer(start);
  const records = bytes.subarray(start);
  const [batch = { bytes: records, view: viewOf(records), start: 0, end: 0, streamOffset: start }] = framer.push(records);
  framer.finish();
  return { metadata, batch };
}
