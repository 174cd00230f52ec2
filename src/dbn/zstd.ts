import { Readable } from 'node:stream';
import { DecompressStream, decompress } from 'zstd-napi';
import { ZSTD_MAGIC } from './constants.js';
import { DbnError } from './errors.js';

export function isZstd(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ZSTD_MAGIC.every((b, i) => bytes[i] === b);
}

function zstdError(err: unknown, compressedOffset: number): DbnError {
  const reason = err instanceof Error ? err.message : String(err);
  return new DbnError(
    'ZSTD_CORRUPT',
    `The zstd stream is corrupt or truncated (${reason}); the offset is in the compressed file. Download the file again`,
    compressedOffset,
  );
}

/**
 * Yields the input unchanged, or decompressed when it starts with the zstd
 * frame magic (detected by content, never by file name). Decompression is
 * streaming: memory stays at a few chunks whatever the file size.
 */
export async function* decompressIfZstd(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLen = 0;
  while (headLen < 4) {
    const next = await it.next();
    if (next.done) break;
    head.push(next.value);
    headLen += next.value.length;
  }
  const first = head.length === 1 ? head[0] : Buffer.concat(head);
  if (!isZstd(first)) {
    if (first.length > 0) yield first;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
    return;
  }
  let compressedOffset = 0;
  async function* compressed(): AsyncGenerator<Uint8Array> {
    compressedOffset += first.length;
    yield first;
    for (let next = await it.next(); !next.done; next = await it.next()) {
      compressedOffset += next.value.length;
      yield next.value;
    }
  }
  const input = Readable.from(compressed(), { objectMode: false });
  const decompressor = new DecompressStream();
  // A failure of the source itself (a read error, an aborted download) is not a
  // zstd problem: remember it so it is rethrown as it is.
  let sourceError: unknown;
  input.on('error', (err) => {
    sourceError = err;
    decompressor.destroy(err);
  });
  input.pipe(decompressor);
  try {
    for await (const chunk of decompressor) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof DbnError || err === sourceError) throw err;
    throw zstdError(err, compressedOffset);
  } finally {
    input.destroy();
    decompressor.destroy();
  }
}

/** Whole-buffer decompression for the synchronous path (small files, tests). */
export function decompressBuffer(bytes: Uint8Array): Buffer {
  try {
    return decompress(bytes);
  } catch (err) {
    throw zstdError(err, 0);
  }
}
