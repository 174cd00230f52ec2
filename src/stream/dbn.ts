import { SCHEMA_NAMES, mbpRecordLength } from '../dbn/constants.js';
import { encodeMetadata } from '../dbn/encode.js';
import { writeMbpSnapshot, type MbpLevels } from '../encode/mbp.js';
import type { InstrumentInfo, RangeQuery, SnapshotStore } from '../store/port.js';

/**
 * Stored snapshots as a DBN v3 stream of MBP-1 or MBP-10 records: the
 * records `booktape mbp --format dbn` writes for the same book events, so
 * Databento's own decoders (and `booktape decode`) read a replay.
 */

export type { MbpLevels };

/** The MBP schema a replay's `depth` asks for, or null when DBN has none (only 1 and 10 exist). */
export function mbpLevelsOf(depth: number): MbpLevels | null {
  return depth === 1 || depth === 10 ? depth : null;
}

/** Records per chunk of the generic path (about 64 KB of MBP-10). */
const RECORDS_PER_CHUNK = 176;

/**
 * A range's rows as MBP records, in chunks of whole records: the store's
 * own encoder where it has one (it skips the row objects), else readRange's
 * rows through writeMbpSnapshot. Both give the same bytes (tested).
 */
export async function* mbpRecords(store: SnapshotStore, q: RangeQuery, levels: MbpLevels, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  if (store.readRangeMbp !== undefined) {
    yield* store.readRangeMbp(q, levels, signal);
    return;
  }
  const length = mbpRecordLength(levels);
  for await (const batch of store.readRange(q, signal)) {
    for (let at = 0; at < batch.length; at += RECORDS_PER_CHUNK) {
      const n = Math.min(RECORDS_PER_CHUNK, batch.length - at);
      const chunk = Buffer.allocUnsafe(n * length);
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      for (let i = 0; i < n; i++) writeMbpSnapshot(view, i * length, batch[at + i], levels);
      yield chunk;
    }
  }
}

const DAY_NS = 86_400_000_000_000n;

/** YYYYMMDD of an instant in ns, as DBN's symbol mappings date their intervals. */
function dateOf(ns: bigint): number {
  const d = new Date(Number(ns / 1_000_000n));
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/** What a DBN replay carries: MBO records (the stored events) or MBP-1 / MBP-10 snapshots. */
export type ReplaySchema = 'mbo' | MbpLevels;

/**
 * The stream's DBN v3 metadata: schema MBO, MBP-1 or MBP-10, the replay's
 * symbols (raw symbols in, instrument ids out, with their mappings),
 * start and end (end exclusive, as Databento's) and `limit`, the exact
 * number of records that follow when the stream is whole: a reader that
 * counts fewer before the end of the stream got a cut one.
 */
export function replayMetadata(opts: {
  symbols: string[];
  instruments: InstrumentInfo[];
  start: bigint;
  end: bigint;
  records: number;
  schema: ReplaySchema;
}): Buffer {
  const wanted = opts.symbols.length > 0 ? new Set(opts.symbols) : null;
  const bySymbol = new Map<string, InstrumentInfo[]>();
  for (const i of opts.instruments) {
    if (i.symbol === null || (wanted !== null && !wanted.has(i.symbol))) continue;
    const list = bySymbol.get(i.symbol) ?? [];
    if (!list.some((x) => x.instrumentId === i.instrumentId)) list.push(i);
    bySymbol.set(i.symbol, list);
  }
  const symbols = wanted !== null ? opts.symbols : [...bySymbol.keys()];
  return encodeMetadata({
    version: 3,
    // The store keeps no dataset per symbol; Databento's readers accept an empty one.
    dataset: '',
    schema: SCHEMA_NAMES.indexOf(opts.schema === 'mbo' ? 'mbo' : opts.schema === 1 ? 'mbp-1' : 'mbp-10'),
    start: opts.start.toString(),
    end: opts.end.toString(),
    limit: String(opts.records),
    stype_in: 1, // raw_symbol
    stype_out: 0, // instrument_id
    ts_out: false,
    symbol_cstr_len: 71,
    symbols,
    partial: [],
    not_found: symbols.filter((s) => !bySymbol.has(s)),
    mappings: [...bySymbol].map(([raw, list]) => ({
      raw_symbol: raw,
      intervals: list.map((i) => ({
        start_date: dateOf(i.firstTsRecv),
        end_date: dateOf(i.lastTsRecv + DAY_NS), // exclusive
        symbol: String(i.instrumentId),
      })),
    })),
  });
}
