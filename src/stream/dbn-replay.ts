import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { mbpRecordLength } from '../dbn/constants.js';
import type { RangeQuery, SnapshotStore } from '../store/port.js';
import { mbpRecords, replayMetadata, type MbpLevels } from './dbn.js';
import { Schedule, pageSizeFor, sleepUnlessAborted, type Pace } from './pacing.js';
import { rangeSpan, type ReplayCounts } from './replay.js';

/** A DBN replay about to start: what it will send, known before its first byte. */
export interface DbnReplay {
  range: RangeQuery;
  levels: MbpLevels;
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
export async function openDbnReplay(store: SnapshotStore, range: RangeQuery, levels: MbpLevels): Promise<DbnReplay> {
  const counted = await store.countRange(range);
  const records = Math.min(counted, range.limit ?? Infinity);
  const instruments = await store.listInstruments();
  const span = rangeSpan(instruments, range);
  const metadata = replayMetadata({ symbols: range.symbols, instruments, start: span.start, end: span.end + 1n, records, levels });
  return { range: { ...range, limit: records }, levels, records, metadata };
}

/**
 * Streams a DBN replay into `out`: the metadata, then one MBP record per
 * stored snapshot in key order, paced by `pace`, each write waiting for
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
  const length = mbpRecordLength(replay.levels);
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
    for await (const chunk of mbpRecords(store, { ...replay.range, pageSize: pageSizeFor(pace) }, replay.levels, signal)) {
      if (signal.aborted) break;
      if (!schedule.paced) {
        await writeRecords(chunk);
        continue;
      }
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let from = 0;
      for (let o = 0; o < chunk.length; o += length) {
        const lead = schedule.lead(counts.frames + (o - from) / length, view.getBigUint64(o + 32, true));
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
