import { BooktapeError } from '../errors.js';
import type { InstrumentInfo, SnapshotStore } from '../store/port.js';

/**
 * What a read names, checked against what the store holds, for every route
 * and transport alike: an unknown symbol is an error, not an empty answer;
 * a lookup of one book never picks one of a symbol's publishers silently
 * (a range read streams every book of the symbol, interleaved in key order,
 * each frame naming its publisher); a depth deeper than stored is refused,
 * not quietly cut.
 */

export type ScopeErrorCode = 'UNKNOWN_SYMBOL' | 'UNKNOWN_PUBLISHER' | 'PUBLISHER_REQUIRED' | 'DEPTH_NOT_STORED' | 'NO_MBO_STORED';

/** Nothing stored by that name (not-found), or a request the stored data cannot answer as asked (invalid). */
export class ScopeError extends BooktapeError {
  declare readonly code: ScopeErrorCode;
  constructor(
    code: ScopeErrorCode,
    message: string,
    /** The request field at fault. */
    readonly field: string,
  ) {
    super(code, code === 'UNKNOWN_SYMBOL' || code === 'UNKNOWN_PUBLISHER' || code === 'NO_MBO_STORED' ? 'not-found' : 'invalid', message);
  }
}

export interface ScopeRequest {
  /** Raw symbols; empty = every symbol. */
  symbols: string[];
  publisherId?: number;
  /** Levels per side asked for (or the default). */
  depth: number;
  /** Whether the client asked for `depth`: a default deeper than stored is served at the stored depth instead. */
  depthGiven: boolean;
  /** How the request names its symbols: `symbol` (a path) or `symbols` (a list). */
  symbolField: 'symbol' | 'symbols';
  /**
   * The read answers with one book (a lookup): a symbol stored from several
   * publishers needs publisher_id. Range reads (replays, exports) stream
   * every book of the symbol instead.
   */
  oneBook?: boolean;
}

export interface Scope {
  /** Levels per side to serve. */
  depth: number;
  /** The books the read covers. */
  instruments: InstrumentInfo[];
}

/** How long a listing of the store's instruments answers for it; an unknown name re-reads a listing older than MISS_MAX_AGE_MS. */
const MAX_AGE_MS = 2_000;
const MISS_MAX_AGE_MS = 250;

/**
 * The store's instruments, listed at most every few seconds: the listing is
 * a scan of the snapshot table, and every read checks against it. A symbol
 * ingested a moment ago is found as soon as it is asked for (an unknown
 * name re-reads a listing older than a quarter second).
 */
export class InstrumentCatalog {
  private listing: { at: number; list: Promise<InstrumentInfo[]> } | null = null;

  constructor(private readonly store: Pick<SnapshotStore, 'listInstruments'>) {}

  private list(maxAgeMs: number): Promise<InstrumentInfo[]> {
    const now = performance.now();
    if (this.listing === null || now - this.listing.at > maxAgeMs) {
      const list = this.store.listInstruments();
      const listing = { at: now, list };
      this.listing = listing;
      // A failed listing is not kept: the next request asks the store again.
      list.catch(() => { if (this.listing === listing) this.listing = null; });
    }
    return this.listing.list;
  }

  /** Checks a read's symbols, publisher and depth against the store; throws a ScopeError saying what to ask instead. */
  async scope(req: ScopeRequest): Promise<Scope> {
    // A read of everything as it is stored names nothing to check: it needs
    // no listing, and a store failure reaches its client in the stream.
    if (req.symbols.length === 0 && req.publisherId === undefined && !req.depthGiven) return { depth: req.depth, instruments: [] };
    let list = await this.list(MAX_AGE_MS);
    if (req.symbols.some((s) => !list.some((i) => i.symbol === s))) list = await this.list(MISS_MAX_AGE_MS);
    const unknown = req.symbols.filter((s) => !list.some((i) => i.symbol === s));
    if (unknown.length > 0) {
      throw new ScopeError('UNKNOWN_SYMBOL', `no instrument named ${unknown.join(', ')}; see GET /v1/instruments`, req.symbolField);
    }
    const named = req.symbols.length === 0 ? list : list.filter((i) => i.symbol !== null && req.symbols.includes(i.symbol));
    let instruments = named;
    if (req.publisherId !== undefined) {
      instruments = named.filter((i) => i.publisherId === req.publisherId);
      const without = req.symbols.filter((s) => !instruments.some((i) => i.symbol === s));
      if (without.length > 0 || (req.symbols.length === 0 && instruments.length === 0 && named.length > 0)) {
        const what = without.length > 0 ? without.join(', ') : 'the store';
        throw new ScopeError('UNKNOWN_PUBLISHER', `${what} has no books from publisher ${req.publisherId} (publishers: ${publishersOf(named).join(', ')})`, 'publisher_id');
      }
    } else if (req.oneBook) {
      for (const symbol of req.symbols) {
        const publishers = publishersOf(named.filter((i) => i.symbol === symbol));
        if (publishers.length > 1) {
          throw new ScopeError('PUBLISHER_REQUIRED', `${symbol} has books from publishers ${publishers.join(', ')}: give publisher_id to choose one`, 'publisher_id');
        }
      }
    }
    // The depth every book in the read holds.
    const stored = instruments.length === 0 ? req.depth : Math.min(...instruments.map((i) => i.depth));
    if (req.depth > stored && req.depthGiven) {
      const what = req.symbols.length === 1 ? req.symbols[0] : 'this read';
      throw new ScopeError('DEPTH_NOT_STORED', `${what} is stored ${stored} levels deep (BOOKTAPE_DEPTH when it was ingested): ask for depth ${stored} or less`, 'depth');
    }
    return { depth: Math.min(req.depth, stored), instruments };
  }
}

/**
 * Checks that the store holds MBO records of each symbol named (a store
 * ingested with BOOKTAPE_STORE_MBO=false holds snapshots only), for reads
 * of the L3 side; throws NO_MBO_STORED naming the first that has none.
 */
export async function requireMboStored(store: Pick<SnapshotStore, 'l3'>, symbols: string[], publisherId: number | undefined, field: string): Promise<void> {
  for (const symbol of symbols) {
    if ((await store.l3.latestBook(symbol, undefined, publisherId)) === null) {
      throw new ScopeError('NO_MBO_STORED', `${symbol} has no MBO records stored: it was ingested with BOOKTAPE_STORE_MBO=false; ingest it again with it on for orders and MBO replays`, field);
    }
  }
}

function publishersOf(list: InstrumentInfo[]): number[] {
  return [...new Set(list.map((i) => i.publisherId))].sort((a, b) => a - b);
}
