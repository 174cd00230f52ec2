/**
 * zstd decompression in a worker thread (see zstd-worker.ts), so that a
 * consumer of the records (the books) and decompression use two cores.
 * Chunks cross as transferred buffers. Both directions are bounded: at most
 * MAX_IN_FLIGHT compressed chunks wait in the worker, and the worker stops
 * after MAX_IN_FLIGHT decompressed chunks that were not taken yet.
 */
import { Worker } from 'node:worker_threads';
import { Credits, Mailbox } from '../flow.js';
import { DbnError, type DbnErrorCode } from './errors.js';
import { InputPosition } from './input-position.js';

export const MAX_IN_FLIGHT = 4;

/** main -> worker */
export type ToWorker = { type: 'data'; chunk: Uint8Array } | { type: 'end' } | { type: 'took' };
/** worker -> main */
export type FromWorker =
  | { type: 'consumed' }
  /** at: the compressed offset behind this chunk (InputPosition) */
  | { type: 'out'; chunk: Uint8Array; at: number }
  | { type: 'done' }
  | { type: 'error'; code: DbnErrorCode; message: string; offset: number };

function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/src/dbn/zstd-worker.js', here) : new URL('./zstd-worker.js', here);
}

/** A copy that owns its whole ArrayBuffer, so it can be transferred. */
export function ownBuffer(chunk: Uint8Array): Uint8Array {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer
    ? chunk
    : Uint8Array.prototype.slice.call(chunk);
}

/**
 * Same contract as decompressStream: zstd in, bytes out; ZSTD_CORRUPT with
 * the compressed offset for bad input, the source's own error as it is.
 * Stopping early (return()) ends the worker and the source.
 */
export async function* decompressInThread(compressed: AsyncIterable<Uint8Array>, position = new InputPosition()): AsyncGenerator<Uint8Array> {
  const worker = new Worker(workerUrl());
  const outputs = new Mailbox<{ chunk: Uint8Array; at: number }>();
  const inputs = new Credits(MAX_IN_FLIGHT);
  let finished = false; // the worker said 'done', or we stopped it: its exit is then expected
  worker.on('message', (m: FromWorker) => {
    switch (m.type) {
      case 'consumed': inputs.acked(); return;
      case 'out': outputs.push(m); return;
      case 'done': finished = true; outputs.end(); return;
      case 'error': outputs.fail(new DbnError(m.code, m.message, m.offset)); return;
    }
  });
  worker.on('error', (err) => outputs.fail(err));
  worker.on('exit', (code) => { if (!finished) outputs.fail(new Error(`the zstd thread exited (code ${code}) before the end of the stream`)); });
  const source = compressed[Symbol.asyncIterator]();
  let stopped = false;
  const pump = (async () => {
    for (let next = await source.next(); !next.done && !stopped; next = await source.next()) {
      await inputs.room();
      if (stopped) break;
      inputs.sent();
      const chunk = ownBuffer(next.value);
      worker.postMessage({ type: 'data', chunk } satisfies ToWorker, [chunk.buffer as ArrayBuffer]);
    }
    if (!stopped) worker.postMessage({ type: 'end' } satisfies ToWorker);
  })();
  pump.catch((err: unknown) => outputs.fail(err));
  try {
    for await (const out of outputs) {
      worker.postMessage({ type: 'took' } satisfies ToWorker);
      position.bytes = out.at;
      yield out.chunk;
    }
  } finally {
    finished = true;
    stopped = true;
    inputs.close();
    await worker.terminate();
    await pump.catch(() => undefined);
    await source.return?.();
  }
}
