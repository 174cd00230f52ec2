/**
 * zstd decompression in a worker thread (see zstd-worker.ts), so that a
 * consumer of the records (the books) and decompression use two cores.
 * Chunks cross as transferred buffers. Both directions are bounded: at most
 * MAX_IN_FLIGHT compressed chunks wait in the worker, and the worker stops
 * after MAX_IN_FLIGHT decompressed chunks that were not taken yet.
 */
import { Worker } from 'node:worker_threads';
import { DbnError, type DbnErrorCode } from './errors.js';

export const MAX_IN_FLIGHT = 4;

/** main -> worker */
export type ToWorker = { type: 'data'; chunk: Uint8Array } | { type: 'end' } | { type: 'took' };
/** worker -> main */
export type FromWorker =
  | { type: 'consumed' }
  | { type: 'out'; chunk: Uint8Array }
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
export async function* decompressInThread(compressed: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const worker = new Worker(workerUrl());
  const outputs: Uint8Array[] = [];
  let finished = false;
  // Set from callbacks: a holder, so TypeScript does not narrow them to null.
  const state: { failure: { error: unknown } | null; wakeReader: (() => void) | null; wakePump: (() => void) | null } = {
    failure: null, wakeReader: null, wakePump: null,
  };
  let inFlight = 0;
  let stopped = false;
  const wake = () => { state.wakeReader?.(); state.wakeReader = null; };
  const fail = (error: unknown) => { state.failure ??= { error }; wake(); };
  worker.on('message', (m: FromWorker) => {
    switch (m.type) {
      case 'consumed': inFlight--; state.wakePump?.(); state.wakePump = null; return;
      case 'out': outputs.push(m.chunk); break;
      case 'done': finished = true; break;
      case 'error': fail(new DbnError(m.code, m.message, m.offset)); break;
    }
    wake();
  });
  worker.on('error', fail);
  worker.on('exit', (code) => { if (!finished) fail(new Error(`the zstd thread exited (code ${code}) before the end of the stream`)); });
  const source = compressed[Symbol.asyncIterator]();
  const pump = (async () => {
    for (let next = await source.next(); !next.done && !stopped; next = await source.next()) {
      while (inFlight >= MAX_IN_FLIGHT && !stopped) await new Promise<void>((r) => (state.wakePump = r));
      if (stopped) break;
      inFlight++;
      const chunk = ownBuffer(next.value);
      worker.postMessage({ type: 'data', chunk } satisfies ToWorker, [chunk.buffer as ArrayBuffer]);
    }
    if (!stopped) worker.postMessage({ type: 'end' } satisfies ToWorker);
  })();
  pump.catch(fail);
  try {
    for (;;) {
      const chunk = outputs.shift();
      if (chunk !== undefined) {
        worker.postMessage({ type: 'took' } satisfies ToWorker);
        yield chunk;
        continue;
      }
      if (state.failure !== null) throw state.failure.error;
      if (finished) return;
      await new Promise<void>((r) => (state.wakeReader = r));
    }
  } finally {
    finished = true; // the exit below is ours, not a failure
    stopped = true;
    state.wakePump?.();
    await worker.terminate();
    await pump.catch(() => undefined);
    await source.return?.();
  }
}
