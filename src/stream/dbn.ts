import { RType, SCHEMA_NAMES, mbpRecordLength } from '../dbn/constants.js';
import { HeaderOffset } from '../dbn/layout.js';
import { encodeMetadata, setI64, setMbpU32, setUndefPrice } from '../dbn/encode.js';
import type { InstrumentInfo, RangeQuery, SnapshotStore, StoredSnapshot } from '../store/port.js';

/**
 * Stored snapshots as a DBN v3 stream of MBP-1 or MBP-10 records: the
 * records `booktape mbp --format dbn` writes for the same book events, so
 * Databento's own decoders (and `booktape decode`) read a replay.
 */

/** DBN's MBP schemas: MBP-1 and MBP-10. */
export type MbpLevels = 1 | 10;

/** The MBP schema a replay's `depth` asks for, or null when DBN has none (only 1 and 10 exist). */
export function mbpLevelsOf(depth: number): MbpLevels | null {
  return depth === 1 || depth === 10 ? depth : null;
}

/**
 * Writes `s` as one MBP record (80 or 368 bytes) at `o`. Missing levels are
 * UNDEF_PRICE with zero size and count; `depth` is the level of the trigger's
 * price on its side among the first `levels`, 0 when it is not there (as
 * book/mbp.ts computes it from the engine's rows).
 */
export function writeMbpSnapshot(view: DataView, o: number, s: StoredSnapshot, levels: MbpLevels): void {
  view.setUint8(o, mbpRecordLength(levels) / 4);
  view.setUint8(o + HeaderOffset.rtype, levels === 10 ? RType.MBP_10 : RType.MBP_1);
  view.setUint16(o + HeaderOffset.publisherId, s.publisherId, true);
  view.setUint32(o + HeaderOffset.instrumentId, s.instrumentId, true);
  view.setBigUint64(o + HeaderOffset.tsEvent, s.tsEvent, true);
  if (s.price === null) setUndefPrice(view, o + 16);
  else setI64(view, o + 16, s.price);
  view.setUint32(o + 24, s.size, true);
  view.setUint8(o + 28, s.action.charCodeAt(0));
  view.setUint8(o + 29, s.side.charCodeAt(0));
  view.setUint8(o + 30, s.flags);
  const side = s.side === 'B' ? s.bids : s.side === 'A' ? s.asks : null;
  let change = 0;
  if (side !== null && s.price !== null) {
    for (let k = 0, n = Math.min(levels, side.length / 3); k < n; k++) {
      if (side[3 * k] === s.price) {
        change = k;
        break;
      }
    }
  }
  view.setUint8(o + 31, change);
  view.setBigUint64(o + 32, s.tsRecv, true);
  view.setInt32(o + 40, s.tsInDelta, true);
  view.setUint32(o + 44, s.sequence, true);
  for (let k = 0; k < levels; k++) {
    const l = o + 48 + k * 32;
    const hasBid = 3 * k < s.bids.length;
    const hasAsk = 3 * k < s.asks.length;
    if (hasBid) setI64(view, l, s.bids[3 * k]);
    else setUndefPrice(view, l);
    if (hasAsk) setI64(view, l + 8, s.asks[3 * k]);
    else setUndefPrice(view, l + 8);
    setMbpU32(view, l + 16, hasBid ? s.bids[3 * k + 1] : 0);
    setMbpU32(view, l + 20, hasAsk ? s.asks[3 * k + 1] : 0);
    setMbpU32(view, l + 24, hasBid ? s.bids[3 * k + 2] : 0);
    setMbpU32(view, l + 28, hasAsk ? s.asks[3 * k + 2] : 0);
  }
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
