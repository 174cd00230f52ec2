import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Flag, UNDEF_PRICE } from '../../src/dbn/index.js';
import { checkBook, packLevels } from '../../src/book/index.js';
import { KeyOrdinal } from '../../src/book/book.js';
import { PX, add, cancel, levels, modify, rec, run } from './records.js';
import { propertyRuns } from '../property.js';

const bids = (b: ReturnType<typeof run>['book'], d = 10) => levels(packLevels(b.bids, d));
const asks = (b: ReturnType<typeof run>['book'], d = 10) => levels(packLevels(b.asks, d));
const queue = (b: ReturnType<typeof run>['book'], side: 'B' | 'A', px: number) => {
  const level = (side === 'B' ? b.bids : b.asks).find(Number(PX(px)));
  const ids: string[] = [];
  for (let o = level?.head ?? null; o !== null; o = o.next) ids.push(String(o.id));
  return ids;
};

describe('A (add)', () => {
  it('appends to the back of its level; levels sort best first; size and count are kept', () => {
    const { book } = run([add(1, 'B', 10, 5), add(2, 'B', 10, 3), add(3, 'B', 10.01, 1), add(4, 'A', 10.03, 2), add(5, 'A', 10.02, 7)]);
    expect(bids(book)).toEqual([[10.01, 1, 1], [10, 8, 2]]);
    expect(asks(book)).toEqual([[10.02, 7, 1], [10.03, 2, 1]]);
    expect(queue(book, 'B', 10)).toEqual(['1', '2']);
    expect(checkBook(book)).toEqual([]);
  });

  it('an add whose id is live replaces the old order (duplicate_add)', () => {
    const { book } = run([add(1, 'B', 10, 5), add(2, 'B', 10, 1), add(1, 'A', 11, 4)]);
    expect(bids(book)).toEqual([[10, 1, 1]]);
    expect(asks(book)).toEqual([[11, 4, 1]]);
    expect(book.anomalies.duplicate_add).toBe(1);
    expect(checkBook(book)).toEqual([]);
  });

  it('F_TOB replaces the whole side with one level of count 0; UNDEF_PRICE empties it', () => {
    const tob = Flag.LAST | Flag.TOB;
    const { book, snapshots } = run([
      add(0, 'B', 10, 5, tob),
      add(0, 'B', 10.02, 9, tob),
      add(0, 'A', 10.05, 3, tob),
      rec({ action: 'A', side: 'A', price: UNDEF_PRICE, size: 0, flags: tob }),
    ]);
    expect(levels(snapshots[1].bids)).toEqual([[10.02, 9, 0]]);
    expect(levels(snapshots[2].asks)).toEqual([[10.05, 3, 0]]);
    expect(bids(book)).toEqual([[10.02, 9, 0]]);
    expect(asks(book)).toEqual([]);
    expect(checkBook(book)).toEqual([]);
  });

  it('F_TOB drops the live orders of the side it replaces: they are unknown afterwards', () => {
    const tob = Flag.LAST | Flag.TOB;
    const { book } = run([add(1, 'B', 10, 5), add(2, 'A', 11, 4), add(0, 'B', 10.01, 9, tob), cancel(1, 'B', 10, 5)]);
    expect(bids(book)).toEqual([[10.01, 9, 0]]);
    expect(asks(book)).toEqual([[11, 4, 1]]);
    expect(book.order(1n)).toBeUndefined();
    expect(book.orders.size).toBe(1);
    expect(book.anomalies.cancel_unknown).toBe(1);
    expect(checkBook(book)).toEqual([]);
  });

  it('a real order at a price held by a TOB level replaces that stale level', () => {
    const tob = Flag.LAST | Flag.TOB;
    const { book } = run([add(0, 'B', 10, 5, tob), add(1, 'B', 10, 2)]);
    expect(bids(book)).toEqual([[10, 2, 1]]);
    expect(checkBook(book)).toEqual([]);
  });

  it('an order modified to a price held by a TOB level replaces that stale level too, on either side', () => {
    const tob = Flag.LAST | Flag.TOB;
    // Order 1 moves onto the ask TOB level's price; order 2 changes side onto the bid TOB level's.
    const { book, snapshots } = run([
      add(0, 'A', 10.05, 7, tob), add(1, 'A', 10.06, 2), modify(1, 'A', 10.05, 3),
      add(0, 'B', 10, 5, tob), add(2, 'A', 10.07, 4), modify(2, 'B', 10, 1),
    ]);
    expect(levels(snapshots[2].asks)).toEqual([[10.05, 3, 1]]);
    expect(asks(book)).toEqual([[10.05, 3, 1]]);
    expect(bids(book)).toEqual([[10, 1, 1]]);
    expect(book.anomalies.side_mismatch).toBe(1);
    expect(checkBook(book)).toEqual([]);
  });

  it('side N, size 0 and UNDEF_PRICE adds are ignored and counted', () => {
    const { book } = run([
      rec({ action: 'A', orderId: 1n, side: 'N', price: PX(10), size: 1 }),
      add(2, 'B', 10, 0),
      rec({ action: 'A', orderId: 3n, side: 'B', price: UNDEF_PRICE, size: 1 }),
    ]);
    expect(book.orders.size).toBe(0);
    expect(book.anomalies.bad_side).toBe(1);
    expect(book.anomalies.zero_size_add).toBe(1);
    expect(book.anomalies.bad_price).toBe(1);
  });
});

describe('C (cancel)', () => {
  it('partial cancel keeps the order in place with less size', () => {
    const { book } = run([add(1, 'B', 10, 5), add(2, 'B', 10, 3), cancel(1, 'B', 10, 2)]);
    expect(bids(book)).toEqual([[10, 6, 2]]);
    expect(queue(book, 'B', 10)).toEqual(['1', '2']);
    expect(book.order(1n)!.size).toBe(3);
  });

  it('a full cancel removes the order and an emptied level', () => {
    const { book } = run([add(1, 'B', 10, 5), add(2, 'B', 9.99, 3), cancel(1, 'B', 10, 5)]);
    expect(bids(book)).toEqual([[9.99, 3, 1]]);
    expect(book.order(1n)).toBeUndefined();
    expect(book.anomalies.over_cancel).toBe(0); // exactly what was left: not an anomaly
    expect(checkBook(book)).toEqual([]);
  });

  it('cancel of an unknown id changes nothing (cancel_unknown)', () => {
    const { book } = run([add(1, 'B', 10, 5), cancel(99, 'B', 10, 5)]);
    expect(bids(book)).toEqual([[10, 5, 1]]);
    expect(book.anomalies.cancel_unknown).toBe(1);
  });

  it('cancelling more than is left removes the order (over_cancel)', () => {
    const { book } = run([add(1, 'A', 10, 5), cancel(1, 'A', 10, 8)]);
    expect(asks(book)).toEqual([]);
    expect(book.anomalies.over_cancel).toBe(1);
  });

  it('side and price mismatches are counted; the id is authoritative', () => {
    const { book } = run([add(1, 'A', 10, 5), cancel(1, 'B', 10.5, 2)]);
    expect(asks(book)).toEqual([[10, 3, 1]]);
    expect(book.anomalies.side_mismatch).toBe(1);
    expect(book.anomalies.price_mismatch).toBe(1);
  });
});

describe('M (modify)', () => {
  it('a modify of an unknown id is an add (modify_unknown)', () => {
    const { book } = run([add(1, 'B', 10, 1), modify(7, 'B', 10, 4)]);
    expect(queue(book, 'B', 10)).toEqual(['1', '7']);
    expect(bids(book)).toEqual([[10, 5, 2]]);
    expect(book.anomalies.modify_unknown).toBe(1);
  });

  it('a size decrease keeps the place in the queue', () => {
    const { book } = run([add(1, 'B', 10, 5), add(2, 'B', 10, 5), modify(1, 'B', 10, 2)]);
    expect(queue(book, 'B', 10)).toEqual(['1', '2']);
    expect(bids(book)).toEqual([[10, 7, 2]]);
    expect(book.queuePosition(2n)).toMatchObject({ sizeAhead: 2, ordersAhead: 1 });
  });

  it('a size increase sends the order to the back', () => {
    const { book } = run([add(1, 'B', 10, 5), add(2, 'B', 10, 5), modify(1, 'B', 10, 6)]);
    expect(queue(book, 'B', 10)).toEqual(['2', '1']);
    expect(bids(book)).toEqual([[10, 11, 2]]);
    expect(book.queuePosition(1n)).toMatchObject({ sizeAhead: 5, ordersAhead: 1 });
  });

  it('a price change moves the order to the back of the new level', () => {
    const { book } = run([add(1, 'A', 10, 5), add(2, 'A', 10.01, 1), modify(1, 'A', 10.01, 5)]);
    expect(asks(book)).toEqual([[10.01, 6, 2]]);
    expect(queue(book, 'A', 10.01)).toEqual(['2', '1']);
    expect(checkBook(book)).toEqual([]);
  });

  it('an unchanged modify keeps priority; a modify to size 0 removes the order', () => {
    const { book } = run([add(1, 'B', 10, 5), add(2, 'B', 10, 5), add(3, 'B', 10, 5), modify(1, 'B', 10, 5), modify(3, 'B', 10, 0)]);
    expect(queue(book, 'B', 10)).toEqual(['1', '2']);
    expect(book.anomalies.modify_to_zero).toBe(1);
  });

  it('a side change moves the order and is counted', () => {
    const { book } = run([add(1, 'B', 10, 5), modify(1, 'A', 10.1, 5)]);
    expect(bids(book)).toEqual([]);
    expect(asks(book)).toEqual([[10.1, 5, 1]]);
    expect(book.anomalies.side_mismatch).toBe(1);
    expect(checkBook(book)).toEqual([]);
  });
});

describe('R, T, F, N and unknown actions', () => {
  it('R empties the book; T, F and N change nothing', () => {
    const { book, snapshots } = run([
      add(1, 'B', 10, 5), add(2, 'A', 10.1, 5),
      rec({ action: 'T', side: 'A', price: PX(10), size: 2 }),
      rec({ action: 'F', side: 'B', orderId: 1n, price: PX(10), size: 2 }),
      rec({ action: 'N' }),
      rec({ action: 'R', side: 'N' }),
    ]);
    expect(levels(snapshots[4].bids)).toEqual([[10, 5, 1]]);
    expect(book.orders.size).toBe(0);
    expect(bids(book)).toEqual([]);
    expect(asks(book)).toEqual([]);
  });

  it('an action byte outside the spec is ignored and counted', () => {
    const { book } = run([add(1, 'B', 10, 5), rec({ action: 'X', side: 'B', orderId: 1n })]);
    expect(book.anomalies.unknown_action).toBe(1);
    expect(bids(book)).toEqual([[10, 5, 1]]);
  });
});

describe('snapshots and F_LAST', () => {
  it('are taken only after F_LAST, with the triggering record', () => {
    const { snapshots } = run([add(1, 'B', 10, 5, 0), add(2, 'A', 10.1, 5, 0), cancel(1, 'B', 10, 1, Flag.LAST)]);
    expect(snapshots).toHaveLength(1);
    const s = snapshots[0];
    expect([s.action, s.side, s.price, s.size]).toEqual(['C', 'B', Number(PX(10)), 1]);
    expect(levels(s.bids)).toEqual([[10, 4, 1]]);
    expect(levels(s.asks)).toEqual([[10.1, 5, 1]]);
  });

  it('a crossed or locked book is reported and kept, never repaired', () => {
    const { book, snapshots } = run([add(1, 'B', 10, 1), add(2, 'A', 10, 1), add(3, 'A', 9.9, 2)]);
    expect(snapshots[1].locked).toBe(true);
    expect(snapshots[2].crossed).toBe(true);
    expect(book.anomalies.locked).toBe(1);
    expect(book.anomalies.crossed).toBe(1);
    expect(book.orders.size).toBe(3);
  });

  it('rows of one book that share ts_recv and sequence are numbered 0, 1, ...; a new key starts at 0', () => {
    const at = (ts: bigint, sequence: number) => ({ tsRecv: ts, tsEvent: ts, sequence });
    const { snapshots } = run([
      rec({ action: 'A', orderId: 1n, side: 'B', price: PX(10), size: 1, ...at(5000n, 7) }),
      rec({ action: 'A', orderId: 2n, side: 'B', price: PX(10), size: 1, ...at(5000n, 7) }),
      rec({ action: 'A', orderId: 3n, side: 'B', price: PX(10), size: 1, ...at(5000n, 7) }),
      rec({ action: 'A', orderId: 4n, side: 'B', price: PX(10), size: 1, ...at(5000n, 8) }),
      rec({ action: 'A', orderId: 5n, side: 'B', price: PX(10), size: 1, ...at(6000n, 8) }),
    ]);
    expect(snapshots.map((s) => s.subSequence)).toEqual([0, 1, 2, 0, 0]);
  });

  it('a sequence that recurs at one ts_recv after another continues its numbering: keys stay unique', () => {
    const at = (ts: bigint, sequence: number) => ({ tsRecv: ts, tsEvent: ts, sequence });
    const { snapshots } = run([7, 8, 7, 9, 8, 7].map((sequence, k) =>
      rec({ action: 'A', orderId: BigInt(k + 1), side: 'B', price: PX(10), size: 1, ...at(5000n, sequence) })));
    expect(snapshots.map((s) => [s.sequence, s.subSequence])).toEqual([[7, 0], [8, 0], [7, 1], [9, 0], [8, 1], [7, 2]]);
    const keys = new Set(snapshots.map((s) => `${s.tsRecv}/${s.sequence}/${s.subSequence}`));
    expect(keys.size).toBe(6);
  });

  it('for any run of ts_recv and sequences (ts_recv never going back), each (ts_recv, sequence) is numbered 0, 1, 2, ... in file order', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ step: fc.constantFrom(0, 0, 0, 1, 2 ** 32), sequence: fc.integer({ min: 0, max: 4 }) }), { maxLength: 200 }),
      (records) => {
        const ordinal = new KeyOrdinal();
        const counts = new Map<string, number>();
        let ts = 2 ** 32 - 2;
        for (const r of records) {
          ts += r.step;
          const key = `${ts}/${r.sequence}`;
          const expected = counts.get(key) ?? 0;
          counts.set(key, expected + 1);
          expect(ordinal.next(Math.floor(ts / 2 ** 32), ts % 2 ** 32, r.sequence)).toBe(expected);
        }
      },
    ), propertyRuns(500, 17));
  });

  it('a record with an earlier ts_recv than the book\'s last is applied in file order and counted (ts_recv_backwards)', () => {
    const at = (ts: bigint) => ({ tsRecv: ts, tsEvent: ts });
    const { book, snapshots } = run([
      rec({ action: 'A', orderId: 1n, side: 'B', price: PX(10), size: 1, ...at(6000n) }),
      rec({ action: 'A', orderId: 2n, side: 'B', price: PX(10), size: 2, ...at(5000n) }),
      rec({ action: 'A', orderId: 3n, side: 'B', price: PX(10), size: 4, ...at(5000n) }),
      rec({ action: 'A', orderId: 4n, side: 'B', price: PX(10), size: 8, ...at(2n ** 32n + 1n) }),
    ]);
    expect(book.anomalies.ts_recv_backwards).toBe(1);
    expect(levels(snapshots[3].bids)).toEqual([[10, 15, 4]]);
  });

  it('depth limits the levels per side', () => {
    const recs = [1, 2, 3, 4, 5].map((i) => add(i, 'B', 10 - i / 100, i));
    const { snapshots } = run(recs, { depth: 3, intervalNs: 0 });
    expect(levels(snapshots[4].bids)).toEqual([[9.99, 1, 1], [9.98, 2, 1], [9.97, 3, 1]]);
  });

  it('interval sampling emits at most one per interval, only when the top levels changed', () => {
    // Records are 1 µs apart: a 3 µs interval takes the first F_LAST of each bucket.
    const recs = [add(1, 'B', 10, 1), add(2, 'B', 9, 1), add(3, 'B', 8, 1), add(4, 'B', 7, 1), add(5, 'B', 6, 1), add(6, 'B', 5, 1), add(7, 'B', 4, 1)];
    const all = run(recs).snapshots;
    const sampled = run(recs, { depth: 1, intervalNs: 3000 }).snapshots;
    expect(all).toHaveLength(7);
    // With depth 1 the best bid never changes after the first add: one snapshot.
    expect(sampled).toHaveLength(1);
    const deeper = run(recs, { depth: 10, intervalNs: 3000 }).snapshots;
    expect(deeper.length).toBeGreaterThan(1);
    expect(deeper.length).toBeLessThan(7);
    for (let i = 1; i < deeper.length; i++) {
      expect(deeper[i].tsRecv / 3000n).not.toBe(deeper[i - 1].tsRecv / 3000n);
    }
  });
});

describe('order ids are exact u64', () => {
  it('ids above 2^53 that differ only in low bits stay distinct', () => {
    const big = 1n << 60n;
    const { book } = run([add(big + 1n, 'B', 10, 1), add(big + 2n, 'B', 10, 2), cancel(big + 1n, 'B', 10, 1)]);
    expect(bids(book)).toEqual([[10, 2, 1]]);
    expect(book.order(big + 2n)?.size).toBe(2);
    expect(book.order(big + 1n)).toBeUndefined();
    expect(book.anomalies.cancel_unknown).toBe(0);
  });

  it('books are per (instrument, publisher)', () => {
    const { market } = run([add(1, 'B', 10, 1), { ...add(1, 'B', 11, 2), publisherId: 2 }, { ...add(1, 'A', 12, 3), instrumentId: 7 }]);
    expect(market.books.size).toBe(3);
    expect(market.anomalies().duplicate_add).toBe(0);
  });

  it('records reach their own book among thousands interleaved (more books than the recent-books table holds)', () => {
    // Round-robin over more books than the table has slots, so that slots are
    // shared by books of one instrument on other publishers (10 instruments,
    // ids up to 2^32 - 1, on 300 publishers each) and of other instruments
    // on one publisher (300 instruments on publisher 7).
    const keys = [
      ...Array.from({ length: 3000 }, (_, k) => ({ instrumentId: Math.floor(k / 300) * 477_218_588 + 1, publisherId: 1 + (k % 300) })),
      ...Array.from({ length: 300 }, (_, k) => ({ instrumentId: 10_000 + k, publisherId: 7 })),
    ];
    keys.push({ instrumentId: 0xffffffff, publisherId: 65535 });
    const records = [];
    for (let round = 0; round < 3; round++) {
      for (const [k, key] of keys.entries()) records.push({ ...add(round * 10_000 + k, 'B', 10 + round, k + 1), ...key });
    }
    const { market } = run(records);
    expect([...market.books.values()].filter((b) => b.records > 0)).toHaveLength(keys.length); // run() also opens INSTRUMENT's book
    for (const [k, key] of keys.entries()) {
      const book = market.book(key.instrumentId, key.publisherId);
      expect([book.instrumentId, book.publisherId, book.records, book.orders.size]).toEqual([key.instrumentId, key.publisherId, 3, 3]);
      expect(bids(book)).toEqual([[12, k + 1, 1], [11, k + 1, 1], [10, k + 1, 1]]);
    }
    expect(market.anomalies().duplicate_add).toBe(0);
  });
});
