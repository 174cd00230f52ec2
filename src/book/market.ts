import { RType } from '../dbn/constants.js';
import { RecordCounts, type RecordBatch } from '../dbn/framing.js';
import { MboView } from '../dbn/mbo.js';
import { Anomalies } from './anomalies.js';
import { Book } from './book.js';
import { SnapshotBuffer } from './snapshot-buffer.js';
import { TradeBuffer } from './trade-buffer.js';
import { MboEventBuffer } from './event-buffer.js';
import { CheckpointBuffer } from './checkpoint-buffer.js';
import type { DepthSnapshot } from './snapshot.js';
import { HeaderOffset } from '../dbn/layout.js';

export interface SnapshotPolicy {
  /** Levels per side; 0 takes no snapshots. */
  depth: number;
  /**
   * 0: a snapshot after every F_LAST. Otherwise an interval in ns: at most one
   * snapshot per book per interval, taken at the first F_LAST at or after each
   * interval boundary (by ts_recv), and only when the top `depth` levels
   * differ from the last snapshot emitted for that book.
   */
  intervalNs: number;
  /** Also capture trades (T records) into `trades`. */
  trades?: boolean;
  /** Also capture every MBO record into `events`, and L3 checkpoints into `checkpoints`. */
  l3?: CheckpointPolicy;
}

/**
 * When a book's L3 checkpoint is taken: after its first record, then at the
 * first F_LAST once it has had `events` records since its last one (or as
 * many as it has resting orders, if more: a checkpoint never outweighs the
 * events it saves replaying), or once `everyNs` of ts_recv has passed.
 */
export interface CheckpointPolicy {
  everyNs: number;
  events: number;
}

const T = 84;

/** Whether `book`, at an F_LAST at `ts` (approximate ns), is due a checkpoint (CheckpointPolicy). */
function checkpointDue(book: Book, ts: number, policy: CheckpointPolicy): boolean {
  const n = book.eventsSinceCheckpoint;
  return (n >= policy.events && n >= book.orders.size) || ts - book.checkpointedAt >= policy.everyNs;
}
const RECENT_BITS = 8;
const RECENT_BOOKS = 1 << RECENT_BITS;

/** Where one book's interval sampling stands: its bucket and last emitted row. */
interface SamplerState {
  bucket: number;
  last: SnapshotBuffer;
}

/**
 * Routes MBO records to one Book per (instrument_id, publisher_id) and
 * captures depth snapshots per the policy into `snapshots`. Other rtypes are
 * skipped and counted.
 */
export class Market {
  readonly books = new Map<number, Book>();
  readonly counts = new RecordCounts();
  /** Snapshots captured since the caller last cleared it. */
  readonly snapshots: SnapshotBuffer;
  /** Trades captured since the caller last cleared it (when the policy asks). */
  readonly trades: TradeBuffer;
  /** MBO records and L3 checkpoints captured since the caller last cleared them (when the policy asks for l3). */
  readonly events: MboEventBuffer;
  readonly checkpoints: CheckpointBuffer;
  /** Set when `apply` met a record later than its `until`. */
  reachedUntil = false;
  /** Called after each record when verifying; throws to stop at the first bad state. */
  afterRecord: ((book: Book, r: MboView) => void) | null = null;
  private readonly sampling = new Map<Book, SamplerState>();
  private readonly cursor = new MboView();
  /**
   * Books by a hash of (instrument, publisher), checked on use: most records
   * find their book here rather than in the Map, whose lookup is the larger
   * part of routing a record when books interleave, as they do in real files.
   */
  private readonly recent: Array<Book | null> = new Array<Book | null>(RECENT_BOOKS).fill(null);

  constructor(readonly policy: SnapshotPolicy = { depth: 10, intervalNs: 0 }, snapshotCapacity = 4096) {
    this.snapshots = new SnapshotBuffer(Math.max(1, policy.depth), snapshotCapacity);
    this.trades = new TradeBuffer(policy.trades ? snapshotCapacity : 1);
    this.events = new MboEventBuffer(policy.l3 ? snapshotCapacity : 1);
    this.checkpoints = new CheckpointBuffer(policy.l3 ? snapshotCapacity : 1);
  }

  /** Whether a capture buffer is full: drain them all before applying more. */
  get full(): boolean {
    return this.snapshots.full || this.trades.full || this.events.full || this.checkpoints.full;
  }

  /** Whether anything is captured. */
  get captured(): boolean {
    return this.snapshots.length > 0 || this.trades.length > 0 || this.events.length > 0 || this.checkpoints.length > 0;
  }

  /** Empties every capture buffer. */
  clearCaptured(): void {
    this.snapshots.clear();
    this.trades.clear();
    this.events.clear();
    this.checkpoints.clear();
  }

  book(instrumentId: number, publisherId: number): Book {
    const slot = (Math.imul(instrumentId, 0x9e3779b1) ^ Math.imul(publisherId, 0x85ebca6b)) >>> (32 - RECENT_BITS);
    const hit = this.recent[slot];
    if (hit !== null && hit.instrumentId === instrumentId && hit.publisherId === publisherId) return hit;
    const key = instrumentId * 65536 + publisherId;
    let book = this.books.get(key);
    if (book === undefined) {
      book = new Book(instrumentId, publisherId);
      this.books.set(key, book);
    }
    this.recent[slot] = book;
    return book;
  }

  /**
   * The hot loop. Applies records of `b` from offset `from` and returns the
   * offset where it stopped: the batch end, the record after the one that
   * filled the snapshot or trade buffer (drain them, then call again from there), or a
   * record with ts_recv later than `until` (then `reachedUntil` is set).
   */
  apply(b: RecordBatch, from: number, until?: bigint): number {
    const r = this.cursor;
    const view = b.view;
    const snapshots = this.snapshots;
    const takeSnapshots = this.policy.depth > 0;
    const sampled = this.policy.intervalNs > 0;
    const trades = this.policy.trades === true ? this.trades : null;
    const l3 = this.policy.l3;
    const events = l3 === undefined ? null : this.events;
    let o = from;
    while (o < b.end) {
      const next = o + view.getUint8(o) * 4;
      const rtype = view.getUint8(o + HeaderOffset.rtype);
      if (rtype !== RType.MBO) {
        this.counts.addOther(rtype);
        o = next;
        continue;
      }
      r.at(view, o);
      if (until !== undefined && r.tsRecv > until) {
        this.reachedUntil = true;
        return o;
      }
      this.counts.mbo++;
      const book = this.book(r.instrumentId, r.publisherId);
      const last = book.apply(r);
      if (this.afterRecord !== null) this.afterRecord(book, r);
      o = next;
      if (trades !== null && r.action === T) trades.capture(r, book);
      if (last && takeSnapshots) {
        if (sampled) this.sample(book, r);
        else snapshots.capture(book, r);
      }
      if (events !== null) {
        const sub = events.capture(r, book);
        book.eventsSinceCheckpoint++;
        if (book.checkpointedAt < 0 || (last && checkpointDue(book, r.tsRecvApprox, l3!))) {
          this.checkpoints.capture(book, r, sub);
          book.checkpointedAt = r.tsRecvApprox;
          book.eventsSinceCheckpoint = 0;
        }
        if (events.full || this.checkpoints.full) return o;
      }
      if (snapshots.full || (trades !== null && trades.full)) return o;
    }
    return o;
  }

  private sample(book: Book, r: MboView): void {
    const bucket = Math.floor(r.tsRecvApprox / this.policy.intervalNs);
    let state = this.sampling.get(book);
    if (state === undefined) {
      state = { bucket: -1, last: new SnapshotBuffer(this.snapshots.depth, 1) };
      this.sampling.set(book, state);
    }
    if (bucket === state.bucket) return;
    state.bucket = bucket;
    const row = this.snapshots.capture(book, r);
    if (state.last.length === 1 && this.snapshots.sameLevels(row, state.last, 0)) {
      this.snapshots.dropLast();
      return;
    }
    state.last.copyRow(this.snapshots, row);
  }

  /**
   * Convenience for small inputs and tests: applies a whole batch and returns
   * every snapshot as an object.
   */
  applyBatch(b: RecordBatch): DepthSnapshot[] {
    const out: DepthSnapshot[] = [];
    for (let o = b.start; o < b.end; ) {
      o = this.apply(b, o);
      for (let i = 0; i < this.snapshots.length; i++) out.push(this.snapshots.row(i));
      this.clearCaptured();
    }
    return out;
  }

  /** Anomalies summed over all books. */
  anomalies(): Anomalies {
    const total = new Anomalies();
    for (const b of this.books.values()) total.add(b.anomalies);
    return total;
  }
}
