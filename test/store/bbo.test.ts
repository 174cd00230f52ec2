import { describe, expect, it } from 'vitest';
import { joinBuckets } from '../../src/store/bbo.js';
import { sampleUnit } from '../../src/store/questdb/bbo.js';

const span = (x: number) => ({ first: x, last: x, min: x, max: x });

describe('BBO series parts shared by the stores', () => {
  it('joins book and trade buckets by start, in time order, each start once, the earliest `limit`', () => {
    const books = [1n, 3n, 4n].map((ts) => ({ ts, snapshots: Number(ts), bid: span(Number(ts)), ask: null }));
    const trades = [2n, 3n, 5n].map((ts) => ({ ts, trades: { count: 1, volume: Number(ts), price: null } }));
    const all = joinBuckets(books, trades, 10);
    expect(all.map((b) => [b.ts, b.snapshots, b.bid?.first ?? null, b.trades?.volume ?? null])).toEqual([
      [1n, 1, 1, null], [2n, 0, null, 2], [3n, 3, 3, 3], [4n, 4, 4, null], [5n, 0, null, 5],
    ]);
    expect(joinBuckets(books, trades, 3).map((b) => b.ts)).toEqual([1n, 2n, 3n]);
    expect(joinBuckets([], [], 3)).toEqual([]);
  });

  it("QuestDB's SAMPLE BY unit for a bucket size: the largest unit that divides it", () => {
    expect(sampleUnit(86_400_000_000_000n)).toBe('1d');
    expect(sampleUnit(7_200_000_000_000n)).toBe('2h');
    expect(sampleUnit(900_000_000_000n)).toBe('15m');
    expect(sampleUnit(90_000_000_000n)).toBe('90s');
    expect(sampleUnit(1_000_000_000n)).toBe('1s');
    expect(sampleUnit(250_000_000n)).toBe('250T');
    expect(() => sampleUnit(1_500n)).toThrow(/whole number of milliseconds/);
  });
});
