import type { Writable } from 'node:stream';
import { FLUSH_BYTES, type ByteChunks } from '../encode/bytes.js';
import type { InstrumentInfo, RangeQuery, SnapshotStore } from '../store/port.js';
import { FAILURE_KINDS, INTERNAL, isUnavailable } from '../errors.js';
import { Schedule, pacedSeconds, pageSizeFor, sleepUnlessAborted, type Pace } from './pacing.js';
import { FrameWriter } from '../encode/frames.js';
import { rowKeyText } from './requests.js';

/** A replay: which rows (as the store reads a range), at what depth and pace. */
export interface ReplayRequest extends Pick<RangeQuery, 'symbols' | 'from' | 'to' | 'after' | 'publisherId'> {
  depth: number;
  /** Frames per second; 0 = unpaced. */
  rate: number;
  /** Relative to recorded time (1 = as recorded); 0 = unpaced. Ignored when rate > 0. */
  speed: number;
}

export interface ReplayCounts {
  frames: number;
  bytes: number;
  /** Why the reads failed part-way, if they did: the client was sent an error line; the caller logs this. */
  failure?: unknown;
}

/** What a replay tells its client when the store fails part-way, in place of the end marker. */
export interface ErrorLine {
  type: 'error';
  /** The HTTP status the same failure gets as an answer (503 for the store, 500 for a defect). */
  status: number;
  code: string;
  detail: string;
  frames: number;
}

/** What a replay told its client last: a stream without this line was cut. */
export interface EndMarker {
  type: 'end';
  complete: boolean;
  frames: number;
  first_ts_recv: string | null;
  last_ts_recv: string | null;
}


/** The first and last ts_recv a range can hold: its bounds, or where the symbols' data starts and ends. */
export function rangeSpan(instruments: InstrumentInfo[], range: Pick<RangeQuery, 'symbols' | 'from' | 'to'>): { start: bigint; end: bigint } {
  const wanted = range.symbols.length > 0 ? new Set(range.symbols) : null;
  const mine = instruments.filter((i) => i.symbol !== null && (wanted === null || wanted.has(i.symbol)));
  const first = mine.reduce<bigint | null>((a, i) => (a === null || i.firstTsRecv < a ? i.firstTsRecv : a), null) ?? 0n;
  const last = mine.reduce<bigint | null>((a, i) => (a === null || i.lastTsRecv > a ? i.lastTsRecv : a), null) ?? 0n;
  return { start: range.from ?? first, end: range.to ?? last };
}

/**
 * What a paced replay will send, and about how long that takes at its pace:
 * frames / rate, or the recorded time it spans / speed. Said up front (the
 * header line, `booktape replay`, the server's banner), so that a replay
 * that takes a while is not taken for one that hangs.
 */
export async function replayPlan(
  store: SnapshotStore, range: Pick<RangeQuery, 'symbols' | 'from' | 'to' | 'after' | 'publisherId'>, pace: Pace,
): Promise<{ frames: number; seconds: number }> {
  const frames = await store.countRange(range);
  if (pace.rate > 0) return { frames, seconds: pacedSeconds(frames, 0n, pace) };
  const { start, end } = rangeSpan(await store.listInstruments(), range);
  const from = range.after !== undefined && range.after.tsRecv > start ? range.after.tsRecv : start;
  return { frames, seconds: pacedSeconds(frames, end - from, pace) };
}

/**
 * Streams a replay as NDJSON into `out` (an HTTP response or a TCP socket):
 * a header line, one line per snapshot in (ts_recv, key) order read page by
 * page from the store, then an end marker with the counts, or an error line
 * if the store fails part-way. Writes wait for
 * 'drain', so a slow client holds at most one chunk here; `signal` (aborted
 * when the client goes away) stops the reads at once.
 */
export async function streamReplay(
  store: SnapshotStore,
  req: ReplayRequest,
  out: Writable,
  signal: AbortSignal,
  onChunk?: (frames: number, bytes: number) => void,
): Promise<ReplayCounts> {
  const plan = req.rate > 0 || req.speed > 0 ? await replayPlan(store, req, req) : null;
  const writer = new FrameWriter(FLUSH_BYTES + 16 * 1024);
  const range = { symbols: req.symbols, from: req.from, to: req.to, after: req.after, publisherId: req.publisherId, pageSize: pageSizeFor(req) };
  return streamLines({
    header: {
      type: 'header', symbols: req.symbols, from: req.from?.toString() ?? null, to: req.to?.toString() ?? null,
      after: req.after ? rowKeyText(req.after) : null, depth: Number.isFinite(req.depth) ? req.depth : null,
      publisher_id: req.publisherId ?? null, rate: req.rate || null, speed: req.speed || null,
      frames: plan?.frames ?? null, seconds: plan?.seconds ?? null,
      fields: 'bids/asks are [price, size, count], best first; prices are decimal strings; ts_* are ns since the epoch',
    },
    writer,
    batches: store.readRange(range, signal),
    size: (batch) => batch.length,
    tsRecv: (batch, i) => batch[i].tsRecv,
    write: (batch, i) => writer.frame(batch[i], req.depth, true),
  }, req, out, signal, onChunk);
}

/** What streamLines writes: a header object, then a line per item of each batch, by `write`. */
export interface LineSource<B> {
  header: object;
  writer: ByteChunks;
  batches: AsyncIterable<B>;
  size(batch: B): number;
  tsRecv(batch: B, i: number): bigint;
  /** Appends item i of `batch` to `writer` as one line. */
  write(batch: B, i: number): void;
}

/**
 * The NDJSON replay both schemas share: the header line, the items' lines
 * in chunks of about FLUSH_BYTES (paced: an item waits until it is due),
 * then an end marker with the counts, or an error line in its place when the
 * reads fail part-way.
 */
export async function streamLines<B>(
  source: LineSource<B>, pace: Pace, out: Writable, signal: AbortSignal, onChunk?: (frames: number, bytes: number) => void,
): Promise<ReplayCounts> {
  const counts: ReplayCounts = { frames: 0, bytes: 0 };
  const schedule = new Schedule(pace);
  const paced = schedule.paced;
  // Lines are written into chunks of about FLUSH_BYTES; the writer starts a
  // fresh chunk when one is handed to `out`, which may queue it.
  const writer = source.writer;
  let pendingFrames = 0;
  const flush = async () => {
    if (writer.length === 0) return;
    counts.bytes += writer.length;
    onChunk?.(pendingFrames, writer.length);
    pendingFrames = 0;
    await writer.flushTo(out, signal);
  };
  const line = (json: string) => writer.text(`${json}\n`);

  line(JSON.stringify(source.header));
  await flush();

  let firstTs: bigint | null = null;
  let lastTs: bigint | null = null;
  try {
    replay: for await (const batch of source.batches) {
      for (let i = 0, n = source.size(batch); i < n; i++) {
        if (signal.aborted) break replay;
        const ts = source.tsRecv(batch, i);
        if (firstTs === null) firstTs = ts;
        lastTs = ts;
        if (paced) {
          const lead = schedule.lead(counts.frames, ts);
          if (lead > 1) {
            await flush();
            if (!(await sleepUnlessAborted(lead, signal))) break replay;
          }
        }
        source.write(batch, i);
        pendingFrames++;
        counts.frames++;
        if (writer.length >= FLUSH_BYTES || (paced && pendingFrames >= 256)) await flush();
      }
    }
  } catch (err) {
    if (signal.aborted) return counts;
    // The reads failed part-way (the store): the status line went out with
    // the header, so the client is told why in band, in place of the end marker.
    counts.failure = err;
    line(JSON.stringify(errorLine(err, counts.frames)));
    await flush().catch(() => undefined);
    return counts;
  }
  const complete = !signal.aborted;
  const end: EndMarker = {
    type: 'end', complete, frames: counts.frames,
    first_ts_recv: firstTs?.toString() ?? null, last_ts_recv: lastTs?.toString() ?? null,
  };
  if (complete) {
    line(JSON.stringify(end));
    await flush();
  }
  return counts;
}

/** A store's failure says what to do (it is 'unavailable'); anything else is ours, and only its code is shown. */
function errorLine(err: unknown, frames: number): ErrorLine {
  if (isUnavailable(err)) return { type: 'error', status: err.traits.httpStatus, code: err.code, detail: String(err.message), frames };
  return { type: 'error', status: FAILURE_KINDS.internal.httpStatus, code: INTERNAL, detail: 'an unexpected error stopped the replay; it has been logged', frames };
}
