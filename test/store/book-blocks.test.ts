import { describe, expect, it } from 'vitest';
import { BookBlocks, INDEX_BYTES_PER_ROW, type BlockRows } from '../../src/store/duckdb/book-blocks.js';
import type { StoredSnapshot } from '../../src/store/port.js';

/**
 * BookBlocks over a symbol with one row per instant 0..99, in blocks of ten
 * instants ([0, 9], [10, 19], ...), each block's rows counting 100 bytes,
 * and a block BLOCK bytes with its index.
 */
const BLOCK = 100 + 10 * INDEX_BYTES_PER_ROW;
function rowsOf(first: bigint, last: bigint): BlockRows[] {
  const ts: bigint[] = [];
  for (let t = first; t <= last && t < 100n; t++) ts.push(t);
  const ones = ts.map(() => 1);
  return [{
    length: ts.length, bytes: 100, tsRecv: ts, instrumentId: ones, publisherId: ones, sequence: ts.map(Number), subSequence: ones,
    row: (i) => ({ tsRecv: ts[i] }) as StoredSnapshot,
  }];
}

/** A cache of `capacity` bytes; `reads` lists the blocks read from the database. */
function cache(capacity: number, failFirstRead = false) {
  const reads: string[] = [];
  let fail = failFirstRead;
  const blocks = new BookBlocks(
    async (_symbol, first, last) => {
      reads.push(`${first}-${last}`);
      if (fail) {
        fail = false;
        throw new Error('read failed');
      }
      return rowsOf(first, last);
    },
    capacity,
  );
  /** The book at instant `ts`, as bookAt asks for it: with its block's bounds. */
  const at = async (ts: number) => {
    const first = Math.floor(ts / 10) * 10;
    return (await blocks.book('S', BigInt(first), BigInt(first + 9), BigInt(ts)))?.tsRecv ?? null;
  };
  return { blocks, reads, at };
}

describe('BookBlocks', () => {
  it('answers each instant with its own row, and null for an instant with none', async () => {
    const { at, reads } = cache(10 * BLOCK);
    expect(await at(3)).toBe(3n);
    expect(await at(9)).toBe(9n);
    expect(await at(42)).toBe(42n);
    expect(await at(150)).toBeNull();
    expect(reads).toEqual(['0-9', '40-49', '150-159']);
  });

  it('keeps blocks up to its capacity in bytes, the least recently used going first', async () => {
    const { blocks, reads, at } = cache(2.5 * BLOCK); // two blocks
    await at(5);
    await at(15);
    await at(6); // held: 0-9 is now the most recently used
    await at(25); // evicts 10-19
    await at(7);
    await at(16);
    expect(reads).toEqual(['0-9', '10-19', '20-29', '10-19']);
    expect(blocks.stats()).toEqual({ bytes: 2 * BLOCK, hits: 2, misses: 4 });
  });

  it('keeps a block larger than its capacity alone, until the next one loads', async () => {
    const { blocks, reads, at } = cache(0);
    await at(5);
    await at(6);
    await at(15);
    await at(5);
    expect(reads).toEqual(['0-9', '10-19', '0-9']);
    expect(blocks.stats().bytes).toBe(BLOCK);
  });

  it('reads a block once for concurrent lookups in it', async () => {
    const { blocks, reads, at } = cache(10 * BLOCK);
    expect(await Promise.all([at(1), at(2), at(3)])).toEqual([1n, 2n, 3n]);
    expect(reads).toEqual(['0-9']);
    expect(blocks.stats()).toEqual({ bytes: BLOCK, hits: 2, misses: 1 });
  });

  it('clear() drops every block, and one loading meanwhile is neither kept nor counted', async () => {
    const { blocks, reads, at } = cache(10 * BLOCK);
    await at(15);
    const loading = at(5);
    blocks.clear();
    expect(await loading).toBe(5n);
    expect(blocks.stats().bytes).toBe(0);
    await at(6);
    await at(16);
    expect(reads).toEqual(['10-19', '0-9', '0-9', '10-19']);
    expect(blocks.stats().bytes).toBe(2 * BLOCK);
  });

  it('does not keep a block whose read failed: the next lookup reads it again', async () => {
    const { blocks, reads, at } = cache(10 * BLOCK, true);
    await expect(at(5)).rejects.toThrow('read failed');
    expect(await at(5)).toBe(5n);
    expect(reads).toEqual(['0-9', '0-9']);
    expect(blocks.stats().bytes).toBe(BLOCK);
  });
});

describe('BookBlocks: several rows at one instant', () => {
  it('answers with the last in (sequence, sub_sequence, instrument, publisher) order, wherever it lies in the block', async () => {
    // Rows at instant 5: (sequence, sub_sequence, instrument, publisher), split over two parts, out of order.
    const keys = [[3, 0, 1, 1], [7, 0, 1, 1], [7, 2, 1, 1], [7, 1, 9, 9], [7, 2, 1, 0]];
    const part = (from: number, to: number): BlockRows => {
      const k = keys.slice(from, to);
      return {
        length: k.length, bytes: 100, tsRecv: k.map(() => 5n), sequence: k.map((x) => x[0]), subSequence: k.map((x) => x[1]),
        instrumentId: k.map((x) => x[2]), publisherId: k.map((x) => x[3]), row: (i) => ({ sequence: from + i }) as StoredSnapshot,
      };
    };
    const blocks = new BookBlocks(async () => [part(0, 2), part(2, 5)], 1000);
    expect((await blocks.book('S', 0n, 9n, 5n))?.sequence).toBe(2); // keys[2]: (7, 2, 1, 1)
    expect(await blocks.book('S', 0n, 9n, 4n)).toBeNull();
  });
});
