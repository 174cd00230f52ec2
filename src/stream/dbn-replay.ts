import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { MBO_RECORD_LENGTH, mbpRecordLength } from '../dbn/constants.js';
import { MboOffset } from '../dbn/layout.js';
import type { RangeQuery, SnapshotStore } from '../store/port.js';
import { mbpRecords, replayMetadata, type ReplaySchema } from './dbn.js';
import { Schedule, pageSizeFor, sleepUnlessAborted, type Pace } from './pacing.js';
import { rangeSpan, type ReplayCounts } from './replay.js';

/** A DBN replay about to start: what it will send, known before its first byte. */
export interface DbnReplay {
  range: RangeQuery;
  schema: ReplaySchema;
  /** Records a whole stream carries: the metadata's `limit`, and the reads stop there. */
  records: number;
  /** The DBN v3 prelude and metadata. */
  metadata: Buffer;
}

/**
 * Counts a range's rows and writes the metadata that announces them.
 * start and end are the range's bounds (end exclusive, as Databento's), or
 * the instruments' first and last instants where the range is open.
 */
export async function openDbnReplay(store: SnapshotStore, range: RangeQuery, schema: ReplaySchema): Promise<DbnReplay> {
  const counted = await (schema === 'mbo' ? store.countMboRange(range) : store.countRange(range));
  const records = Math.min(counted, range.limit ?? Infinity);
  const instruments = await store.listInstruments();
  const span = rangeSpan(instruments, range);
  const metadata = replayMetadata({ symbols: range.symbols, instruments, start: span.start, end: span.end + 1n, records, schema });
  return { range: { ...range, limit: records }, schema, records, metadata };
}

/** A replay's records in chunks of whole records: the stored MBO records as they are, or snapshots as MBP records. */
async function* recordChunks(store: SnapshotStore, range: RangeQuery, schema: ReplaySchema, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  if (schema !== 'mbo') {
    yield* mbpRecords(store, range, schema, signal);
    return;
  }
  for await (const { events } of store.readMboRange(range, signal)) yield events.records.subarray(0, events.length * MBO_RECORD_LENGTH);
}

/**
 * Streams a DBN replay into `out`: the metadata, then one MBO record per
 * stored event, or one MBP record per stored snapshot, in key order, paced by `pace`, each write waiting for
 * 'drain'. A DBN stream has no end line: a stream cut part-way (the client
 * left, a shutdown, the store failed) carries fewer records than the
 * metadata's `limit`, and the caller destroys the connection rather than
 * ending it. `signal` stops it at once, mid-wait included.
 */
export async function streamDbnReplay(
  store: SnapshotStore,
  replay: DbnReplay,
  pace: Pace,
  out: Writable,
  signal: AbortSignal,
  onChunk?: (records: number, bytes: number) => void,
): Promise<ReplayCounts> {
  const counts: ReplayCounts = { frames: 0, bytes: 0 };
  const length = replay.schema === 'mbo' ? MBO_RECORD_LENGTH : mbpRecordLength(replay.schema);
  // ts_recv's place in the record: after the header in MBP records, after the order fields in MBO ones.
  const tsRecvAt = replay.schema === 'mbo' ? MboOffset.tsRecv : 32;
  const schedule = new Schedule(pace);
  const write = async (bytes: Uint8Array, records: number) => {
    if (bytes.length === 0) return;
    counts.frames += records;
    counts.bytes += bytes.length;
    onChunk?.(records, bytes.length);
    if (!out.write(bytes) && !signal.aborted) await once(out, 'drain', { signal }).catch(() => undefined);
  };
  const writeRecords = (bytes: Uint8Array) => write(bytes, bytes.length / length);
  await write(replay.metadata, 0);
  try {
    for await (const chunk of recordChunks(store, { ...replay.range, pageSize: pageSizeFor(pace) }, replay.schema, signal)) {
      if (signal.aborted) break;
      if (!schedule.paced) {
        await writeRecords(chunk);
        continue;
      }
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let from = 0;
      for (let o = 0; o < chunk.length; o += length) {
        const lead = schedule.lead(counts.frames + (o - from) / length, view.getBigUint64(o + tsRecvAt, true));
        if (lead <= 1) continue;
        // What is due goes out before the wait.
        await writeRecords(chunk.subarray(from, o));
        from = o;
        if (!(await sleepUnlessAborted(lead, signal))) return counts;
      }
      await writeRecords(chunk.subarray(from));
    }
  } catch (err) {
    if (signal.aborted) return counts;
    counts.failure = err;
  }
  return counts;
}
