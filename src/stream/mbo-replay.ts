import type { Writable } from 'node:stream';
import { bytesOf } from '../encode/bytes.js';
import { MboTextWriter } from '../encode/mbo.js';
import type { MboChunk, SnapshotStore } from '../store/port.js';
import { pageSizeFor } from './pacing.js';
import { streamLines, type ReplayCounts, type ReplayRequest } from './replay.js';
import { rowKeyText } from './requests.js';

/**
 * A replay of the stored MBO records themselves (schema=mbo), as NDJSON: the
 * header line, then one line per record in key order in Databento's MBO JSON
 * shape, as `booktape decode` prints it (header flattened, u64/i64 as decimal
 * strings, prices integers in 1e-9 units), with `symbol` and `sub_sequence`
 * last (the record's key, for `after`), then the end marker. Paced by
 * records per second or by ts_recv, as snapshot replays are.
 */
export function streamMboReplay(
  store: SnapshotStore,
  req: Omit<ReplayRequest, 'depth'>,
  out: Writable,
  signal: AbortSignal,
  onChunk?: (records: number, bytes: number) => void,
): Promise<ReplayCounts> {
  const writer = new MboTextWriter('json');
  // A symbol's JSON bytes, made once per symbol.
  const symbols = new Map<string | null, Uint8Array>();
  const symbolJson = (s: string | null) => {
    let bytes = symbols.get(s);
    if (bytes === undefined) symbols.set(s, (bytes = bytesOf(JSON.stringify(s))));
    return bytes;
  };
  const range = { symbols: req.symbols, from: req.from, to: req.to, after: req.after, publisherId: req.publisherId, pageSize: pageSizeFor(req) };
  return streamLines<MboChunk>({
    header: {
      type: 'header', schema: 'mbo', symbols: req.symbols, from: req.from?.toString() ?? null, to: req.to?.toString() ?? null,
      after: req.after ? rowKeyText(req.after) : null, publisher_id: req.publisherId ?? null, rate: req.rate || null, speed: req.speed || null,
      fields: 'one MBO record a line in Databento\'s JSON (as booktape decode prints it: u64/i64 as decimal strings, prices in 1e-9 units), then symbol and sub_sequence',
    },
    writer,
    batches: store.readMboRange(range, signal),
    size: (chunk) => chunk.events.length,
    tsRecv: (chunk, i) => chunk.events.tsRecv(i),
    write: (chunk, i) => writer.record(chunk.events.record(i), { symbol: symbolJson(chunk.symbols[i]), subSequence: chunk.events.subSequence[i] }),
  }, req, out, signal, onChunk);
}

