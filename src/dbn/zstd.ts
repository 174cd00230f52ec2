import { decompress } from 'zstd-napi';
import zstdBinding from 'zstd-napi/binding.js';
import { ZSTD_MAGIC } from './constants.js';
import { DbnError } from './errors.js';
import { decompressInThread } from './zstd-thread.js';
import { InputPosition } from './input-position.js';

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

export interface DecompressOptions {
  /**
   * Decompress in a worker thread, so that decompression and whatever
   * consumes the records (the books) run on two cores. Worth it for large
   * inputs; a thread costs tens of milliseconds to start.
   */
  thread?: boolean;
  /** Kept up to date with how far into the input the output handed on so far reaches. */
  position?: InputPosition;
}

// zstd-napi's own low-level binding (ZSTD_decompressStream), not its stream
// class: it says how many compressed bytes each output chunk took, where a
// Transform's buffers would only say how far reading has run ahead.
const OUTPUT_BYTES = zstdBinding.dStreamOutSize();

/**
 * Yields the input unchanged, or decompressed when it starts with the zstd
 * frame magic (detected by content, never by file name). Decompression is
 * streaming: memory stays at a few chunks whatever the file size.
 */
export async function* decompressIfZstd(source: AsyncIterable<Uint8Array>, opts: DecompressOptions = {}): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  // However this ends (done, an error, or the consumer stopping), the source
  // is closed: a file descriptor or a download must not outlive the read.
  try {
    const head: Uint8Array[] = [];
    let headLen = 0;
    while (headLen < 4) {
      const next = await it.next();
      if (next.done) break;
      head.push(next.value);
      headLen += next.value.length;
    }
    const first = head.length === 1 ? head[0] : Buffer.concat(head);
    const position = opts.position ?? new InputPosition();
    if (!isZstd(first)) {
      position.bytes = first.length;
      if (first.length > 0) yield first;
      for (let next = await it.next(); !next.done; next = await it.next()) {
        position.bytes += next.value.length;
        yield next.value;
      }
      return;
    }
    async function* compressed(): AsyncGenerator<Uint8Array> {
      yield first;
      for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
    }
    yield* opts.thread ? decompressInThread(compressed(), position) : decompressStream(compressed(), position);
  } finally {
    await it.return?.();
  }
}

/**
 * zstd -> bytes in this thread; `position` is the compressed offset zstd had
 * consumed when each output chunk was made. Errors are ZSTD_CORRUPT with the
 * compressed offset, or the source's own error as it is.
 */
export async function* decompressStream(compressedChunks: AsyncIterable<Uint8Array>, position = new InputPosition()): AsyncGenerator<Uint8Array> {
  const dctx = new zstdBinding.DCtx();
  let consumedInAll = 0;
  let inFrame = false;
  // A failure of the source itself (a read error, an aborted download) comes
  // out of this loop as it is: only zstd's own failures are ZSTD_CORRUPT.
  for await (const chunk of compressedChunks) {
    let input = chunk;
    for (;;) {
      const output = Buffer.allocUnsafe(OUTPUT_BYTES);
      let left: number, produced: number, consumed: number;
      try {
        [left, produced, consumed] = dctx.decompressStream(output, input);
      } catch (err) {
        throw zstdError(err, consumedInAll);
      }
      consumedInAll += consumed;
      input = input.subarray(consumed);
      inFrame = left !== 0;
      if (produced > 0) {
        position.bytes = consumedInAll;
        yield output.subarray(0, produced);
      }
      // An output buffer filled to the brim may have more behind it.
      if (input.length === 0 && produced < output.length) break;
      // zstd always moves with input left and room to write; if it ever did
      // not, this loop would spin for good: fail instead.
      if (consumed === 0 && produced === 0) throw zstdError(new Error('zstd made no progress'), consumedInAll);
    }
  }
  if (inFrame) throw zstdError(new Error('the input ends inside a zstd frame'), consumedInAll);
}

/** Whole-buffer decompression for the synchronous path (small files, tests). */
export function decompressBuffer(bytes: Uint8Array): Buffer {
  try {
    return decompress(bytes);
  } catch (err) {
    throw zstdError(err, 0);
  }
}
