/**
 * The CPU-heavy half of ingestion, in a worker thread: source -> hash ->
 * decode -> books -> snapshot and trade rows, posted to the main thread
 * (which alone talks to the store and to Redis). At most MAX_IN_FLIGHT
 * batches wait for an ack, so a slow store slows decoding instead of
 * growing memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDbnStream, zstdOptionsFor } from '../dbn/reader.js';
import { InputPosition } from '../dbn/input-position.js';
import { Credits } from '../flow.js';
import { schemaName } from '../dbn/constants.js';
import { rebuild } from '../book/rebuild.js';
import { transferList } from '../book/row-buffer.js';
import { eventTransferList } from '../book/event-buffer.js';
import { openSource } from './source.js';
import { toIngestError } from './errors.js';
import type { EngineRequest, EngineMessage } from './engine-protocol.js';

const MAX_IN_FLIGHT = 2;
const PROGRESS_EVERY_MS = 250;

const port = parentPort!;
const request = workerData as EngineRequest;
const batches = new Credits(MAX_IN_FLIGHT);
port.on('message', (m: { type: 'ack' }) => {
  if (m.type === 'ack') batches.acked();
});
const post = (m: EngineMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

async function run(): Promise<void> {
  const source = await openSource(request.source, request.sourcePolicy);
  const position = new InputPosition();
  const stream = await openDbnStream(source.chunks, { ...zstdOptionsFor(source.meter.totalBytes), position });
  post({
    type: 'metadata',
    name: source.name,
    dataset: stream.metadata.dataset,
    schema: schemaName(stream.metadata.schema),
    mappings: stream.metadata.mappings,
  });
  let lastProgress = 0;
  const { market, symbols } = await rebuild(stream, {
    policy: { ...request.snapshotPolicy, trades: true },
    // Large batches: each store write has a fixed cost (a commit, an overlap check).
    capacity: request.batchRows,
    onCaptured: async (snapshots, trades, l3, market) => {
      const s = snapshots.exportRows();
      const t = trades.exportRows();
      const e = l3.events.exportEvents();
      const c = l3.checkpoints.exportRows();
      batches.sent();
      post({ type: 'batch', snapshots: s, trades: t, events: e, checkpoints: c, records: market.counts.mbo }, [...transferList(s), ...transferList(t), ...eventTransferList(e), ...transferList(c)]);
      await batches.room();
    },
    onProgress: (m) => {
      const now = Date.now();
      if (now - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = now;
      post({ type: 'progress', bytes: position.bytes, totalBytes: source.meter.totalBytes, records: m.counts.mbo });
    },
  });
  await batches.drained();
  const books = [...market.books.values()].map((b) => ({
    instrumentId: b.instrumentId,
    publisherId: b.publisherId,
    symbol: symbols.get(b.instrumentId) ?? null,
    orders: b.orders.size,
    anomalies: b.anomalies.toJSON(),
  }));
  post({
    type: 'done',
    sha256: source.meter.digest(),
    bytes: source.meter.bytes,
    records: market.counts.mbo,
    otherRecords: Object.fromEntries(Object.entries(market.counts.toJSON()).filter(([k]) => k !== '0xa0')),
    anomalies: market.anomalies().toJSON(),
    books,
  });
}

run().catch((err: unknown) => {
  post({ type: 'error', error: toIngestError(err).toJSON() });
});
