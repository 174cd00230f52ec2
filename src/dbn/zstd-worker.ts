/**
 * The worker side of zstd-thread.ts: compressed chunks come in as messages,
 * decompressed chunks go back, through the same decompressStream the
 * in-thread path uses.
 */
import { parentPort } from 'node:worker_threads';
import { Credits, Mailbox } from '../flow.js';
import { DbnError } from './errors.js';
import { InputPosition } from './input-position.js';
import { decompressStream } from './zstd.js';
import { MAX_IN_FLIGHT, ownBuffer, type FromWorker, type ToWorker } from './zstd-thread.js';

const port = parentPort!;
const inputs = new Mailbox<Uint8Array>();
const outputs = new Credits(MAX_IN_FLIGHT);
const post = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

port.on('message', (m: ToWorker) => {
  if (m.type === 'data') inputs.push(m.chunk);
  else if (m.type === 'end') inputs.end();
  else outputs.acked(); // 'took'
});

async function* received(): AsyncGenerator<Uint8Array> {
  for await (const chunk of inputs) {
    post({ type: 'consumed' });
    yield chunk;
  }
}

// DbnError's message ends with " (at byte N)": the main side adds it again.
const bareMessage = (e: DbnError) => e.message.replace(/ \(at byte \d+\)$/, '');

const position = new InputPosition();
try {
  for await (const out of decompressStream(received(), position)) {
    const chunk = ownBuffer(out);
    outputs.sent();
    post({ type: 'out', chunk, at: position.bytes }, [chunk.buffer as ArrayBuffer]);
    await outputs.room();
  }
  post({ type: 'done' });
} catch (err) {
  const e = err instanceof DbnError ? err : new DbnError('ZSTD_CORRUPT', `zstd decompression failed: ${String(err)}`, 0);
  post({ type: 'error', code: e.code, message: bareMessage(e), offset: e.offset });
}
