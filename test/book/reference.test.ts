import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Flag, UNDEF_PRICE, decodeBuffer, type MboFields } from '../../src/dbn/index.js';
import { ASK, BID, Market, checkBook, levelQueues, type Book, type DepthSnapshot } from '../../src/book/index.js';
import { encode, mboRecord as record } from './records.js';
import { propertyRuns } from '../property.js';

/**
 * The reference: one array of live orders in priority order, and per side
 * at most one top-of-book level from F_TOB adds, nothing else. Levels are
 * derived by grouping; a queue is the array filtered by price. Deliberately
 * simple so that it is obviously the spec.
 */
interface RefOrder { id: bigint; side: string; price: bigint; size: number; queuedAt: bigint }
/** A queue entry: the order's id, size and the ts_recv at which it took its place. */
type RefLevel = [price: bigint, size: number, count: number, queue: Array<[bigint, number, bigint]>];

class ReferenceBook {
  orders: RefOrder[] = [];
  /** A side's F_TOB level: a size with no orders (count 0), until an order arrives at its price. */
  tob = new Map<string, { price: bigint; size: number }>();

  apply(r: MboFields): void {
    const i = this.orders.findIndex((o) => o.id === r.orderId);
    const valid = (r.side === 'B' || r.side === 'A') && r.price !== UNDEF_PRICE;
    const toBack = () => {
      if (this.tob.get(r.side)?.price === r.price) this.tob.delete(r.side); // stale
      this.orders.push({ id: r.orderId, side: r.side, price: r.price, size: r.size, queuedAt: r.tsRecv });
    };
    if (r.action === 'A' && (r.flags & Flag.TOB) !== 0) {
      // The side becomes this one level (none for UNDEF_PRICE); its orders are forgotten.
      if (r.side !== 'B' && r.side !== 'A') return;
      this.orders = this.orders.filter((o) => o.side !== r.side);
      if (r.price === UNDEF_PRICE) this.tob.delete(r.side);
      else this.tob.set(r.side, { price: r.price, size: r.size });
      return;
    }
    switch (r.action) {
      case 'A':
        if (!valid || r.size === 0) return;
        if (i >= 0) this.orders.splice(i, 1);
        toBack();
        return;
      case 'C':
        if (i < 0) return;
        if (r.size >= this.orders[i].size) this.orders.splice(i, 1);
        else this.orders[i].size -= r.size;
        return;
      case 'M': {
        if (i < 0) { if (valid && r.size > 0) toBack(); return; }
        if (r.size === 0) { this.orders.splice(i, 1); return; }
        if (!valid) return;
        const o = this.orders[i];
        if (o.side !== r.side || o.price !== r.price || r.size > o.size) {
          this.orders.splice(i, 1);
          toBack();
        } else o.size = r.size;
        return;
      }
      case 'R':
        this.orders = [];
        this.tob.clear();
    }
  }

  levels(side: string): RefLevel[] {
    const tob = this.tob.get(side);
    const prices = [...new Set(this.orders.filter((o) => o.side === side).map((o) => o.price))];
    if (tob !== undefined) prices.push(tob.price);
    prices.sort((a, b) => (side === 'B' ? (a > b ? -1 : 1) : a < b ? -1 : 1));
    return prices.map((p) => {
      if (p === tob?.price) return [p, tob.size, 0, []];
      const q = this.orders.filter((o) => o.side === side && o.price === p);
      return [p, q.reduce((s, o) => s + o.size, 0), q.length, q.map((o) => [o.id, o.size, o.queuedAt])];
    });
  }
}

/** The engine's levels through levelQueues: the queue listing that `book --orders` and the API print. */
function engineLevels(book: Book, side: number): RefLevel[] {
  const s = book.sides[side];
  return levelQueues(s, s.depth).map((l) => [
    BigInt(l.price), l.size, l.count, l.orders.map((o): [bigint, number, bigint] => [o.orderId, o.size, o.queuedAt]),
  ]);
}

describe('engine == reference model on random event streams', () => {
  it('every level, size, count, queue order and each order\'s queued-at ts_recv match at every F_LAST; invariants hold after every record', () => {
    fc.assert(
      // fast-check's default sizing averages ~6 records: far too short for deep
      // queues, so ask for long streams explicitly.
      fc.property(fc.array(record, { minLength: 20, maxLength: 400, size: 'max' }), (records) => {
        records[records.length - 1].flags |= Flag.LAST;
        const ref = new ReferenceBook();
        const expected: Array<{ bids: RefLevel[]; asks: RefLevel[] }> = [];
        for (const r of records) {
          ref.apply(r);
          if (r.flags & Flag.LAST) expected.push({ bids: ref.levels('B'), asks: ref.levels('A') });
        }

        const market = new Market({ depth: 10, intervalNs: 0 });
        const violations: string[] = [];
        const seen: typeof expected = [];
        market.afterRecord = (book, r) => {
          violations.push(...checkBook(book));
          if (r.flags & Flag.LAST) seen.push({ bids: engineLevels(book, BID), asks: engineLevels(book, ASK) });
        };
        const snapshots: DepthSnapshot[] = market.applyBatch(decodeBuffer(encode(records)).batch);

        expect(violations).toEqual([]);
        expect(seen).toEqual(expected);
        // Snapshots carry the top 10 of the same books.
        expect(snapshots).toHaveLength(expected.length);
        snapshots.forEach((s, k) => {
          const top = (levels: RefLevel[]) => levels.slice(0, 10).flatMap(([p, sz, ct]) => [Number(p), sz, ct]);
          expect(Array.from(s.bids)).toEqual(top(expected[k].bids));
          expect(Array.from(s.asks)).toEqual(top(expected[k].asks));
        });
      }),
      propertyRuns(500, 11),
    );
  });
});

describe('interval sampling == the rule applied to the reference snapshots', () => {
  it('the first F_LAST of each bucket, emitted only when its top levels differ from the last emitted', () => {
    const DEPTH = 3;
    const INTERVAL = 3000; // rec() spaces records 1 µs apart: about three per bucket
    fc.assert(
      fc.property(fc.array(record, { minLength: 20, maxLength: 400, size: 'max' }), (records) => {
        const ref = new ReferenceBook();
        const top = (side: string) => ref.levels(side).slice(0, DEPTH).flatMap(([p, sz, ct]) => [Number(p), sz, ct]);
        const expected: Array<{ tsRecv: bigint; bids: number[]; asks: number[] }> = [];
        let bucket = -1;
        let last: { bids: number[]; asks: number[] } | null = null;
        for (const r of records) {
          ref.apply(r);
          if ((r.flags & Flag.LAST) === 0) continue;
          const b = Math.floor(Number(r.tsRecv) / INTERVAL);
          if (b === bucket) continue;
          bucket = b;
          const row = { tsRecv: r.tsRecv, bids: top('B'), asks: top('A') };
          if (last !== null && JSON.stringify([last.bids, last.asks]) === JSON.stringify([row.bids, row.asks])) continue;
          expected.push(row);
          last = row;
        }
        const sampled = new Market({ depth: DEPTH, intervalNs: INTERVAL }).applyBatch(decodeBuffer(encode(records)).batch);
        expect(sampled.map((s) => ({ tsRecv: s.tsRecv, bids: s.bids, asks: s.asks }))).toEqual(expected);
      }),
      propertyRuns(300, 12),
    );
  });
});
