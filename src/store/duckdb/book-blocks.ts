// src/store/duckdb/: the embedded DuckDB store, the default when no QuestDB is configured.
import type { BookCacheStats, StoredSnapshot } from '../port.js';

/** Rows read for a block (one result chunk's): their keys, each as a snapshot, and the bytes they hold. */
export interface BlockRows {
  readonly length: number;
  readonly bytes: number;
  readonly tsRecv: ArrayLike<bigint>;
  readonly instrumentId: ArrayLike<number>;
  readonly publisherId: ArrayLike<number>;
  readonly sequence: ArrayLike<number>;
  readonly subSequence: ArrayLike<number>;
  row(i: number): StoredSnapshot;
}

/**
 * What a block's index holds per row, beyond its rows' own bytes: a map
 * entry, a closure and a bigint key, measured as V8 heap growth (RSS grows
 * more than heap and array buffers together: the allocator's own).
 */
export const INDEX_BYTES_PER_ROW = 160;

/** The rows of one block: for each instant, how to build the book there. */
type Block = Map<bigint, () => StoredSnapshot>;

/**
 * bookAt's rows, read a block of instants at a time and kept as the columns
 * of DuckDB's result chunks. DuckDB scans at least a vector (2,048 values)
 * of every column a query reads, so one stored row costs about what the
 * ~1,000 rows around it cost. A lookup in a
 * cached block builds its one row from the columns in microseconds, so
 * looking around an instant (scrubbing a chart, stepping through time) reads
 * the database once per block. Blocks are keyed by their first and last
 * instants. The least recently used go once the blocks' bytes pass
 * `capacity`; a block larger than that is kept alone until the next one
 * loads. Writes drop them all, as a write can add a later row at a cached
 * instant.
 *
 * The capacity matters most under concurrency: each client stepping through
 * time holds its own block, and once the clients' blocks outnumber what fits,
 * least-recently-used eviction drops each block just before its client comes
 * back for it, so almost every lookup reads the database and latency
 * multiplies (docs/benchmarks.md).
 */
export class BookBlocks {
  private readonly blocks = new Map<string, Promise<Block>>();
  /** Estimated bytes of each loaded block still held; loading blocks count from when they load. */
  private readonly sizes = new Map<string, number>();
  private held = 0;
  private hits = 0;
  private misses = 0;

  constructor(
    /** Reads the rows of `symbol` with ts_recv in [first, last]. */
    private readonly read: (symbol: string, first: bigint, last: bigint) => Promise<BlockRows[]>,
    /** Bytes of blocks to keep. */
    private readonly capacity: number,
  ) {}

  /** Estimated bytes held; lookups so far that found their block here (loaded or loading), and those that read it. */
  stats(): BookCacheStats {
    return { bytes: this.held, hits: this.hits, misses: this.misses };
  }

  /** The book of `symbol` at instant `ts`, which lies in the block [first, last]; null if no row is there. */
  async book(symbol: string, first: bigint, last: bigint, ts: bigint): Promise<StoredSnapshot | null> {
    const key = `${symbol}\u0000${first}\u0000${last}`;
    let block = this.blocks.get(key);
    if (block !== undefined) {
      this.hits++;
      this.blocks.delete(key); // most recently used last
    } else {
      this.misses++;
      block = this.load(key, symbol, first, last);
      const loading = block;
      loading.catch(() => {
        if (this.blocks.get(key) === loading) this.drop(key);
      });
    }
    this.blocks.set(key, block);
    return (await block).get(ts)?.() ?? null;
  }

  /** Drops every block: rows were written. */
  clear(): void {
    this.blocks.clear();
    this.sizes.clear();
    this.held = 0;
  }

  private drop(key: string): void {
    this.blocks.delete(key);
    this.held -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }

  /** Counts a loaded block's bytes (unless it was dropped while loading), then evicts down to the capacity. */
  private loaded(key: string, bytes: number): void {
    if (!this.blocks.has(key)) return;
    this.sizes.set(key, bytes);
    this.held += bytes;
    for (const other of this.blocks.keys()) {
      if (this.held <= this.capacity) break;
      if (other !== key && this.sizes.has(other)) this.drop(other); // blocks still loading free nothing yet
    }
  }

  /**
   * Indexes a block's rows by instant. Where several rows share an instant
   * (books of one symbol on several publishers or instruments), the book is
   * the last in (sequence, sub_sequence, instrument_id, publisher_id) order.
   */
  private async load(key: string, symbol: string, first: bigint, last: bigint): Promise<Block> {
    const block: Block = new Map();
    const best = new Map<bigint, number[]>();
    const parts = await this.read(symbol, first, last);
    for (const rows of parts) {
      for (let i = 0; i < rows.length; i++) {
        const ts = rows.tsRecv[i];
        const key = [rows.sequence[i], rows.subSequence[i], rows.instrumentId[i], rows.publisherId[i]];
        const held = best.get(ts);
        if (held !== undefined && !later(key, held)) continue;
        best.set(ts, key);
        block.set(ts, () => rows.row(i));
      }
    }
    this.loaded(key, parts.reduce((n, rows) => n + rows.bytes + INDEX_BYTES_PER_ROW * rows.length, 0));
    return block;
  }
}

const later = (a: number[], b: number[]): boolean => {
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return a[k] > b[k];
  return false;
};
