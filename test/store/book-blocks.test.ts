import { DuckDBInstance, type DuckDBConnection, type DuckDBDataChunk, type DuckDBInstance as Instance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BookBlocks } from '../../src/store/duckdb/book-blocks.js';
import type { StoredSnapshot } from '../../src/store/port.js';

/**
 * BookBlocks over real DuckDB result chunks: a table with the key columns
 * that start SELECT_SNAPSHOT (all BookBlocks reads itself), one row per
 * instant 0..99, in blocks of ten instants ([0, 9], [10, 19], ...).
 */
let instance: Instance;
let conn: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  await conn.run(`CREATE TABLE r AS SELECT i::BIGINT AS ts_recv, i::BIGINT AS ts_event, 1::UINTEGER AS instrument_id,
    1::USMALLINT AS publisher_id, i::UINTEGER AS sequence, 0::USMALLINT AS sub_sequence FROM range(100) t(i)`);
});

afterAll(() => {
  conn.closeSync();
  instance.closeSync();
});

async function chunksOf(first: bigint, last: bigint): Promise<DuckDBDataChunk[]> {
  const result = await conn.run(`SELECT * FROM r WHERE ts_recv BETWEEN ${first} AND ${last}`);
  const out: DuckDBDataChunk[] = [];
  for (let c = await result.fetchChunk(); c !== null && c.rowCount > 0; c = await result.fetchChunk()) out.push(c);
  return out;
}

/** A cache of `capacity` bytes where every block counts 100 bytes; `reads` lists the blocks read from the database. */
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
      return chunksOf(first, last);
    },
    (chunk) => (i) => ({ tsRecv: chunk.getColumnVector(0).getItem(i) }) as unknown as StoredSnapshot,
    () => 100,
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
    const { at, reads } = cache(1000);
    expect(await at(3)).toBe(3n);
    expect(await at(9)).toBe(9n);
    expect(await at(42)).toBe(42n);
    expect(await at(150)).toBeNull();
    expect(reads).toEqual(['0-9', '40-49', '150-159']);
  });

  it('keeps blocks up to its capacity in bytes, the least recently used going first', async () => {
    const { blocks, reads, at } = cache(250); // two blocks of 100 bytes
    await at(5);
    await at(15);
    await at(6); // held: 0-9 is now the most recently used
    await at(25); // evicts 10-19
    await at(7);
    await at(16);
    expect(reads).toEqual(['0-9', '10-19', '20-29', '10-19']);
    expect(blocks.stats()).toEqual({ bytes: 200, hits: 2, misses: 4 });
  });

  it('keeps a block larger than its capacity alone, until the next one loads', async () => {
    const { blocks, reads, at } = cache(0);
    await at(5);
    await at(6);
    await at(15);
    await at(5);
    expect(reads).toEqual(['0-9', '10-19', '0-9']);
    expect(blocks.stats().bytes).toBe(100);
  });

  it('reads a block once for concurrent lookups in it', async () => {
    const { blocks, reads, at } = cache(1000);
    expect(await Promise.all([at(1), at(2), at(3)])).toEqual([1n, 2n, 3n]);
    expect(reads).toEqual(['0-9']);
    expect(blocks.stats()).toEqual({ bytes: 100, hits: 2, misses: 1 });
  });

  it('clear() drops every block, and one loading meanwhile is neither kept nor counted', async () => {
    const { blocks, reads, at } = cache(1000);
    await at(15);
    const loading = at(5);
    blocks.clear();
    expect(await loading).toBe(5n);
    expect(blocks.stats().bytes).toBe(0);
    await at(6);
    await at(16);
    expect(reads).toEqual(['10-19', '0-9', '0-9', '10-19']);
    expect(blocks.stats().bytes).toBe(200);
  });

  it('does not keep a block whose read failed: the next lookup reads it again', async () => {
    const { blocks, reads, at } = cache(1000, true);
    await expect(at(5)).rejects.toThrow('read failed');
    expect(await at(5)).toBe(5n);
    expect(reads).toEqual(['0-9', '0-9']);
    expect(blocks.stats().bytes).toBe(100);
  });
});
