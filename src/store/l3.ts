import { Book } from '../book/book.js';
import { MboEventBuffer, type MboEventFields } from '../book/event-buffer.js';
import { comparePositions, rebuildBook, type BookPosition, type Checkpoint, type CheckpointEntry } from '../book/l3.js';
import type { BookRef, L3Reads } from './port.js';

/** The latest u64 instant: "at" left out means the latest. */
export const LATEST = 0xffffffffffffffffn;

/** A checkpoint's book row: its key and how many rows follow it. */
export interface CheckpointHead extends BookPosition {
  rows: number;
}

/**
 * The latest whole checkpoint among a book's heads: heads in any order, the
 * entries of one read on demand. A checkpoint whose rows are not all stored
 * (a write cut short) is passed over for the one before it.
 */
export async function wholeCheckpoint(
  book: BookRef, heads: CheckpointHead[], entriesOf: (head: CheckpointHead) => Promise<CheckpointEntry[]>,
): Promise<Checkpoint | null> {
  const latestFirst = heads.slice().sort((a, b) => comparePositions(b, a));
  for (const head of latestFirst) {
    const entries = await entriesOf(head);
    if (entries.length === head.rows) {
      return { instrumentId: book.instrumentId, publisherId: book.publisherId, tsRecv: head.tsRecv, sequence: head.sequence, subSequence: head.subSequence, entries };
    }
  }
  return null;
}

/** Stored events as a buffer in key order, those at or before `after` left out. */
export function eventsAfter(rows: MboEventFields[], after: BookPosition | null): MboEventBuffer {
  const kept = after === null ? rows.slice() : rows.filter((r) => comparePositions(r, after) > 0);
  kept.sort(comparePositions);
  const out = new MboEventBuffer(kept.length);
  for (const r of kept) out.push(r);
  return out;
}

/** The L3 book of `symbol` at `at`: its latest checkpoint at or before `at`, with its events since replayed. */
export async function ordersAt(reads: L3Reads, symbol: string, at: bigint | undefined, publisherId?: number): Promise<{ ref: BookRef; book: Book } | null> {
  const ref = await reads.latestBook(symbol, at, publisherId);
  if (ref === null) return null;
  const until = at ?? LATEST;
  const checkpoint = await reads.checkpoint(ref, until);
  const events = await reads.events(ref, checkpoint, until);
  return { ref, book: rebuildBook(ref.instrumentId, ref.publisherId, checkpoint, events) };
}

/** Where an order rests after one of its events; null once it has left the book (or was never in it). */
export interface RestingOrder {
  side: 'B' | 'A';
  /** 1e-9 units. */
  price: number;
  size: number;
  /** Orders ahead of it in its level: 0 is the front. */
  position: number;
  sizeAhead: number;
  /** ts_recv at which it took its current place. */
  queuedAt: bigint;
}

/** One event on an order, and where the order rests after it. */
export interface OrderEvent {
  book: BookRef;
  /** The record, as stored. */
  event: MboEventFields;
  resting: RestingOrder | null;
}

/**
 * Every event on order `orderId` in the books of `symbol`, in key order per
 * book, each with where the order rests after it: the book is rebuilt from
 * the checkpoint before the order's first event and replayed through its
 * last, so the work is the book's events over the order's life.
 */
export async function orderLife(reads: L3Reads, orderId: bigint, symbol: string, publisherId?: number): Promise<OrderEvent[]> {
  const out: OrderEvent[] = [];
  for (const { book: ref, first, last } of await reads.orderBooks(orderId, symbol, publisherId)) {
    // Strictly before the first event's instant: a checkpoint at that instant may follow the event.
    const checkpoint = first > 0n ? await reads.checkpoint(ref, first - 1n) : null;
    const events = await reads.events(ref, checkpoint, last);
    const book = rebuildBook(ref.instrumentId, ref.publisherId, checkpoint, null);
    for (let i = 0; i < events.length; i++) {
      const r = events.record(i);
      book.apply(r);
      if (r.orderId !== orderId) continue;
      out.push({ book: ref, event: fieldsOf(events, i), resting: restingOf(book, orderId) });
    }
  }
  return out;
}

function restingOf(book: Book, orderId: bigint): RestingOrder | null {
  const order = book.order(orderId);
  if (order === undefined) return null;
  const queue = book.queuePosition(orderId)!;
  return {
    side: order.side === 0 ? 'B' : 'A', price: order.price, size: order.size,
    position: queue.ordersAhead, sizeAhead: queue.sizeAhead, queuedAt: order.queuedAt,
  };
}

/** Record i of a buffer as fields. */
export function fieldsOf(b: MboEventBuffer, i: number): MboEventFields {
  const r = b.record(i);
  return {
    tsRecv: r.tsRecv, tsEvent: r.tsEvent, publisherId: r.publisherId, instrumentId: r.instrumentId, action: r.action, side: r.side,
    price: r.priceRaw, size: r.size, channelId: r.channelId, orderId: r.orderId, flags: r.flags, tsInDelta: r.tsInDelta,
    sequence: r.sequence, subSequence: b.subSequence[i],
  };
}
