import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Flag, decodeBuffer } from '../../src/dbn/index.js';
import { Market, packLevels, type SnapshotPolicy } from '../../src/book/index.js';
import { encode, rec } from './records.js';
import { propertyRuns } from '../property.js';

/**
 * Every snapshot row equals a full read of its book at that instant
 * (packLevels), on streams the single-book reference test does not reach:
 * several books interleaved in one buffer, more price levels than the depth
 * (changes below it, levels moving up into it), buffers small enough to fill
 * and be cleared mid-stream, and sampling, which drops rows.
 */
const record = fc
  .record({
    instrument: fc.constantFrom(7, 8, 9),
    action: fc.constantFrom(...'AAAAAAACCCCMMMMF'.split(''), 'R'),
    id: fc.integer({ min: 1, max: 40 }),
    side: fc.constantFrom('B', 'A'),
    priceTicks: fc.integer({ min: 90, max: 110 }),
    size: fc.integer({ min: 0, max: 9 }),
    last: fc.integer({ min: 0, max: 3 }).map((n) => n !== 0),
    tob: fc.integer({ min: 0, max: 60 }).map((t) => t === 0),
  })
  .map((r) =>
    rec({
      instrumentId: r.instrument,
      action: r.action,
      // Ids per instrument, so that cancels and modifies find their orders.
      orderId: BigInt(r.instrument * 1000 + r.id),
      side: r.side,
      // Mostly near 100, sometimes anywhere in 90..110: deep levels exist and change.
      price: BigInt(r.priceTicks) * 10_000_000n,
      size: r.size,
      flags: (r.last ? Flag.LAST : 0) | (r.tob && r.action === 'A' ? Flag.TOB : 0),
    }),
  );

const policies: Array<[string, SnapshotPolicy, number]> = [
  ['every F_LAST, depth 3, 5-row buffer', { depth: 3, intervalNs: 0 }, 5],
  ['every F_LAST, depth 1, 64-row buffer', { depth: 1, intervalNs: 0 }, 64],
  ['every F_LAST, depth 10, 4096-row buffer', { depth: 10, intervalNs: 0 }, 4096],
  ['sampled every 3 µs, depth 3, 7-row buffer', { depth: 3, intervalNs: 3000 }, 7],
];

describe('snapshots equal a full read of the book', () => {
  for (const [name, policy, capacity] of policies) {
    it(name, () => {
      fc.assert(
        fc.property(fc.array(record, { minLength: 50, maxLength: 600, size: 'max' }), (records) => {
          const market = new Market(policy, capacity);
          // The book's top levels at each F_LAST, by its ts_recv (unique per record).
          const truth = new Map<bigint, { bids: number[]; asks: number[] }>();
          market.afterRecord = (book, r) => {
            if (r.flags & Flag.LAST) truth.set(r.tsRecv, { bids: packLevels(book.bids, policy.depth), asks: packLevels(book.asks, policy.depth) });
          };
          const snapshots = market.applyBatch(decodeBuffer(encode(records)).batch);
          if (policy.intervalNs === 0) expect(snapshots).toHaveLength(truth.size);
          for (const s of snapshots) expect({ bids: s.bids, asks: s.asks }).toEqual(truth.get(s.tsRecv));
        }),
        propertyRuns(150, 21),
      );
    });
  }
});
