/**
 * The distinct ts_recv instants of each symbol's snapshots, sorted, in
 * memory (8 bytes per instant): "the book at T" becomes a binary search for
 * the instant, then one point read of the row there. In SQL, finding the
 * instant was a max(ts_recv) over every earlier row of the symbol, and each
 * DuckDB query has a fixed cost before it reads anything.
 *
 * Loaded per symbol on first use; writes merge their instants into the
 * symbols already loaded, so the index stays exact while ingestion runs.
 */
export class InstantIndex {
  private readonly bySymbol = new Map<string, Promise<BigInt64Array>>();

  /** `load` reads one symbol's distinct instants, ascending. */
  constructor(private readonly load: (symbol: string) => Promise<BigInt64Array>) {}

  /** The latest instant of `symbol` at or before `at` (default: its last), or null. */
  async floor(symbol: string, at?: bigint): Promise<bigint | null> {
    return (await this.block(symbol, at, 1))?.ts ?? null;
  }

  /**
   * floor(symbol, at) with the first and last instants of its block: the
   * instants at positions k*size up to k*size+size-1 that hold it.
   */
  async block(symbol: string, at: bigint | undefined, size: number): Promise<{ ts: bigint; first: bigint; last: bigint } | null> {
    let instants = this.bySymbol.get(symbol);
    if (instants === undefined) {
      instants = this.load(symbol);
      this.bySymbol.set(symbol, instants);
      instants.catch(() => this.bySymbol.delete(symbol));
    }
    const ts = await instants;
    let lo = ts.length; // first index with ts > at
    if (at !== undefined) {
      lo = 0;
      let hi = ts.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ts[mid] <= at) lo = mid + 1;
        else hi = mid;
      }
    }
    if (lo === 0) return null;
    const start = Math.floor((lo - 1) / size) * size;
    return { ts: ts[lo - 1], first: ts[start], last: ts[Math.min(ts.length, start + size) - 1] };
  }

  /** Whether `symbol`'s instants are loaded (or loading): only those need writes' instants. */
  has(symbol: string): boolean {
    return this.bySymbol.has(symbol);
  }

  /** Adds written instants (any order, repeats allowed) to the symbols already loaded. */
  added(instants: Map<string, bigint[]>): void {
    for (const [symbol, fresh] of instants) {
      const loaded = this.bySymbol.get(symbol);
      if (loaded === undefined) continue;
      this.bySymbol.set(symbol, loaded.then((old) => mergeSorted(old, fresh)));
    }
  }
}

/** The union of sorted distinct `old` and unsorted `fresh`, sorted and distinct. */
function mergeSorted(old: BigInt64Array, fresh: bigint[]): BigInt64Array {
  const add = BigInt64Array.from(fresh).sort();
  const out = new BigInt64Array(old.length + add.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < old.length || j < add.length) {
    const x = j >= add.length || (i < old.length && old[i] <= add[j]) ? old[i++] : add[j++];
    if (n === 0 || out[n - 1] !== x) out[n++] = x;
  }
  return out.slice(0, n);
}
