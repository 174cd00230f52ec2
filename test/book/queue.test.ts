import { describe, expect, it } from 'vitest';
import { Flag } from '../../src/dbn/index.js';
import { levelQueues, checkBook } from '../../src/book/index.js';
import { bookOrdersToJson } from '../../src/encode/book-json.js';
import { add, cancel, modify, rec, run } from './records.js';

/** [order id, size, queued-at ts_recv, position, size ahead] per order of each level, best first. */
const queues = (b: ReturnType<typeof run>['book'], side: 'B' | 'A', depth = 10) =>
  levelQueues(side === 'B' ? b.bids : b.asks, depth).map((l) => [l.price / 1e9, l.orders.map((o) => [Number(o.orderId), o.size, o.queuedAt, o.position, o.sizeAhead])]);

describe("a level's queue: orders in priority order with the ts_recv of their place", () => {
  it('adds queue in arrival order, each stamped with its own ts_recv; position and size ahead count from the front', () => {
    const a = add(1, 'B', 10, 5), b = add(2, 'B', 10, 3), c = add(3, 'B', 9.99, 1);
    const { book } = run([a, b, c]);
    expect(queues(book, 'B')).toEqual([
      [10, [[1, 5, a.tsRecv, 0, 0], [2, 3, b.tsRecv, 1, 5]]],
      [9.99, [[3, 1, c.tsRecv, 0, 0]]],
    ]);
  });

  it('a modify that keeps priority (size down, unchanged) keeps the place and its ts_recv; one that loses it (size up, new price) takes a new ts_recv at the back', () => {
    const a = add(1, 'A', 10, 5), b = add(2, 'A', 10, 5), c = add(3, 'A', 10, 5);
    const down = modify(1, 'A', 10, 4), same = modify(2, 'A', 10, 5), up = modify(3, 'A', 10, 6);
    const { book } = run([a, b, c, down, same, up]);
    expect(queues(book, 'A')).toEqual([[10, [[1, 4, a.tsRecv, 0, 0], [2, 5, b.tsRecv, 1, 4], [3, 6, up.tsRecv, 2, 9]]]]);
    const moved = modify(1, 'A', 10.01, 4);
    const after = run([a, b, c, down, same, up, moved]).book;
    expect(queues(after, 'A')).toEqual([[10, [[2, 5, b.tsRecv, 0, 0], [3, 6, up.tsRecv, 1, 5]]], [10.01, [[1, 4, moved.tsRecv, 0, 0]]]]);
  });

  it('a partial fill (a partial cancel after T and F) keeps the place and ts_recv; the full one removes the order', () => {
    const a = add(1, 'B', 10, 5), b = add(2, 'B', 10, 2);
    const { book } = run([
      a, b,
      rec({ action: 'T', side: 'A', price: 10_000_000_000n, size: 3, flags: 0 }),
      rec({ action: 'F', side: 'B', orderId: 1n, price: 10_000_000_000n, size: 3, flags: 0 }),
      cancel(1, 'B', 10, 3),
    ]);
    expect(queues(book, 'B')).toEqual([[10, [[1, 2, a.tsRecv, 0, 0], [2, 2, b.tsRecv, 1, 2]]]]);
    const done = run([a, b, cancel(1, 'B', 10, 5)]).book;
    expect(queues(done, 'B')).toEqual([[10, [[2, 2, b.tsRecv, 0, 0]]]]);
  });

  it('a cancel of an unknown order changes no queue; a modify of one queues it at the back as an add', () => {
    const a = add(1, 'B', 10, 5);
    const m = modify(9, 'B', 10, 2);
    const { book } = run([a, cancel(7, 'B', 10, 5), m]);
    expect(queues(book, 'B')).toEqual([[10, [[1, 5, a.tsRecv, 0, 0], [9, 2, m.tsRecv, 1, 5]]]]);
    expect(book.anomalies.cancel_unknown).toBe(1);
  });

  it('a duplicate add replaces the order: it queues again at the back with the new ts_recv', () => {
    const a = add(1, 'B', 10, 5), b = add(2, 'B', 10, 1), again = add(1, 'B', 10, 4);
    const { book } = run([a, b, again]);
    expect(queues(book, 'B')).toEqual([[10, [[2, 1, b.tsRecv, 0, 0], [1, 4, again.tsRecv, 1, 1]]]]);
  });

  it('R clears every queue; orders added after it queue afresh', () => {
    const after = add(3, 'A', 11, 1);
    const { book } = run([add(1, 'B', 10, 5), add(2, 'A', 11, 5), rec({ action: 'R', side: 'N' }), after]);
    expect(queues(book, 'B')).toEqual([]);
    expect(queues(book, 'A')).toEqual([[11, [[3, 1, after.tsRecv, 0, 0]]]]);
  });

  it('records of one packet (no F_LAST until the last) that share a ts_recv queue in record order, all with that ts_recv', () => {
    const a = add(1, 'B', 10, 5, 0);
    const b = { ...add(2, 'B', 10, 1, 0), tsRecv: a.tsRecv, sequence: a.sequence };
    const c = { ...add(3, 'B', 10, 2, Flag.LAST), tsRecv: a.tsRecv, sequence: a.sequence };
    const { book } = run([a, b, c]);
    expect(queues(book, 'B')).toEqual([[10, [[1, 5, a.tsRecv, 0, 0], [2, 1, a.tsRecv, 1, 5], [3, 2, a.tsRecv, 2, 6]]]]);
  });

  it('a top-of-book publisher (F_TOB) has levels with a size and no orders; an order arriving at its price replaces it', () => {
    const tob = Flag.LAST | Flag.TOB;
    const { book } = run([add(0, 'B', 10, 5, tob), add(0, 'A', 10.05, 3, tob)]);
    expect(queues(book, 'B')).toEqual([[10, []]]);
    expect(levelQueues(book.bids, 10)[0]).toMatchObject({ size: 5, count: 0 });
    const real = add(4, 'A', 10.05, 2);
    const replaced = run([add(0, 'A', 10.05, 3, tob), real]).book;
    expect(queues(replaced, 'A')).toEqual([[10.05, [[4, 2, real.tsRecv, 0, 0]]]]);
    expect(checkBook(replaced)).toEqual([]);
  });

  it('depth limits the levels, not the orders of a level', () => {
    const { book } = run([add(1, 'B', 10, 1), add(2, 'B', 10, 1), add(3, 'B', 9.99, 1)]);
    expect(queues(book, 'B', 1)).toHaveLength(1);
    expect(queues(book, 'B', 1)[0][1]).toHaveLength(2);
  });

  it('the JSON gives ids above 2^53 and instants as exact decimal strings, beside the book JSON fields', () => {
    const id = (1n << 63n) + 5n;
    const a = add(id, 'A', 10.5, 7);
    const { book } = run([a]);
    const json = bookOrdersToJson(book, 'TST', 10);
    expect(json.asks).toEqual([{ price: '10.500000000', size: 7, count: 1, orders: [{ order_id: id.toString(), size: 7, ts_recv: a.tsRecv.toString(), position: 0, size_ahead: 0 }] }]);
    expect(json).toMatchObject({ symbol: 'TST', orders: 1, ask_levels: 1, bid_levels: 0, bids: [] });
  });
});
