import type { DuckDBDataChunk, DuckDBValue, DuckDBVector } from '@duckdb/node-api';
import type { StoredSnapshot } from '../port.js';

/** Row i of a result chunk, as a snapshot. */
export type ChunkRows = (chunk: DuckDBDataChunk) => (i: number) => StoredSnapshot;

/** The rows of one block: for each instant, how to build the book there. */
type Block = Map<bigint, () => StoredSnapshot>;

/**
 * bookAt's rows, read a block of instants at a time and kept as DuckDB
 * result chunks. DuckDB decompresses at least a vector (2,048 values) of
 * every column a query reads, so one stored row costs 4–5 ms, and the ~1,000
 * rows around it little more (5–13 ms, measured). A lookup in a cached block
 * builds its one row from the chunks' vectors in microseconds, so looking
 * around an instant (scrubbing a chart, stepping through time) reads the
 * database once per block. Blocks are keyed by their first and last
 * instants; the least recently used go past `capacity` (a block at depth 10
 * holds ~0.6 MB), and writes drop them all, as a write can add a later row
 * at a cached instant.
 */
export class BookBlocks {
  private readonly blocks = new Map<string, Promise<Block>>();

  constructor(
    /** Reads SELECT_SNAPSHOT rows of `symbol` with ts_recv in [first, last]. */
    private readonly read: (symbol: string, first: bigint, last: bigint) => Promise<DuckDBDataChunk[]>,
    private readonly rows: ChunkRows,
    private readonly capacity: number,
  ) {}

  /** The book of `symbol` at instant `ts`, which lies in the block [first, last]; null if no row is there. */
  async book(symbol: string, first: bigint, last: bigint, ts: bigint): Promise<StoredSnapshot | null> {
    const key = `${symbol}\u0000${first}\u0000${last}`;
    let block = this.blocks.get(key);
    if (block !== undefined) {
      this.blocks.delete(key); // most recently used last
    } else {
      block = this.load(symbol, first, last);
      const loading = block;
      loading.catch(() => {
        if (this.blocks.get(key) === loading) this.blocks.delete(key);
      });
      if (this.blocks.size >= this.capacity) this.blocks.delete(this.blocks.keys().next().value!);
    }
    this.blocks.set(key, block);
    return (await block).get(ts)?.() ?? null;
  }

  /** Drops every block: rows were written. */
  clear(): void {
    this.blocks.clear();
  }

  /**
   * Indexes a block's rows by instant. Where several rows share an instant
   * (books of one symbol on several publishers or instruments), the book is
   * the last in (sequence, sub_sequence, instrument_id, publisher_id) order.
   */
  private async load(symbol: string, first: bigint, last: bigint): Promise<Block> {
    const block: Block = new Map();
    const best = new Map<bigint, number[]>();
    for (const chunk of await this.read(symbol, first, last)) {
      const row = this.rows(chunk);
      const col = (k: number) => chunk.getColumnVector(k) as DuckDBVector<DuckDBValue>;
      // SELECT_SNAPSHOT's first columns: ts_recv, ts_event, instrument_id, publisher_id, sequence, sub_sequence.
      const [tsRecv, , inst, pub, seq, sub] = [0, 1, 2, 3, 4, 5].map(col);
      for (let i = 0; i < chunk.rowCount; i++) {
        const ts = tsRecv.getItem(i) as bigint;
        const key = [seq.getItem(i), sub.getItem(i), inst.getItem(i), pub.getItem(i)] as number[];
        const held = best.get(ts);
        if (held !== undefined && !later(key, held)) continue;
        best.set(ts, key);
        block.set(ts, () => row(i));
      }
    }
    return block;
  }
}

const later = (a: number[], b: number[]): boolean => {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] > b[k];
  return false;
};
