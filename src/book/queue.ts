import type { BookSide } from './side.js';

/** One resting order as its level's queue holds it. */
export interface QueuedOrder {
  orderId: bigint;
  size: number;
  /** ts_recv (ns) of the record that gave it its place: its add, or the modify that last lost it priority. */
  queuedAt: bigint;
  /** Orders ahead of it in its level's queue: 0 is the front. */
  position: number;
  /** Summed size of the orders ahead of it. */
  sizeAhead: number;
}

/** A level with its queue in priority order. A top-of-book (F_TOB) level has a size and no orders. */
export interface LevelQueue {
  /** 1e-9 units. */
  price: number;
  size: number;
  count: number;
  orders: QueuedOrder[];
}

/** The top `depth` levels of a side, best first, each with its resting orders front first. */
export function levelQueues(side: BookSide, depth: number): LevelQueue[] {
  const out: LevelQueue[] = [];
  for (let i = 0; i < depth; i++) {
    const level = side.nth(i);
    if (level === undefined) break;
    const orders: QueuedOrder[] = [];
    let sizeAhead = 0;
    for (let o = level.head; o !== null; o = o.next) {
      orders.push({ orderId: o.id, size: o.size, queuedAt: o.queuedAt, position: orders.length, sizeAhead });
      sizeAhead += o.size;
    }
    out.push({ price: level.price, size: level.size, count: level.count, orders });
  }
  return out;
}
