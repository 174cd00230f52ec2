/**
 * The worker side of zstd-thread.ts: compressed chunks come in as messages,
 * decompressed chunks go back, through the same decompressStream the
 * in-thread path uses.
 */
import { parentPort } from 'node:worker_threads';
import { DbnError } from './errors.js';
import { decompressStream } from './zstd.js';
import { MAX_IN_FLIGHT, ownBuffer, type FromWorker, type ToWorker } from './zstd-thread.js';

const port = parentPort!;
const inputs: Uint8Array[] = [];
let ended = false;
let untaken = 0;
let wakeInput: (() => void) | null = null;
let wakeOutput: (() => void) | null = null;
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

port.on('message', (m: ToWorker) => {
  if (m.type === 'data') inputs.push(m.chunk);
  else if (m.type === 'end') ended = true;
  else if (m.type === 'took') {
    untaken--;
    wakeOutput?.();
    wakeOutput = null;
    return;
  }
  wakeInput?.();
  wakeInput = null;
});

async function* received(): AsyncGenerator<Uint8Array> {
  for (;;) {
    const chunk = inputs.shift();
    if (chunk !== undefined) {
      post({ type: 'consumed' });
      yield chunk;
      continue;
    }
    if (ended) return;
    await new Promise<void>((r) => (wakeInput = r));
  }
}

// DbnError's message ends with " (at byte N)": the main side adds it again.
const bareMessage = (e: DbnError) => e.message.replace(/ \(at byte \d+\)$/, '');

try {
  for await (const out of decompressStream(received())) {
    const chunk = ownBuffer(out);
    untaken++;
    post({ type: 'out', chunk }, [chunk.buffer as ArrayBuffer]);
    while (untaken >= MAX_IN_FLIGHT) await new Promise<void>((r) => (wakeOutput = r));
  }
  post({ type: 'done' });
} catch (err) {
  const e = err instanceof DbnError ? err : new DbnError('ZSTD_CORRUPT', `zstd decompression failed: ${String(err)}`, 0);
  post({ type: 'error', code: e.code, message: bareMessage(e), offset: e.offset });
}
