import { u64Of } from '../u64.js';
import { Book } from './book.js';
import { CHECKPOINT_KINDS, CheckpointKind, type CheckpointBuffer } from './checkpoint-buffer.js';
import { ASK, BID } from './level.js';
import type { MboEventBuffer } from './event-buffer.js';

/** One row of a checkpoint after its book row: a resting order, or a top-of-book level. */
export interface CheckpointEntry {
  kind: 'order' | 'tob';
  side: 'B' | 'A';
  /** 1e-9 units. */
  price: number;
  size: number;
  /** 0n on a tob row. */
  orderId: bigint;
  /** ts_recv at which the order took its place in its queue (0n on a tob row). */
  queuedAt: bigint;
}

/** A book's L3 checkpoint, whole: the key of the record after which it was taken, and its entries in rank order. */
export interface Checkpoint {
  instrumentId: number;
  publisherId: number;
  tsRecv: bigint;
  sequence: number;
  subSequence: number;
  entries: CheckpointEntry[];
}

/** The key of the record a checkpoint or an event sits at, in a book: (ts_recv, sequence, sub_sequence). */
export interface BookPosition {
  tsRecv: bigint;
  sequence: number;
  subSequence: number;
}

/** Orders positions in one book: by ts_recv, then sequence, then sub_sequence (the stores' key order). */
export function comparePositions(a: BookPosition, b: BookPosition): number {
  if (a.tsRecv !== b.tsRecv) return a.tsRecv < b.tsRecv ? -1 : 1;
  return a.sequence - b.sequence || a.subSequence - b.subSequence;
}

/** The checkpoints in a buffer (as the engine captured them), whole ones only. */
export function checkpointsOf(buf: CheckpointBuffer): Checkpoint[] {
  const out: Checkpoint[] = [];
  for (let i = 0; i < buf.length; ) {
    const n = buf.size(i);
    const entries: CheckpointEntry[] = [];
    for (let k = i + 1; k <= i + n && k < buf.length; k++) {
      entries.push({
        kind: CHECKPOINT_KINDS[buf.kind(k)] as 'order' | 'tob',
        side: String.fromCharCode(buf.side(k)) as 'B' | 'A',
        price: buf.price(k),
        size: buf.size(k),
        orderId: buf.kind(k) === CheckpointKind.order ? u64Of(buf.orderIdHi(k), buf.orderIdLo(k)) : 0n,
        queuedAt: buf.kind(k) === CheckpointKind.order ? u64Of(buf.queuedHi(k), buf.queuedLo(k)) : 0n,
      });
    }
    if (entries.length === n) {
      out.push({
        instrumentId: buf.instrumentId(i), publisherId: buf.publisherId(i), tsRecv: buf.tsRecv(i),
        sequence: buf.sequence(i), subSequence: buf.subSequence(i), entries,
      });
    }
    i += 1 + n;
  }
  return out;
}

/**
 * The book a checkpoint holds (or an empty one, with none), with `events`
 * applied after it: the records of this book that follow the checkpoint, in
 * key order. Events go through Book.apply, the engine's own, so the book is
 * the one the engine had, order for order, queue place for queue place.
 */
export function rebuildBook(instrumentId: number, publisherId: number, checkpoint: Checkpoint | null, events: MboEventBuffer | null): Book {
  const book = new Book(instrumentId, publisherId);
  if (checkpoint !== null) {
    for (const e of checkpoint.entries) {
      const side = e.side === 'B' ? BID : ASK;
      if (e.kind === 'tob') book.restoreTob(side, e.price, e.size);
      else book.restoreOrder(side, e.price, e.size, Number(e.orderId >> 32n), Number(e.orderId & 0xffffffffn), Number(e.queuedAt >> 32n), Number(e.queuedAt & 0xffffffffn));
    }
    book.restoreLast(checkpoint.tsRecv, checkpoint.sequence);
  }
  if (events !== null) for (let i = 0; i < events.length; i++) book.apply(events.record(i));
  return book;
}
