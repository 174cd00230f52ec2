import { BID, PriceLevel, type SideIndex } from './level.js';

/**
 * The price levels of one side, sorted so that the best level is LAST: most
 * activity is near the top, so inserts and removals there shift few entries,
 * and reading the top N walks N entries from the end.
 * Bids ascend (best = highest, last); asks descend (best = lowest, last).
 */
export class BookSide {
  readonly levels: PriceLevel[] = [];
  constructor(readonly side: SideIndex) {}

  /** True when `a` sorts before `b` on this side (is further from the top). */
  private before(a: number, b: number): boolean {
    return this.side === BID ? a < b : a > b;
  }

  /** Index of the level at `price`, or -(insertion point) - 1. */
  private search(price: number): number {
    const levels = this.levels;
    // Fast path: the top of the book.
    const n = levels.length;
    if (n > 0 && levels[n - 1].price === price) return n - 1;
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = levels[mid].price;
      if (p === price) return mid;
      if (this.before(p, price)) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  find(price: number): PriceLevel | undefined {
    const i = this.search(price);
    return i >= 0 ? this.levels[i] : undefined;
  }

  getOrCreate(price: number): PriceLevel {
    const i = this.search(price);
    if (i >= 0) return this.levels[i];
    const level = new PriceLevel(price);
    const at = -i - 1;
    if (at === this.levels.length) this.levels.push(level);
    else this.levels.splice(at, 0, level);
    return level;
  }

  removeLevel(level: PriceLevel): void {
    const i = this.search(level.price);
    if (i >= 0 && this.levels[i] === level) this.levels.splice(i, 1);
  }

  /** The whole side becomes one top-of-book level (F_TOB), or empty. */
  replaceWithTob(price: number | null, size: number): void {
    this.levels.length = 0;
    if (price !== null) {
      const level = new PriceLevel(price, true);
      level.size = size;
      this.levels.push(level);
    }
  }

  clear(): void {
    this.levels.length = 0;
  }

  best(): PriceLevel | undefined {
    return this.levels[this.levels.length - 1];
  }

  /** The i-th best level (0 = best). */
  nth(i: number): PriceLevel | undefined {
    return this.levels[this.levels.length - 1 - i];
  }

  get depth(): number {
    return this.levels.length;
  }
}

