import { BooktapeError } from '../errors.js';
import type { Book } from './book.js';
import { ASK, BID, type Order } from './level.js';

/**
 * Checks every structural invariant of a book; returns the violations (empty
 * when sound). O(orders): for the verify mode and tests, not the hot path.
 *  - levels strictly ordered, best last; no empty non-TOB level; each level
 *    knows its place in its side's arrays
 *  - level size = sum of its orders' sizes, count = number of orders
 *  - every order has size > 0, sits in exactly one level (whose price is
 *    its price) on its own side, and is indexed; every indexed order is in
 *    a level
 *  - FIFO: priority stamps increase from head to tail
 */
export function checkBook(book: Book): string[] {
  const problems: string[] = [];
  const seen = new Set<Order>();
  for (const sideIndex of [BID, ASK] as const) {
    const side = book.sides[sideIndex];
    const name = sideIndex === BID ? 'bid' : 'ask';
    for (let i = 0; i < side.levels.length; i++) {
      const level = side.levels[i];
      if (level.index !== i || level.side !== side) problems.push(`${name} level ${i} records its place as ${level.index}`);
      if (i > 0) {
        const prev = side.levels[i - 1].price;
        const ordered = sideIndex === BID ? prev < level.price : prev > level.price;
        if (!ordered) problems.push(`${name} levels out of order at ${prev} then ${level.price}`);
      }
      if (level.tob) {
        // Snapshots read a TOB level's count as is: it must stay 0.
        if (level.head !== null || level.count !== 0) problems.push(`${name} TOB level ${level.price} holds orders`);
        continue;
      }
      if (level.count === 0) problems.push(`${name} level ${level.price} is empty but present`);
      let size = 0;
      let count = 0;
      let lastPriority = 0;
      let prev: Order | null = null;
      for (let o = level.head; o !== null; o = o.next) {
        count++;
        size += o.size;
        if (o.size <= 0) problems.push(`order ${o.id} has size ${o.size}`);
        if (o.side !== sideIndex) problems.push(`order ${o.id} of side ${o.side} sits on the ${name} side`);
        if (o.level !== level) problems.push(`order ${o.id} does not point back to its level`);
        if (o.prev !== prev) problems.push(`order ${o.id} has a broken prev link`);
        if (o.priority <= lastPriority) problems.push(`order ${o.id} breaks FIFO at ${name} ${level.price}`);
        if (book.orders.get(o.keyHi, o.keyLo) !== o) problems.push(`order ${o.id} is in a level but not indexed`);
        if (seen.has(o)) problems.push(`order ${o.id} is in two levels`);
        seen.add(o);
        lastPriority = o.priority;
        prev = o;
      }
      if (level.tail !== prev) problems.push(`${name} level ${level.price} has a stale tail`);
      if (size !== level.size) problems.push(`${name} level ${level.price} size ${level.size} != sum of orders ${size}`);
      if (count !== level.count) problems.push(`${name} level ${level.price} count ${level.count} != orders ${count}`);
    }
  }
  if (seen.size !== book.orders.size) problems.push(`${book.orders.size} orders indexed but ${seen.size} in levels`);
  return problems;
}

/** A broken book under --verify: a defect in the engine (or a file it cannot model), never a user's mistake. */
export class BookInvariantError extends BooktapeError {
  constructor(readonly problems: string[], where: string) {
    super('BOOK_INVARIANT', 'internal', `book invariant broken ${where}: ${problems.slice(0, 5).join('; ')}`);
  }
}
